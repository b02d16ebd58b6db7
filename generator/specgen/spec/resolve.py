"""Find spec files, resolve ``extends``, validate against the schema, run the semantic checks."""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from specgen.resources import schema_path
from specgen.spec.errors import Location, SpecError, SpecErrors
from specgen.spec.fastvalid import fast_valid
from specgen.spec.files import display_name, find_base, source_display, spec_files
from specgen.spec.loader import Node, NodeList, load_yaml, location_of
from specgen_runtime import wires
from specgen_runtime.errors import ERROR_CLASSES

__all__ = ["ResolvedSpec", "load_specs", "spec_files"]

SUPPORTED_PROTOCOLS = {"sse", "ndjson", "json_array", "aws_eventstream"}
TEMPLATE_VAR = re.compile(r"\{([^{}]*)\}")
IDENT = re.compile(r"^[a-z][a-z0-9_]*$")
#: top-level keys a spec never inherits through ``extends``: the provider's identity (its names,
#: display name, docs, model prefix) and the environment variables its key and base URL come
#: from — a child of openai that names none must not read OPENAI_API_KEY or OPENAI_BASE_URL and
#: send another provider's key to wherever that points. ``models.known`` is not inherited either.
OWN_KEYS = frozenset({"aliases", "display_name", "docs", "env", "model_naming"})


@dataclass
class ResolvedSpec:
    name: str
    file: Path  # the provider's own spec file
    display: str  # how errors and generated headers name it: "specs/x.yaml"
    data: Node  # merged and validated
    sources: list[Path]  # this file and every file it extends, child first

    @property
    def aliases(self) -> list[str]:
        """Other slugs of this provider (its own ``aliases:``, never inherited)."""
        return [str(a) for a in self.data.get("aliases") or ()]


