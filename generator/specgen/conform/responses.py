"""The response group: finish_reason and usage rows, checked on variants and on recorded responses.

* :func:`self_checks` — each finish_reason row and usage row, on a variant of a recorded
  response with the row's raw value (or a marker number) substituted (chat only);
* :func:`transcripts` — each recorded response through the Client and the AsyncClient gives
  what the transcript expects (the same on both), and is evidence for the finish_reason and
  usage rows it exercises (:func:`finish_evidence`, :func:`usage_evidence`; the stream group
  uses them too).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from specgen.build.ir import ModeIR
from specgen.conform import match as M
from specgen.conform.fake import Reply
from specgen.conform.mode_run import ModeRun
from specgen.transcripts import Transcript
from specgen_runtime import wires


def self_checks(run: ModeRun) -> None:
    """Each finish row and usage row, on a variant of the first recorded response."""
    m = run.mode
    base_t = next((t for t in run.by_kind.get("responses", ()) if t.status == 200 and not t.raises and not _expects_tools(t)), None)
    if base_t is None:
        return
    prefix = _choice_prefix(m)
    data = json.loads(base_t.body())
    if m.finish_from:
        finish_path = prefix + ".".join(m.finish_from)
        for raw, value in m.finish_map.items():
            variant = json.loads(json.dumps(data))
            try:
                M.set_at(variant, finish_path, raw)
            except (KeyError, IndexError, TypeError, ValueError):
                continue
            c = run.call(run.base(), replies=[Reply.json(variant)])
            got = _finish_of(c.value)
            run.ledger.self_check(("finish", raw), None if got == value else f"{finish_path}={raw!r}: expected finish_reason {value!r}, received {M.show(got) if c.error is None else M.describe(c.error)}")
    sources: dict[str, list[tuple[str, ...]]] = {}
    for key, src in m.usage:
        sources.setdefault(key, []).append(src)
    for i, (key, srcs) in enumerate(sources.items()):
        variant = json.loads(json.dumps(data))
        numbers = [900001 + 1000 * i + j for j in range(len(srcs))]  # several paths: summed
        try:
            for src, number in zip(srcs, numbers, strict=True):
                M.set_at(variant, ".".join(src), number)
        except (KeyError, IndexError, TypeError, ValueError):
            continue
        c = run.call(run.base(), replies=[Reply.json(variant)])
        usage = c.value.to_dict().get("usage") if c.value is not None else None
        got = M.get(usage, key.split("."))
        sent = " + ".join(f"{'.'.join(src)}={n}" for src, n in zip(srcs, numbers, strict=True))
        run.ledger.self_check(("usage", key), None if got == sum(numbers) else f"{sent}: expected usage.{key}={sum(numbers)}, received {M.show(got if got is not M._MISSING else None)}")


def transcripts(run: ModeRun) -> None:
    """Each recorded response: a check of its own, and evidence for its finish and usage rows."""
    m = run.mode
    for t in run.by_kind.get("responses", ()):
        reply = Reply(t.status, t.body(), {"content-type": "application/json", **t.headers})
        c = run.call(run.base(), replies=[reply])
        a = run.acall(run.base(), [reply])
        if t.raises:
            failure = M.raised(t.raises, c.error) or M.raised(t.raises, a.error, "AsyncClient: ")
            run.transcript_result("response", t, failure)
            continue
        if c.error is not None:
            run.transcript_result("response", t, f"raised {M.describe(c.error)}")
            continue
        got = c.value.to_dict()
        diffs = M.diff(t.expect, got)
        if not diffs and a.error is None:
            diffs = [f"AsyncClient: {d}" for d in M.diff(M.stable(got), M.stable(a.value.to_dict()), exact=True)]
        elif a.error is not None:
            diffs.append(f"AsyncClient raised {M.describe(a.error)}")
        failure = "; ".join(diffs[:4]) if diffs else None
        run.transcript_result("response", t, failure)
        if m.name not in ("chat", "completions"):
            for key, src in m.usage:
                usage_evidence(run, key, src, t, got)
            continue
        # attribute finish rows and usage rows
        raw = json.loads(t.body())
        expected_finish = [ch.get("finish_reason") for ch in t.expect.get("choices") or () if isinstance(ch, dict) and "finish_reason" in ch]
        got_finish = [ch.get("finish_reason") for ch in got.get("choices") or ()]
        if expected_finish:
            ok = expected_finish == got_finish[: len(expected_finish)]
            fdetail = None if ok else f"finish_reason: expected {M.show(expected_finish)}, received {M.show(got_finish)}"
            finish_evidence(run, raw, expected_finish, t.label, fdetail, [m.finish_from] if m.finish_from else [])
        for key, src in m.usage:
            usage_evidence(run, key, src, t, got)


def finish_evidence(run: ModeRun, raw: Any, expected: list[Any], name: str, failure: str | None, paths: list[Any]) -> None:
    """Transcript ``name`` as evidence for the finish_reason rows whose raw values ``raw`` holds
    under ``paths`` (or for the tool_calls row, when tool_calls was expected)."""
    m = run.mode
    keys = {p[-1] for p in paths if p}
    values = {v for v in _values_under(raw, keys) if isinstance(v, str)}
    if m.finish_tool_calls and "tool_calls" in expected:
        run.ledger.evidence(("finish_tool_calls",), name, failure)
        return
    for v in values:
        if v in m.finish_map:
            run.ledger.evidence(("finish", v), name, failure)


def usage_evidence(run: ModeRun, key: str, src: tuple[str, ...], t: Transcript, got: dict[str, Any]) -> None:
    """``t`` as evidence for the usage row ``key``, when it expects a value there."""
    exp_usage = t.expect.get("usage")
    if not isinstance(exp_usage, dict):
        return
    exp = M.get(exp_usage, key.split("."))
    if exp is M._MISSING:
        return
    got_v = M.get(got.get("usage"), key.split("."))
    failure = None if M._same(exp, got_v) else f"usage.{key}: expected {M.show(exp)}, received {M.show(got_v if got_v is not M._MISSING else None)}"
    run.ledger.evidence(("usage", key), t.label, failure)


def _choice_prefix(mode: ModeIR) -> str:
    """Where a response's first choice lives: the spec's response table says, else the wire."""
    if mode.message_table is not None:
        at = mode.message_table.get("choices")
        return ".".join(at) + ".0." if at else ""
    return wires.load(mode.format).CHOICE_PREFIX


def _expects_tools(t: Transcript) -> bool:
    return any(isinstance(ch, dict) and ch.get("finish_reason") == "tool_calls" for ch in t.expect.get("choices") or ())


def _finish_of(value: Any) -> Any:
    if value is None:
        return None
    choices = value.to_dict().get("choices") or []
    return choices[0].get("finish_reason") if choices else None


def _values_under(data: Any, keys: set[str]) -> Iterator[Any]:
    if isinstance(data, dict):
        for k, v in data.items():
            if k in keys:
                yield v
            yield from _values_under(v, keys)
    elif isinstance(data, list):
        for v in data:
            yield from _values_under(v, keys)
