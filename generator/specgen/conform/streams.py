"""The stream group: recorded streams, any chunking of them, a stream cut short, emulated streams.

:func:`checks` runs each recorded stream through the Client and the AsyncClient (cut at random
points) and compares what a caller accumulates with the transcript; re-chunks it at
hypothesis-chosen boundaries (:func:`_rechunk`: the chunks must not change); attributes the
stream's frames to the event rows, finish_reason and usage rows and error rows they exercise;
checks that a stream cut in half raises a typed error; and that a request the provider cannot
stream (``stream.emulate_when``) goes out unstreamed and comes back as chunks.
"""

from __future__ import annotations

import json
import random
from typing import Any

from specgen.adapters import accumulate
from specgen.conform import match as M
from specgen.conform.errors_check import row_for
from specgen.conform.fake import Reply
from specgen.conform.mode_run import CONTENT_TYPES, ModeRun
from specgen.conform.responses import finish_evidence, usage_evidence
from specgen.transcripts import Transcript
from specgen_runtime import errors as E
from specgen_runtime.streams import (
    EventStreamDecoder,
    EventStreamSSEDecoder,
    JSONArrayDecoder,
    NDJSONDecoder,
    SSEDecoder,
)

DECODERS: dict[str, Any] = {
    "sse": SSEDecoder,
    "ndjson": NDJSONDecoder,
    "json_array": JSONArrayDecoder,
    "aws_eventstream": EventStreamDecoder,
    "aws_eventstream/sse": EventStreamSSEDecoder,
}


def checks(run: ModeRun) -> None:
    """Each recorded stream, its re-chunkings and the rows it exercises; a cut stream; emulation."""
    s = run.mode.stream
    assert s is not None
    ctype = CONTENT_TYPES.get(s.protocol, "text/event-stream")
    for t in run.by_kind.get("streams", ()):
        data = t.body()
        rng = random.Random(t.name)
        pieces = _cut(data, rng)
        params = {**run.base(), "stream": True}
        c = run.call(params, replies=[Reply.stream(data, ctype, pieces)])
        a = run.acall(params, [Reply.stream(data, ctype, _cut(data, rng))])
        if t.raises:
            failure = M.raised(t.raises, c.error) or M.raised(t.raises, a.error, "AsyncClient: ")
        elif c.error is not None:
            failure = f"raised {M.describe(c.error)}"
        elif a.error is not None:
            failure = f"AsyncClient raised {M.describe(a.error)}"
        else:
            acc = accumulate(c.value)
            diffs = M.diff(t.expect, acc)
            if not diffs:
                diffs = [f"AsyncClient: {d}" for d in M.diff(M.stable(acc), M.stable(accumulate(a.value)), exact=True)]
            failure = "; ".join(diffs[:4]) if diffs else None
        chunk_failure = None if t.raises else _rechunk(run, t, data)
        run.transcript_result("stream", t, failure)
        run.ledger.evidence(("stream_chunking",), t.label, chunk_failure)
        # which event rows this transcript exercised
        frames = _frames(s.protocol, data, s.decoder)
        for key in {_event_key(run, obj, event) for event, obj in frames} - {None}:
            run.ledger.evidence(("event", str(key)), t.label, failure)
        if t.raises and frames and isinstance(frames[-1][1], dict):
            row = row_for(run, _event_status(frames[-1][1]), frames[-1][1])
            if row is not None:
                run.ledger.evidence(("error", str(row)), t.label, failure)
        if not t.raises and "finish_reason" in t.expect:
            paths = [run.mode.finish_from] + [ev.finish for ev in s.events if ev.finish]
            fdetail = None
            if failure and c.error is None:
                got = accumulate(c.value).get("finish_reason")
                fdetail = None if got == t.expect["finish_reason"] else f"finish_reason: expected {M.show(t.expect['finish_reason'])}, received {M.show(got)}"
            elif failure:
                fdetail = failure
            finish_evidence(run, [o for _e, o in frames], [t.expect["finish_reason"]], t.label, fdetail, [p for p in paths if p])
        if not t.raises and c.error is None and isinstance(t.expect.get("usage"), dict):
            acc = accumulate(c.value)
            for key, src in run.mode.usage:
                usage_evidence(run, key, src, t, {"usage": acc.get("usage")})
    _check_cut(run, ctype)
    for path, values in s.emulate_when:
        _check_emulated(run, path, values)


def _check_emulated(run: ModeRun, path: tuple[str, ...], values: list[Any]) -> None:
    """A stream=True call the provider cannot stream goes out unstreamed (no stream flag, the
    plain endpoint) and the response comes back as the chunks of the same completion."""
    s = run.mode.stream
    assert s is not None
    params: dict[str, Any] = {**run.base(), "stream": True, "stream_options": {"include_usage": True}}
    target: dict[str, Any] = params
    for key in path[:-1]:
        target = target.setdefault(key, {})
    target[path[-1]] = values[0]
    plain = run.call({k: v for k, v in params.items() if k not in ("stream", "stream_options")})
    c = run.call(params)
    a = run.acall(params, [run.ok_reply])
    failure: str | None = None
    if c.error is not None or a.error is not None or plain.error is not None:
        failure = f"raised {M.describe(c.error or a.error or plain.error)}"
    elif c.received is None:
        failure = "nothing was sent"
    else:
        flag = M.get(c.body, list(s.flag)) if s.flag else M._MISSING
        if flag is True:
            failure = f"the request still sets {'.'.join(s.flag or ())} = true"
        elif c.received.path != (plain.received.path if plain.received else None):
            failure = f"sent to {c.received.path}, not the plain endpoint"
        elif c.body and "stream_options" in c.body:
            failure = "stream_options sent without a stream"
        else:
            want = plain.value.to_dict()
            acc = accumulate(c.value)
            got = {"content": acc["content"], "finish_reason": acc["finish_reason"], "usage": acc["usage"]}
            choice = (want.get("choices") or [{}])[0]
            expected = {"content": (choice.get("message") or {}).get("content"), "finish_reason": choice.get("finish_reason"), "usage": want.get("usage")}
            diffs = M.diff(expected, got, exact=True)
            if not diffs:
                diffs = [f"AsyncClient: {d}" for d in M.diff(M.stable(acc), M.stable(accumulate(a.value)), exact=True)]
            failure = "; ".join(diffs[:4]) if diffs else None
    run.ledger.self_check(("emulate", ".".join(path)), failure)


