"""Load ProviderSpec YAML keeping file, line and column for every node.

Mappings load as :class:`Node` (a dict) and sequences as :class:`NodeList` (a
list); each remembers where it and each of its entries came from.  Duplicate
keys, non-string keys and YAML tags beyond the safe set are errors with a location.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import ConstructorError, SafeConstructor

from specgen.spec.errors import Location, SpecError

__all__ = ["Node", "NodeList", "load_yaml", "location_of"]

# libyaml's composer when PyYAML has it (about 15× faster, the same nodes and marks); an invalid
# file is parsed again by PyYAML's own, whose messages say more ("undefined alias 'x'")
_YAML_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _compose(text: str) -> list[yaml.Node]:
    try:
        return list(yaml.compose_all(text, Loader=_YAML_LOADER))
    except yaml.YAMLError:
        if _YAML_LOADER is yaml.SafeLoader:
            raise
    return list(yaml.compose_all(text, Loader=yaml.SafeLoader))


class Node(dict[str, Any]):
    """A mapping that knows where it and each of its keys/values came from."""

    loc: Location
    key_locs: dict[str, Location]
    value_locs: dict[str, Location]

    def __init__(self, loc: Location) -> None:
        super().__init__()
        self.loc = loc
        self.key_locs = {}
        self.value_locs = {}

    def where(self, key: str) -> Location:
        return self.key_locs.get(key, self.loc)

    def where_value(self, key: str) -> Location:
        return self.value_locs.get(key) or self.key_locs.get(key, self.loc)


class NodeList(list[Any]):
    loc: Location
    item_locs: list[Location]

    def __init__(self, loc: Location) -> None:
        super().__init__()
        self.loc = loc
        self.item_locs = []

    def where(self, index: int) -> Location:
        return self.item_locs[index] if 0 <= index < len(self.item_locs) else self.loc


def _loc(display: str, node: yaml.Node) -> Location:
    mark = node.start_mark
    return Location(display, mark.line + 1, mark.column + 1)


class _Converter:
    def __init__(self, display: str) -> None:
        self.display = display
        self.constructor = SafeConstructor()
        self.memo: dict[int, Any] = {}  # aliases share one converted object (no billion laughs)

    def convert(self, node: yaml.Node) -> Any:
        key = id(node)
        if key in self.memo:
            return self.memo[key]
        if isinstance(node, yaml.MappingNode):
            result: Any = Node(_loc(self.display, node))
            self.memo[key] = result
            for knode, vnode in node.value:
                if knode.tag == "tag:yaml.org,2002:merge":
                    raise SpecError(_loc(self.display, knode), "YAML merge keys ('<<') are not supported; use extends")
                k = self.convert(knode)
                if not isinstance(k, str):
                    raise SpecError(_loc(self.display, knode), f"mapping keys must be strings, got {k!r}")
                if k in result:
                    first = result.key_locs[k]
                    raise SpecError(_loc(self.display, knode), f"duplicate key {k!r} (first at line {first.line})")
                result.key_locs[k] = _loc(self.display, knode)
                result.value_locs[k] = _loc(self.display, vnode)
                result[k] = self.convert(vnode)
            return result
        if isinstance(node, yaml.SequenceNode):
            seq = NodeList(_loc(self.display, node))
            self.memo[key] = seq
            for item in node.value:
                seq.item_locs.append(_loc(self.display, item))
                seq.append(self.convert(item))
            return seq
        try:
            value = self.constructor.construct_object(node, deep=True)
        except ConstructorError as exc:
            raise SpecError(_loc(self.display, node), f"unsupported YAML value: {exc.problem}") from None
        self.memo[key] = value
        return value


def load_yaml(path: Path, display: str) -> Any:
    """Parse one YAML file; ``display`` is the name errors use (``specs/x.yaml``)."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError(Location(display, 1, 1), f"not UTF-8: {exc}") from None
    except OSError as exc:
        raise SpecError(Location(display, 1, 1), f"cannot read: {exc.strerror}") from None
    try:
        nodes = _compose(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        loc = Location(display, mark.line + 1, mark.column + 1) if mark else Location(display, 1, 1)
        raise SpecError(loc, f"invalid YAML: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise SpecError(Location(display, 1, 1), f"invalid YAML: {exc}") from None
    if len(nodes) != 1 or nodes[0] is None:
        raise SpecError(Location(display, 1, 1), "a spec file holds exactly one YAML document")
    return _Converter(display).convert(nodes[0])


def location_of(root: Any, path: list[Any] | tuple[Any, ...]) -> Location:
    """The most precise location known for a JSON path into a loaded tree."""
    node = root
    loc: Location = getattr(root, "loc", Location("?", 1, 1))
    for i, step in enumerate(path):
        if isinstance(node, Node) and isinstance(step, str) and step in node:
            # a problem with a leaf points at its value, one inside a mapping at its key
            leaf = i == len(path) - 1
            loc, node = (node.where_value(step) if leaf else node.where(step)), node[step]
            continue
        if isinstance(node, NodeList) and isinstance(step, int) and 0 <= step < len(node):
            loc, node = node.where(step), node[step]
            continue
        break
    return loc
