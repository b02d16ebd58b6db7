"""Recorded wire transcripts, found by convention.

Shared by :mod:`specgen.conform` (the transcripts are its evidence) and :mod:`specgen.audit` (the
oracle runs them through LiteLLM too); :mod:`specgen.conform.transcripts` re-exports it.

For a provider ``p`` and a mode ``m`` the transcripts live in ``fixtures/p/m/`` beside the spec
(``specs/fixtures/anthropic/chat/``): raw wire files (``*.json`` bodies, ``*.sse`` and
``*.ndjson`` streams) and one ``transcripts.yaml`` that says what each one means::

    requests:                      # OpenAI-style call in, the documented wire request out
      basic:
        source: https://...        # where it comes from: the documentation URL, or `captured`
                                   # (a request another client was recorded sending); `doc:` is
                                   # read the same. A wire file's source may instead be named on
                                   # its line of the provider's SOURCES.md. Reports say what each
                                   # check rests on: documentation, captured, or unstated.
        params: {model: claude-sonnet-4-5, messages: [...], temperature: 0.5}
        expect:
          method: POST
          path: /v1/messages
          query: {alt: sse}        # exact when given
          headers: {x-api-key: $API_KEY}   # these headers (others are free)
          body: {...}              # the exact JSON body
          # or: raise: UnsupportedParamsError
    responses:                     # a recorded body in, the OpenAI-shaped result out (partial)
      response.json:
        expect: {choices: [{finish_reason: stop}], usage: {prompt_tokens: 12}}
      max_tokens:                  # a variant: the same body with documented values substituted
        file: response.json
        set: {stop_reason: max_tokens}
        expect: {choices: [{finish_reason: length}]}
    streams:                       # a recorded stream in, the accumulated result out (partial)
      stream.sse:
        expect: {content: "Hello", finish_reason: stop, usage: {...}}
      stream_error.sse:
        expect: {raise: ServiceUnavailableError}
    errors:                        # a recorded error body with its status in, the error class out
      error_429.json:
        status: 429
        expect: {raise: RateLimitError}

A spec that ``extends`` another inherits the parent's transcripts (its own folder first; an entry
of the same name overrides, ``name: ~`` removes one).
"""

from __future__ import annotations

import copy
import functools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

KINDS = ("requests", "responses", "streams", "errors")
API_KEY = "sk-conform-0123456789abcdef"  # what the runner passes as the key; `$API_KEY` in expectations
#: what the fake token endpoint answers a spec with ``auth.type: token``; `$ACCESS_TOKEN` in expectations
ACCESS_TOKEN = "conform-access-token-0123456789"


#: what a transcript rests on (:attr:`Transcript.basis`)
DOCUMENTATION, CAPTURED, UNSTATED = "documentation", "captured", "unstated"


class TranscriptError(Exception):
    """A transcripts.yaml that cannot be used; names the file."""


@dataclass
class Transcript:
    kind: str  # requests | responses | streams | errors
    name: str
    source: str  # "fixtures/anthropic/chat/transcripts.yaml" (display, never absolute)
    expect: dict[str, Any]
    params: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)  # api_version for requests
    file: Path | None = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    set: dict[str, Any] = field(default_factory=dict)
    owner: str = ""  # the spec whose fixtures folder holds it (a parent's, when inherited)
    inherited: bool = False  # run for a child spec from its parent's folder
    evidence: str = ""  # its `source:` (or `doc:`): a documentation URL, or "captured"

    @property
    def basis(self) -> str:
        """What the exchange rests on: ``documentation`` (a URL), ``captured`` (a recorded request
        of another client, the catalog's captured facts) or ``unstated``."""
        text = self.evidence.strip()
        if text.startswith(("http://", "https://")):
            return DOCUMENTATION
        if text.casefold().startswith("captured"):
            return CAPTURED
        return UNSTATED

    @property
    def label(self) -> str:
        """How reports name it: ``basic``, or ``openai:basic`` when inherited from openai."""
        return f"{self.owner}:{self.name}" if self.inherited else self.name

    @property
    def raises(self) -> str | None:
        value = self.expect.get("raise")
        return str(value) if value else None

    def body(self) -> bytes:
        """The wire bytes, with the variant's substitutions applied."""
        assert self.file is not None
        data = self.file.read_bytes()
        if not self.set:
            return data
        obj = json.loads(data)
        obj = copy.deepcopy(obj)
        for path, value in self.set.items():
            set_at(obj, path, value)
        return json.dumps(obj).encode()

    def frames_text(self) -> str:
        return self.body().decode("utf-8", "replace")


