"""The fast schema check of a child spec never says "valid" where the full JSON Schema validation
finds an error: random changes anywhere in real merged specs, each checked both ways."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from specgen.spec.fastvalid import fast_valid
from specgen.spec.loader import Node
from specgen.spec.resolve import _schema_errors, _validator, load_specs

ROOT = Path(__file__).resolve().parent.parent
SPECS = {s.name: s for s in load_specs(ROOT / "specs", only=["openai", "groq", "mistral", "deepseek", "openrouter"])}
PARENT = SPECS["openai"].data
CHILDREN = [SPECS[n].data for n in ("groq", "mistral", "deepseek", "openrouter")]
VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.floats(allow_nan=False, allow_infinity=False) | st.sampled_from(["", "x", "openai", "POST", "bearer", "/v1"]),
    lambda inner: st.lists(inner, max_size=2) | st.dictionaries(st.sampled_from(["to", "range", "type", "zzz", "unsupported", "status"]), inner, max_size=2),
    max_leaves=4,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


def _replaced(node: Any, path: tuple[Any, ...], value: Any, new_key: str | None) -> Any:
    """A copy of ``node`` along ``path`` only (the rest stays shared, as a merge leaves it) with the
    value at ``path`` replaced, or, with ``new_key``, a key added to the mapping there."""
    if not path:
        if new_key is not None and isinstance(node, dict):
            out = copy.copy(node)
            out[new_key] = value
            return out
        return value
    head, rest = path[0], path[1:]
    out = copy.copy(node)
    out[head] = _replaced(node[head], rest, value, new_key)
    return out


@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(data=st.data(), value=VALUES, add=st.booleans())
def test_fast_valid_never_passes_what_the_schema_refuses(data: st.DataObject, value: Any, add: bool) -> None:
    child = data.draw(st.sampled_from(CHILDREN))
    path = data.draw(st.sampled_from(_paths(child)))
    key = data.draw(st.sampled_from(["zzz", "to", "range", "unsupported", "type"])) if add else None
    changed = _replaced(child, path, value, key)
    if fast_valid(_validator(), changed, PARENT):
        assert _schema_errors(changed) == [], (path, value, key)


def test_the_unchanged_children_are_valid_both_ways() -> None:
    assert _schema_errors(PARENT) == []
    for child in CHILDREN:
        assert isinstance(child, Node) and fast_valid(_validator(), child, PARENT) and _schema_errors(child) == []