def _rechunk(run: ModeRun, t: Transcript, data: bytes) -> str | None:
    """Hypothesis: any cut of the recorded bytes gives the chunks the whole bytes give (25 cuts of
    the provider's own streams, 8 of a parent's)."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    parse = getattr(getattr(run.module, run.mode.name, None), "parse_stream", None)
    if parse is None:
        return None

    def chunks(pieces: list[bytes]) -> Any:
        return M.normalize([c.to_dict() for c in parse(iter(pieces), model=run.model)], data)

    try:
        whole = chunks([data])
    except E.LLMError as exc:
        return f"the whole transcript raised {M.describe(exc)}"
    failures: list[str] = []

    # a parent's recorded stream was cut 25 ways in the parent's own run, through the same decoder:
    # a child inheriting it cuts it fewer ways (a hundred children of openai share its streams)
    @settings(max_examples=8 if t.inherited else 25, derandomize=True, database=None, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(st.integers(0, max(0, len(data))), max_size=12))
    def prop(cuts: list[int]) -> None:
        points = sorted(set(cuts))
        pieces = [data[i:j] for i, j in zip([0, *points], [*points, len(data)], strict=True)]
        got = chunks(pieces)
        if got != whole:
            d = M.diff(whole, got, exact=True)
            failures.append(f"cut at {points}: {d[0] if d else 'differs'}")
            raise AssertionError

    try:
        prop()
    except AssertionError:
        pass
    except E.LLMError as exc:
        return f"a re-chunked transcript raised {M.describe(exc)}"
    return failures[-1] if failures else None


def _check_cut(run: ModeRun, ctype: str) -> None:
    t = next((t for t in run.by_kind.get("streams", ()) if not t.raises), None)
    if t is None:
        return
    data = t.body()
    half = data[: max(1, len(data) // 2)]
    c = run.call({**run.base(), "stream": True}, replies=[Reply.stream(half, ctype, [half], cut=True)])
    a = run.acall({**run.base(), "stream": True}, [Reply.stream(half, ctype, [half], cut=True)])
    fails = []
    for label, r in (("Client", c), ("AsyncClient", a)):
        if not isinstance(r.error, E.LLMError):
            fails.append(f"{label}: a stream cut in half: expected a typed error, received {M.describe(r.error) if r.error else 'a normal end'}")
    run.ledger.self_check(("stream_cut",), fails[0] if fails else None)


def _event_key(run: ModeRun, obj: Any, event: str) -> str | None:
    s = run.mode.stream
    assert s is not None
    if not s.events or not isinstance(obj, dict):
        return None
    parts: list[str] = []
    for level in s.dispatch:
        if level == "$event":
            parts.append(event)
            continue
        value = None
        for path in level:
            v = M.get(obj, list(path))
            if isinstance(v, str):
                value = v
                break
        if value is None:
            break
        parts.append(value)
    keys = {ev.key for ev in s.events}
    for n in range(len(parts), 0, -1):
        cand = "/".join(parts[:n])
        if cand in keys:
            return cand
    return "*" if "*" in keys else None


def _event_status(obj: Any) -> int | None:
    """The status a mid-stream error event carries, as the adapter reads it: a top-level
    ``status``, else a numeric ``error.code`` (Gemini); None when it has neither."""
    if not isinstance(obj, dict):
        return None
    if isinstance(obj.get("status"), int) and not isinstance(obj.get("status"), bool):
        return int(obj["status"])
    nested = M.get(obj, ["error", "code"])
    return nested if isinstance(nested, int) and not isinstance(nested, bool) and 100 <= nested <= 599 else None


def _cut(data: bytes, rng: random.Random) -> list[bytes]:
    points = sorted(rng.sample(range(1, len(data)), min(len(data) - 1, 8))) if len(data) > 1 else []
    return [data[i:j] for i, j in zip([0, *points], [*points, len(data)], strict=True)]


def _frames(protocol: str, data: bytes, decoder: str | None = None) -> list[tuple[str, Any]]:
    by_name = {cls.__name__: cls for cls in DECODERS.values()}
    dec = (by_name.get(decoder or "") or DECODERS.get(protocol, SSEDecoder))()
    out = []
    try:
        decoded = [*dec.feed(data), *dec.close()]
    except ValueError:  # a stream recorded broken on purpose (a bad checksum): no frames to attribute
        decoded = []
    for event, text in decoded:
        try:
            out.append((event, json.loads(text)))
        except ValueError:
            continue
    return out