def set_at(data: Any, path: str, value: Any) -> None:
    """Set a dotted path in a JSON value (digits index lists); used for transcript variants
    (``set:``, where ``null`` removes the key)."""
    parts = path.split(".")
    cur = data
    for part in parts[:-1]:
        cur = cur[int(part)] if isinstance(cur, list) else cur.setdefault(part, {})
    last = parts[-1]
    if isinstance(cur, list):
        cur[int(last)] = value
    elif value is None:
        cur.pop(last, None)
    else:
        cur[last] = value


_EVIDENCE = {"doc": {"type": "string"}, "source": {"type": "string", "description": "where the wire shape comes from: a documentation URL, or 'captured'"}}
_ENTRY = {
    "type": "object",
    "additionalProperties": False,
    "required": ["expect"],
    "properties": {
        **_EVIDENCE,
        "file": {"type": "string"},
        "status": {"type": "integer", "minimum": 100, "maximum": 599},
        "headers": {"type": "object", "additionalProperties": {"type": ["string", "number"]}},
        "set": {"type": "object"},
        "expect": {"type": "object"},
    },
}
_EXPECT = {
    "requests": {"method", "path", "query", "headers", "body", "raise"},
    "streams": {"content", "reasoning_content", "tool_calls", "finish_reason", "usage", "id", "model", "chunks", "raise"},
    "errors": {"raise", "retryable", "code", "message", "status_code"},
}
SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "requests": {
            "type": ["object", "null"],
            "additionalProperties": {
                "oneOf": [
                    {"type": "null"},
                    {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["params", "expect"],
                        "properties": {
                            **_EVIDENCE,
                            "params": {"type": "object"},
                            "api_version": {"type": "string"},
                            "expect": {"type": "object", "additionalProperties": False, "properties": {k: {} for k in sorted(_EXPECT["requests"])}},
                        },
                    },
                ]
            },
        },
        **{
            kind: {
                "type": ["object", "null"],
                "additionalProperties": {
                    "oneOf": [
                        {"type": "null"},
                        {
                            **_ENTRY,
                            "properties": {
                                **_ENTRY["properties"],  # type: ignore[dict-item]
                                "expect": {"type": "object", "additionalProperties": False, "properties": {k: {} for k in sorted(_EXPECT[kind])}}
                                if kind in _EXPECT
                                else {"type": "object"},
                            },
                        },
                    ]
                },
            }
            for kind in ("responses", "streams", "errors")
        },
    },
}


def check_file(index: Path, shown: str) -> Any:
    """Load a transcripts.yaml with positions and check it against :data:`SCHEMA`: an unknown key
    (a misspelt ``header:``) is an error, each at ``file:line:column``; all of them are reported."""
    import jsonschema

    from specgen.spec.errors import SpecError
    from specgen.spec.loader import load_yaml, location_of
    from specgen.spec.resolve import did_you_mean

    try:
        doc = load_yaml(index, shown)
    except SpecError as exc:
        raise TranscriptError(str(exc)) from None
    problems: list[str] = []
    for err in jsonschema.Draft202012Validator(SCHEMA).iter_errors(doc):
        path = list(err.absolute_path)
        loc = location_of(doc, path)
        message = err.message
        if err.validator == "oneOf" and err.context:
            # an entry is null or an object: what is wrong is what the object branch says
            branch = [e for e in err.context if e.schema != {"type": "null"}] or list(err.context)
            deepest = max(branch, key=lambda e: len(list(e.absolute_path)))
            path = [*path, *deepest.relative_path]
            loc, err = location_of(doc, path), deepest
            message = err.message
        if err.validator == "additionalProperties" and isinstance(err.instance, dict):
            known = sorted(err.schema.get("properties", {}))
            extra = [k for k in err.instance if k not in known]
            if extra:
                node = err.instance
                loc = node.where(extra[0]) if hasattr(node, "where") else loc
                message = f"unknown key {extra[0]!r}{did_you_mean(extra[0], known) or ''}; known: {', '.join(known)}"
        where = ".".join(str(p) for p in path) or "(top level)"
        problems.append(f"{loc}: {where}: {message}")
    if problems:
        raise TranscriptError("\n".join(sorted(set(problems))))
    return doc


