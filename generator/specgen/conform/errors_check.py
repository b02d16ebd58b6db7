"""The errors group: each row of the spec's error table raised, and retried, as declared.

:func:`checks` runs each recorded error body through the Client (the class the transcript names,
evidence for the row that applies to it); then, once per provider (under its first mode), sends
an error body made for each row and checks the class raised, that a retryable row is retried
(sync and async) and a non-retryable one is not, and that ``Retry-After`` is honoured.
:func:`row_for` says which row applies to a status and body, as the adapter decides it.

(Named ``errors_check`` rather than ``errors``: :mod:`specgen_runtime.errors` and
:mod:`specgen.spec.errors` are the exception modules.)
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from typing import Any

from specgen.build.ir import ErrorRowIR
from specgen.conform import match as M
from specgen.conform.fake import Reply
from specgen.conform.mode_run import ModeRun
from specgen_runtime import errors as E
from specgen_runtime import http as rt_http


def checks(run: ModeRun) -> None:
    """Each recorded error body; then (first mode only) each error-table row, its retries, Retry-After."""
    L, ir = run.ledger, run.ir
    for t in run.by_kind.get("errors", ()):
        reply = Reply(t.status, t.body(), {"content-type": "application/json", **t.headers})
        c = run.call(run.base(), replies=[reply])
        failure = M.raised(t.raises or "", c.error)
        run.transcript_result("errors", t, failure)
        row = row_for(run, t.status, t.body())
        if row is not None:
            L.evidence(("error", str(row)), t.label, failure)
    if run.mode is not run.ir.modes[0]:
        # the error table is the provider's: self-check it once, under the first mode
        for key in [k for k in L.decls if k[0] in ("error", "retry", "retry_after")]:
            if not L.decls[key].evidence:
                del L.decls[key]
        return
    statuses = {s for r in ir.error_rows for s in r.statuses}
    spare = next(s for s in (418, 422, 409, 451, 499, 599) if s not in statuses)
    for i, erow in enumerate(ir.error_rows):
        status = erow.statuses[0] if erow.statuses else spare
        reply = Reply(status, json.dumps(_error_body(run, erow)).encode(), {"content-type": "application/json"})
        c = run.call(run.base(), replies=[reply])
        L.self_check(("error", str(i)), M.raised(erow.cls, c.error))
        _check_retry(run, str(i), erow, reply)
    first_retry = next((i for i, r in enumerate(ir.error_rows) if r.retry), None)
    if first_retry is not None:
        rrow = ir.error_rows[first_retry]
        status = rrow.statuses[0] if rrow.statuses else spare
        reply = Reply(status, json.dumps(_error_body(run, rrow)).encode(), {"content-type": "application/json", "retry-after": "1"})
        with _clock() as slept:
            c = run.call(run.base(), replies=[reply, run.ok_reply], retries=1)
        waited = sum(slept)
        ok = len(run.fake.received) == 2 and waited >= 1.0
        L.self_check(("retry_after",), None if ok else f"Retry-After: 1 on {status}: expected a retry after ≥1 s, received {len(run.fake.received)} requests after waiting {waited:.2f} s")


@contextlib.contextmanager
def _clock() -> Iterator[list[float]]:
    """The waits the sync client asks for, recorded instead of slept: the Retry-After check reads
    how long the client would wait (1 s per provider adds up over a hundred providers)."""
    slept: list[float] = []

    class Clock:
        def __getattr__(self, name: str) -> Any:
            return getattr(time, name)

        @staticmethod
        def sleep(seconds: float) -> None:
            slept.append(seconds)

    namespace = vars(rt_http)  # the runtime's clients call ``time.sleep`` through this module global
    saved = namespace["time"]
    namespace["time"] = Clock()
    try:
        yield slept
    finally:
        namespace["time"] = saved


def _check_retry(run: ModeRun, key: str, row: ErrorRowIR, reply: Reply) -> None:
    fast = Reply(reply.status, reply.body, {**reply.headers, "retry-after-ms": "1"})
    c = run.call(run.base(), replies=[fast, fast, run.ok_reply], retries=2)
    n = len(run.fake.received)
    if row.retry:
        failure = None if n == 3 else f"retryable row: expected 3 requests (2 retries), received {n}"
        if failure is None:
            a = run.acall(run.base(), [fast, run.ok_reply], retries=1)
            if len(run.fake.received) != 2:
                failure = f"AsyncClient: expected 2 requests (1 retry), received {len(run.fake.received)} ({M.describe(a.error)})"
    else:
        failure = None if n == 1 and isinstance(c.error, E.LLMError) else f"non-retryable row: expected 1 request and an error, received {n}"
    run.ledger.self_check(("retry", key), failure)


def _error_body(run: ModeRun, row: ErrorRowIR) -> dict[str, Any]:
    body: dict[str, Any] = {}
    msg_path = run.ir.error_message_paths[0] if run.ir.error_message_paths else ("error", "message")
    M.set_at(body, ".".join(msg_path), f"conform: {row.match}" if row.match else "conform error")
    if row.code is not None:
        code_path = run.ir.error_code_paths[0] if run.ir.error_code_paths else ("error", "code")
        M.set_at(body, ".".join(code_path), row.code)
    return body


def row_for(run: ModeRun, status: int | None, raw: bytes | dict[str, Any]) -> int | None:
    """The error-table row the spec says applies (first match), as the adapter decides it."""
    try:
        body = json.loads(raw) if isinstance(raw, bytes) else raw
    except ValueError:
        body = None
    message = ""
    for path in run.ir.error_message_paths:
        v = M.get(body, list(path))
        if isinstance(v, str):
            message = v
            break
    code = None
    for path in run.ir.error_code_paths:
        v = M.get(body, list(path))
        if isinstance(v, str | int) and not isinstance(v, bool):
            code = str(v)
            break
    lowered = message.casefold()
    for i, row in enumerate(run.ir.error_rows):
        if row.statuses and status not in row.statuses:
            continue
        if row.match is not None and row.match.casefold() not in lowered:
            continue
        if row.code is not None and code != row.code:
            continue
        return i
    return None
