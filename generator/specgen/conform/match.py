"""Comparing what an adapter produced with what a transcript expects, and saying exactly how they differ."""

from __future__ import annotations

import contextlib
import json
from typing import Any

# a transcript variant's substitution (``set:``), which the checks use too
from specgen.transcripts import set_at as set_at

ANY = "<any>"  # in an expectation: the key must be present, any value


def show(value: Any, limit: int = 120) -> str:
    """A value as one short line of JSON."""
    try:
        text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=repr)
    except (TypeError, ValueError):
        text = repr(value)
    text = text.replace("\n", "\\n")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _path(parts: tuple[str | int, ...]) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "(root)"


_MISSING = object()


def diff(expected: Any, received: Any, *, exact: bool = False, where: tuple[str | int, ...] = ()) -> list[str]:
    """Differences, one ``path: expected X, received Y`` line each.

    ``exact=False``: a partial match, every key the expectation names must match and other keys
    are free (lists still match element by element and must have the same length).
    ``exact=True``: both sides must be equal (extra keys are differences too).
    """
    if expected == ANY:
        return [] if received is not _MISSING else [f"{_path(where)}: expected a value, received nothing"]
    if isinstance(expected, dict | list) and isinstance(received, str):
        with contextlib.suppress(ValueError):  # tool-call arguments: JSON text on the wire, YAML in an expectation
            received = json.loads(received)
    if isinstance(expected, dict) and isinstance(received, dict):
        out: list[str] = []
        for key, value in expected.items():
            if key not in received:
                out.append(f"{_path((*where, key))}: expected {show(value)}, received nothing")
            else:
                out.extend(diff(value, received[key], exact=exact, where=(*where, key)))
        if exact:
            for key in received:
                if key not in expected:
                    out.append(f"{_path((*where, key))}: expected nothing, received {show(received[key])}")
        return out
    if isinstance(expected, list) and isinstance(received, list):
        if len(expected) != len(received):
            return [f"{_path(where)}: expected {len(expected)} items {show(expected)}, received {len(received)} {show(received)}"]
        out = []
        for i, (e, r) in enumerate(zip(expected, received, strict=True)):
            out.extend(diff(e, r, exact=exact, where=(*where, i)))
        return out
    if _same(expected, received):
        return []
    return [f"{_path(where)}: expected {show(expected)}, received {show(received)}"]


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    return type(a) is type(b) and a == b


def get(data: Any, path: tuple[str, ...] | list[str]) -> Any:
    """The value at a dotted path (list indexes as digits), or ``_MISSING``."""
    cur = data
    for part in path:
        if isinstance(cur, dict) and part in cur:
            cur = cur[part]
        elif isinstance(cur, list) and part.isdigit() and int(part) < len(cur):
            cur = cur[int(part)]
        else:
            return _MISSING
    return cur


def has(data: Any, path: tuple[str, ...] | list[str]) -> bool:
    return get(data, path) is not _MISSING


def first(diffs: list[str]) -> str | None:
    """The first difference, with how many more there are (None: no difference)."""
    if not diffs:
        return None
    return diffs[0] if len(diffs) == 1 else f"{diffs[0]} (+{len(diffs) - 1} more)"


def describe(exc: BaseException | None) -> str:
    """An exception as one short line: its class and the first line of its message."""
    if exc is None:
        return "nothing raised"
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text[:160]}"


def raised(expected: str, exc: BaseException | None, label: str = "") -> str | None:
    """None when ``exc`` is of the class named ``expected``, else what was received instead."""
    got = type(exc).__name__ if exc is not None else None
    if got == expected:
        return None
    return f"{label}expected {expected}, received {describe(exc) if exc else 'no error'}"


def normalize(value: Any, raw: bytes) -> Any:
    """Ids and timestamps the adapter made up (not in the transcript) compare equal."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k in ("id", "created") and isinstance(v, str | int) and str(v).encode() not in raw:
                out[k] = f"<{k}>"
            else:
                out[k] = normalize(v, raw)
        return out
    if isinstance(value, list):
        return [normalize(v, raw) for v in value]
    return value


def stable(value: Any) -> Any:
    """``value`` with every id and timestamp folded: two runs of the same call compare equal."""
    return normalize(value, b"")