def did_you_mean(name: str, known: list[str] | tuple[str, ...]) -> str:
    """`` (did you mean 'x'?)`` for the closest known name, or ``""``."""
    import difflib

    close = difflib.get_close_matches(str(name), [str(k) for k in known], n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


@lru_cache(maxsize=1)
def _validator() -> Any:
    import jsonschema

    schema = json.loads(schema_path().read_text(encoding="utf-8"))
    # jsonschema applies `pattern` with re.search, where a final `$` also matches before a
    # trailing newline ("X-Key\n" would pass `^[...]+$`).  JSON Schema means ECMA-262 `$`:
    # the end of the input.  Check patterns with `\Z` in place of an unescaped final `$`.
    base = jsonschema.Draft202012Validator
    validate_pattern = base.VALIDATORS["pattern"]

    def pattern(validator: Any, patrn: str, instance: Any, schema: Any) -> Any:
        if patrn.endswith("$") and not patrn.endswith("\\$"):
            patrn = patrn[:-1] + "\\Z"
        return validate_pattern(validator, patrn, instance, schema)

    strict = jsonschema.validators.extend(base, {"pattern": pattern})
    return strict(schema)


class _Loader:
    def __init__(self, specs_dir: Path) -> None:
        self.specs_dir = specs_dir
        self.raw: dict[Path, Any] = {}
        self.merged: dict[Path, tuple[Node, list[Path]]] = {}

    def display(self, path: Path) -> str:
        return source_display(path, self.specs_dir)

    def load_raw(self, path: Path) -> Node:
        if path not in self.raw:
            data = load_yaml(path, self.display(path))
            if not isinstance(data, Node):
                raise SpecError(getattr(data, "loc", Location(self.display(path), 1, 1)), "a spec must be a mapping")
            self.raw[path] = data
        result: Node = self.raw[path]
        return result

    def find_base(self, name: str, child: Path) -> Path | None:
        return find_base(name, child, self.specs_dir)

    def resolve(self, path: Path, stack: tuple[Path, ...] = ()) -> tuple[Node, list[Path]]:
        if path in self.merged:
            return self.merged[path]
        raw = self.load_raw(path)
        base_name = raw.get("extends")
        if base_name is None:
            result = (raw, [path])
        else:
            if not isinstance(base_name, str) or not IDENT.match(base_name):
                raise SpecError(raw.where_value("extends"), f"extends must name a spec, got {base_name!r}")
            base = self.find_base(base_name, path)
            if base is None:
                raise SpecError(raw.where_value("extends"), f"extends: no spec named {base_name!r} here or among the built-in specs")
            if base in stack or base == path:
                chain = " -> ".join(p.stem for p in (*stack, path, base))
                raise SpecError(raw.where_value("extends"), f"extends cycle: {chain}")
            parent, parent_sources = self.resolve(base, (*stack, path))
            result = (_merge(parent, raw), [path, *parent_sources])
        self.merged[path] = result
        return result


def _replaces_whole(path: tuple[str, ...]) -> bool:
    """One param's declaration (or one stream event's) replaces the inherited one instead of merging."""
    return (len(path) == 4 and path[0] == "modes" and path[2] == "params") or (
        len(path) == 5 and path[0] == "modes" and path[2] == "stream" and path[3] == "events"
    )


def _merge(parent: Any, child: Any, path: tuple[str, ...] = ()) -> Any:
    """Child over parent: mappings merge, lists and scalars replace, ``null`` removes an inherited entry."""
    if not (isinstance(parent, Node) and isinstance(child, Node)) or _replaces_whole(path):
        return _strip_nulls(child)
    out = Node(child.loc)
    for key, value in parent.items():
        if not path and key in OWN_KEYS:  # who the provider is, and where its key comes from
            continue
        if path == ("models",) and key == "known":  # a provider's models are its own
            continue
        if not path and key == "models" and isinstance(value, Node) and "models" not in child:
            value = _merge(value, Node(value.loc), ("models",))  # the parent's, less its known models
        out[key] = value
        out.key_locs[key] = parent.where(key)
        out.value_locs[key] = parent.where_value(key)
    for key, value in child.items():
        if value is None:
            out.pop(key, None)
            continue
        out[key] = _merge(out[key], value, (*path, key)) if key in out else _strip_nulls(value)
        out.key_locs[key] = child.where(key)
        out.value_locs[key] = child.where_value(key)
    return out


def _strip_nulls(value: Any) -> Any:
    if isinstance(value, Node):
        out = Node(value.loc)
        for key, item in value.items():
            if item is not None:
                out[key] = _strip_nulls(item)
                out.key_locs[key] = value.where(key)
                out.value_locs[key] = value.where_value(key)
        return out
    return value


def load_specs(specs_dir: Path, only: list[str] | None = None, files: list[Path] | None = None) -> list[ResolvedSpec]:
    """Load, merge, validate and check specs; raise :class:`SpecErrors` listing every problem."""
    loader = _Loader(specs_dir)
    paths = files if files is not None else spec_files(specs_dir)
    if only:
        wanted = set(only)
        paths = [p for p in paths if p.stem in wanted]
        missing = wanted - {p.stem for p in paths}
        if missing:
            raise SpecErrors([SpecError(Location(display_name(specs_dir / f"{m}.yaml", specs_dir), 1, 1), "no such spec") for m in sorted(missing)])
    errors: list[SpecError] = []
    specs: list[ResolvedSpec] = []
    valid: set[int] = set()  # merged specs (alive in the loader) that passed the schema
    invalid: set[int] = set()

    def schema_problems(data: Node, sources: list[Path]) -> list[SpecError]:
        """The schema errors of a merged spec. A child of a valid parent is first checked by
        :func:`fast_valid`, which skips what it shares with the parent; errors always come from
        the full validation."""
        if id(data) in valid:
            return []
        parent = loader.merged.get(sources[1]) if len(sources) > 1 else None
        if parent is not None:
            if id(parent[0]) not in valid and id(parent[0]) not in invalid:
                schema_problems(*parent)
            if id(parent[0]) in valid and fast_valid(_validator(), data, parent[0]):
                valid.add(id(data))
                return []
        problems = _schema_errors(data)
        (invalid if problems else valid).add(id(data))
        return problems

    # one run reports every problem it can find, not phase by phase: a broken `extends` still gets
    # the file's own schema checked, and schema errors do not hide the semantic checks
    for path in paths:
        try:
            data, sources = loader.resolve(path)
        except SpecError as exc:
            errors.append(exc)
            with contextlib.suppress(SpecError):  # a file that does not load: its error is reported
                errors.extend(_schema_errors(loader.load_raw(path), partial=True))
            continue
        raw = loader.load_raw(path)
        problems = schema_problems(data, sources)
        try:
            semantic = check(data, raw, path.stem)
        except (KeyError, TypeError, AttributeError, ValueError, IndexError):
            if not problems:
                raise
            semantic = []  # the checks assume the schema's shapes; the schema errors say what is wrong
        seen = {(e.location.line, e.location.column) for e in problems}
        problems += [e for e in semantic if (e.location.line, e.location.column) not in seen]
        if problems:
            errors.extend(problems)
            continue
        specs.append(ResolvedSpec(str(data["name"]), path, loader.display(path), data, sources))
    names: dict[str, ResolvedSpec] = {}
    for spec in specs:
        if spec.name in names:
            errors.append(SpecError(spec.data.where_value("name"), f"two specs are named {spec.name!r}"))
        names[spec.name] = spec
    owner: dict[str, str] = {}
    for spec in specs:
        for alias in spec.aliases:
            if alias in names or alias in owner:
                other = alias if alias in names else owner[alias]
                errors.append(SpecError(spec.data.where_value("aliases"), f"alias {alias!r} is already the name or an alias of {other!r}"))
            owner[alias] = spec.name
    for spec in specs:  # a route's target is a spec of its own (this folder or built-in) that routes no further
        for i, route in enumerate(spec.data.get("routes") or ()):
            target = str(route["provider"])
            where = spec.data["routes"][i].where_value("provider")
            found = names[target].file if target in names else loader.find_base(target, spec.file)
            if target == spec.name:
                errors.append(SpecError(where, "a spec cannot route to itself"))
            elif found is None:
                errors.append(SpecError(where, f"routes: no spec named {target!r} here or among the built-in specs"))
            else:
                with contextlib.suppress(SpecError):
                    if (loader.resolve(found)[0].get("routes") or ()):
                        errors.append(SpecError(where, f"routes: {target!r} routes further; a route's target must not"))
    if errors:
        raise SpecErrors(errors)
    return specs


def _schema_errors(data: Node, *, partial: bool = False) -> list[SpecError]:
    """Schema errors, each at its ``file:line:column``; ``partial``: the file alone of a spec whose
    ``extends`` failed, so what it may inherit (required keys) is not asked of it."""
    out: list[SpecError] = []
    for err in _validator().iter_errors(data):
        if partial and err.validator == "required":
            continue
        path = list(err.absolute_path)
        loc = location_of(data, path)
        where = ".".join(str(p) for p in path) or "(top level)"
        message = err.message
        if err.validator == "additionalProperties":
            extra = [k for k in err.instance if k not in err.schema.get("properties", {})] if isinstance(err.instance, dict) else []
            if extra and isinstance(err.instance, Node):
                loc = err.instance.where(extra[0])
                known = sorted(err.schema.get("properties", {}))
                message = f"unknown key {extra[0]!r}{did_you_mean(extra[0], known) or ' (a typo?)'}"
        elif err.validator in ("oneOf", "anyOf") and err.context:
            best = min(err.context, key=lambda e: len(list(e.absolute_path)))
            message = best.message
        out.append(SpecError(loc, f"{where}: {message}"))
    return out


def _ll(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def check(data: Any, raw: Any, stem: str) -> list[SpecError]:
    """Semantic checks that the JSON Schema cannot express."""
    errs: list[SpecError] = []

    def err(loc: Location, msg: str) -> None:
        errs.append(SpecError(loc, msg))

    if "name" not in raw:
        err(raw.loc, "every spec names itself (name:), even one that extends another")
    elif data["name"] != stem:
        err(data.where_value("name"), f"name {data['name']!r} must match the file name {stem!r}")
    import keyword

    if keyword.iskeyword(str(data.get("name"))):
        err(data.where_value("name"), f"name {data['name']!r} is a Python keyword")

    auth = data.get("auth") or {}
    kind = auth.get("type", "none")
    if kind == "header" and "header" not in auth:
        err(data.where("auth"), "auth type 'header' needs header: NAME")
    if kind == "query" and "query" not in auth:
        err(data.where("auth"), "auth type 'query' needs query: NAME")
    if kind == "sigv4":
        sig = auth.get("sigv4")
        if not sig:
            err(data.where("auth"), "auth type 'sigv4' needs sigv4: {service: NAME, region: PATH_PARAM}")
        elif sig.get("region") not in (data.get("path_params") or {}):
            err(auth["sigv4"].where("region"), f"sigv4.region names {sig.get('region')!r}, which is not a path param")
    if "sigv4" in auth and kind != "sigv4":
        err(data["auth"].where("sigv4"), "auth.sigv4 applies to auth type 'sigv4' only")
    if "google" in auth and kind != "google":
        err(data["auth"].where("google"), "auth.google applies to auth type 'google' only")
    for pname, source in (data.get("path_params") or {}).items():
        if "credentials" in source and kind != "google":
            err(data["path_params"][pname].where("credentials"), "path_params credentials: needs auth type 'google'")
    for i, alt in enumerate(auth.get("alternatives") or ()):  # credentials used when there is no API key
        where = auth["alternatives"].where(i)
        if kind not in ("bearer", "header", "token"):
            err(where, f"auth.alternatives replace a bearer, header or token auth, not {kind!r}")
        if alt.get("type") == "header" and "header" not in alt:
            err(where, "an alternative of type 'header' needs header: NAME")
        if (alt.get("type") == "token") != ("token" in alt):
            err(where, "an alternative has token: {...} exactly when its type is 'token'")

    seen_headers: dict[str, str] = {}
    for name in data.get("headers") or {}:
        low = str(name).lower()
        if low in seen_headers:
            err(data["headers"].where(name), f"header {name!r} repeats {seen_headers[low]!r}: header names ignore case")
        seen_headers[low] = str(name)
        if low == "authorization" and kind in ("bearer", "google"):
            err(data["headers"].where(name), "the authorization header is written by auth:; set auth.type: none to write it here")
        if kind == "header" and low == str(auth.get("header", "")).lower():
            err(data["headers"].where(name), f"header {name!r} is written by auth:")

    path_params = set((data.get("path_params") or {}).keys())
    body_params = {k for k, v in (data.get("path_params") or {}).items() if isinstance(v, dict) and v.get("in") == "body"}
    for k, v in (data.get("path_params") or {}).items():
        if isinstance(v, dict) and "required" in v and v.get("in") != "body":
            err(data["path_params"].where(k), f"path param {k!r}: required applies to one sent in: body (a URL variable is always required)")
    has_versions = "api_versions" in data

    def check_template(node: Any, key: str, text: str) -> None:
        for var in TEMPLATE_VAR.findall(text):
            if var in body_params:
                err(node.where_value(key), f"path param {{{var}}} is sent in the body (in: body), not in a URL")
                continue
            if var == "model" or (var == "api_version" and has_versions) or var in path_params:
                continue
            if var == "api_version":
                err(node.where_value(key), "path uses {api_version} but the spec has no api_versions")
            elif not IDENT.match(var):
                err(node.where_value(key), f"bad path-template variable {{{var}}}")
            else:
                err(node.where_value(key), f"path-template variable {{{var}}} has no source (add it to path_params)")
        stripped = TEMPLATE_VAR.sub("", text)
        if "{" in stripped or "}" in stripped:
            err(node.where_value(key), "unbalanced braces in path template")

    if isinstance(data.get("base_url"), str) and "{" in data["base_url"]:
        check_template(data, "base_url", data["base_url"])
    for entry in data.get("base_urls") or ():
        if "{" in str(entry.get("url", "")):
            check_template(entry, "url", str(entry["url"]))
        for var in entry.get("when") or {}:
            if var not in path_params:
                err(entry["when"].where(var), f"base_urls.when names {var!r}, which is not a path param")
    for section in ("add", "table"):
        for row_i, row in enumerate((data.get("errors") or {}).get(section) or ()):
            cls = row.get("raise")
            if cls not in ERROR_CLASSES:
                err(row.where_value("raise"), f"unknown error class {cls!r}; known: {', '.join(sorted(ERROR_CLASSES))}")
            if "status" not in row and "code" not in row and "match" not in row:
                err(data["errors"][section].where(row_i), "an error row needs status, code or match")

    modes: Any = data.get("modes") or {}
    if not modes:
        err(data.loc, "a spec declares at least one mode")
    # the vocabulary comes from the wire registry (built-in wires and the project's plug-ins)
    transforms = wires.transforms()
    wire_names = wires.names()
    serving = {m: [w for w in wire_names if m in wires.load(w).MODES] for m in ("chat", "embeddings", "completions")}
    streaming = [w for w in wire_names if wires.load(w).STREAMS]
    for mode_name, mode in modes.items():
        formats = serving.get(mode_name)
        if not formats:
            err(modes.where(mode_name), f"mode {mode_name!r} has no runtime support yet (supported: {', '.join(sorted(serving))})")
            continue
        fmt = mode.get("format", "openai")
        if fmt not in formats:
            where = mode.where_value("format") if "format" in mode else mode.loc
            known = f"wire {fmt!r} does not serve {mode_name}" if fmt in wire_names else f"unknown wire {fmt!r}{did_you_mean(fmt, wire_names)}"
            err(where, f"{known}; {mode_name} wires: {', '.join(formats)}")
        endpoint = mode.get("endpoint") or {}
        if "path" not in endpoint:
            err(mode.where("endpoint") if "endpoint" in mode else mode.loc, f"mode {mode_name!r} needs endpoint.path")
        else:
            check_template(endpoint, "path", endpoint["path"])
        for qk, qv in (endpoint.get("query") or {}).items():
            check_template(endpoint["query"], qk, qv)
        for alt in endpoint.get("by_api_version") or ():  # another surface, chosen by API version
            if not has_versions:
                err(alt.loc, "endpoint.by_api_version needs api_versions")
            check_template(alt, "path", str(alt["path"]))
            for qk, qv in (alt.get("query") or {}).items():
                check_template(alt["query"], qk, qv)
        if "messages_transform" in mode:
            if mode_name != "chat":
                err(mode.where("messages_transform"), "messages_transform applies to the chat mode only")
            fits = sorted(t for t, d in transforms.items() if d.messages)
            for name in ll(mode["messages_transform"]):
                if name not in transforms or not transforms[name].messages:
                    err(mode.where_value("messages_transform"), f"unknown messages transform {name!r}{did_you_mean(name, fits)}; known: {', '.join(fits)}")
        params: Any = mode.get("params") or {}
        targets: dict[tuple[str, ...], tuple[str, bool]] = {}
        for pname, param in params.items():
            if "transform" in param and (param["transform"] not in transforms or transforms[param["transform"]].messages):
                name = param["transform"]
                fits = sorted(t for t, d in transforms.items() if not d.messages)
                err(param.where_value("transform"), f"unknown transform {name!r}{did_you_mean(name, fits)}; known: {', '.join(fits)}")
            if "alias" in param:
                target = param["alias"]
                if target not in params or "alias" in params[target]:
                    err(param.where_value("alias"), f"alias {target!r} is not a mapped param of this mode")
                if set(param) - {"alias"}:
                    err(param.where("alias"), "an alias param takes no other settings")
                continue
            if "unsupported" in param:
                if set(param) - {"unsupported", "enum"}:
                    err(param.where("unsupported"), "an unsupported param takes no other settings (but enum)")
                continue
            if param.get("in") == "query":
                continue
            path = tuple(str(param.get("to", pname)).split("."))
            merge = bool(param.get("merge"))
            for other, (oname, omerge) in targets.items():
                short = min(len(other), len(path))
                if other[:short] != path[:short]:
                    continue
                # equal targets must both merge; a merge param may merge into a parent of others
                ok = (merge and omerge) if other == path else (omerge if len(other) < len(path) else merge)
                if not ok:
                    err(param.where("to") if "to" in param else params.where(pname), f"param {pname!r} and param {oname!r} both write {'.'.join(path)!r}")
            targets[path] = (pname, merge)
            if "range" in param:
                lo, hi = param["range"]
                if lo is not None and hi is not None and lo > hi:
                    err(param.where_value("range"), "range is empty (low > high)")
        model_field = mode.get("model_field", "model")
        if model_field:
            mpath = tuple(model_field.split("."))
            for other, (oname, _) in targets.items():
                short = min(len(other), len(mpath))
                if other[:short] == mpath[:short]:
                    err(params.where(oname), f"param {oname!r} writes over the model field {model_field!r}")
        stream = mode.get("stream")
        if stream is not None:
            if mode_name not in ("chat", "completions"):
                err(mode.where("stream"), "only chat and completions streams for now")
            elif mode_name == "completions" and ("format" not in stream or "events" in stream):
                err(mode.where("stream"), "a completions stream names the wire that reads its chunks (stream.format), no event table")
            proto = stream["protocol"]
            if proto not in SUPPORTED_PROTOCOLS:
                err(stream.where_value("protocol"), f"stream protocol {proto!r} has no runtime decoder yet")
            if "payload" in stream and proto != "aws_eventstream":
                err(stream.where("payload"), "stream.payload applies to protocol aws_eventstream only")
            if "path" in (stream.get("endpoint") or {}):
                check_template(stream["endpoint"], "path", stream["endpoint"]["path"])
            has_fmt, has_events = "format" in stream, "events" in stream
            if has_fmt == has_events:
                err(stream.loc, "a stream declares either format (whole response objects) or events (an event table), not both")
            if has_fmt and stream["format"] not in streaming:
                name = stream["format"]
                err(stream.where_value("format"), f"unknown stream format {name!r}{did_you_mean(name, streaming)}; wires whose streams are whole objects: {', '.join(streaming)}")
            if has_events and "dispatch" not in stream:
                err(stream.where("events"), "an event table needs dispatch: [field, subfield]")
            if has_events:
                depth = len(stream.get("dispatch") or ())
                for ev in stream["events"]:
                    if ev.count("/") + 1 > depth and ev != "*":
                        err(stream["events"].where(ev), f"event key {ev!r} has more parts than dispatch has fields")
                if "$event" in (stream.get("dispatch") or ()) and proto != "sse":
                    err(stream.where_value("dispatch"), "$event (the SSE event name) needs protocol sse")
    return errs


def ll(value: Any) -> list[Any]:
    return _ll(value)


__all__ += ["NodeList", "ll"]