def fixture_dirs(spec_sources: list[Path], mode: str) -> list[tuple[Path, str]]:
    """``fixtures/<name>/<mode>`` beside each spec in the extends chain, child first."""
    out = []
    for src in spec_sources:
        folder = src.parent / "fixtures" / src.stem / mode
        out.append((folder, f"{src.parent.name}/fixtures/{src.stem}/{mode}"))
    return out


def load(spec_sources: list[Path], mode: str) -> list[Transcript]:
    """Every transcript for a provider's mode, the child's overriding the parent's by name."""

    chosen: dict[tuple[str, str], Transcript | None] = {}
    for (folder, shown), src in zip(fixture_dirs(spec_sources, mode), spec_sources, strict=True):
        index = folder / "transcripts.yaml"
        if not index.is_file():
            continue
        where = f"{shown}/transcripts.yaml"
        doc = check_file(index, where) or {}
        if not isinstance(doc, dict) or set(doc) - set(KINDS):
            raise TranscriptError(f"{where}: top-level keys must be among {', '.join(KINDS)}")
        for kind in KINDS:
            entries = doc.get(kind) or {}
            if not isinstance(entries, dict):
                raise TranscriptError(f"{where}: {kind} must be a mapping of name → entry")
            for name, entry in entries.items():
                key = (kind, str(name))
                if key in chosen:
                    continue  # the child already said
                chosen[key] = None if entry is None else _entry(kind, str(name), entry, folder, where)
                if chosen[key] is not None:
                    chosen[key].owner = src.stem  # type: ignore[union-attr]
    child = spec_sources[0].stem if spec_sources else ""
    out = [t for t in chosen.values() if t is not None]
    for t in out:
        t.inherited = t.owner != child
    return out


_URL = re.compile(r"https?://[^\s)`|>\]]+")


@functools.lru_cache(maxsize=256)
def _sources_lines(sources_md: Path) -> tuple[str, ...]:
    try:
        return tuple(sources_md.read_text(encoding="utf-8").splitlines())
    except (OSError, UnicodeDecodeError):
        return ()


def _listed_source(folder: Path, file_name: str) -> str:
    """The first URL on the line of ``fixtures/<provider>/SOURCES.md`` that names the wire file
    (as ``mode/file`` or ``file``), or ``""``."""
    mode = folder.name
    for line in _sources_lines(folder.parent / "SOURCES.md"):
        if f"{mode}/{file_name}" in line or f"`{file_name}`" in line:
            found = _URL.search(line)
            if found:
                return found.group(0)
    return ""


def _entry(kind: str, name: str, entry: Any, folder: Path, where: str) -> Transcript:
    if not isinstance(entry, dict) or not isinstance(entry.get("expect"), dict):
        raise TranscriptError(f"{where}: {kind}.{name}: needs expect: {{...}}")
    t = Transcript(kind=kind, name=name, source=where, expect=entry["expect"])
    t.evidence = str(entry.get("source") or entry.get("doc") or "")
    if kind == "requests":
        if not isinstance(entry.get("params"), dict):
            raise TranscriptError(f"{where}: {kind}.{name}: needs params: {{model: ..., ...}}")
        t.params = entry["params"]
        t.options = {k: entry[k] for k in ("api_version",) if k in entry}
        return t
    file = folder / str(entry.get("file", name))
    if not file.is_file():
        raise TranscriptError(f"{where}: {kind}.{name}: no file {file.name!r} in the folder")
    t.file = file
    if not t.evidence:  # a wire file's source is named in the provider's SOURCES.md
        t.evidence = _listed_source(folder, file.name)
    t.status = int(entry.get("status", 200))
    t.headers = {str(k): str(v) for k, v in (entry.get("headers") or {}).items()}
    t.set = dict(entry.get("set") or {})
    if kind == "errors" and t.status < 400:
        raise TranscriptError(f"{where}: {kind}.{name}: status must be the error's HTTP status")
    return t
