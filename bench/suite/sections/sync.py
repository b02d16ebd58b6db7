"""Section ``sync``: one non-streaming chat call, µs per call, in both wire formats.

Contenders: raw ``httpx.Client.post`` replaying specgen's request (the floor),
``httpx.Client.send(Request)`` (info: the tightest httpx path), specgen ``Client.chat``,
``litellm.completion``.  Target: specgen's overhead over the floor ≤ ``TARGETS["sync"]`` %.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

from payloads import FORMATS

from ..config import TARGETS, Settings
from ..measure import Row, Sample, fill_ratios, paired_median, run_rounds, timer
from ..report import Report, Target
from ..server import FakeServer
from ..workload import (
    KEY,
    MAX_TOKENS,
    MESSAGES,
    MODELS,
    NA_LITELLM,
    Wire,
    adapter,
    base_url,
    completion_text,
    dumps,
    expected_text,
    litellm_kwargs,
    native_text,
    wire_request,
)


def bench_sync(
    report: Report, s: Settings, server: FakeServer, litellm: Any, ll_status: str | None
) -> None:
    import httpx

    print(
        f"[sync] non-streaming chat, {s.sync_calls} calls per sample, {s.sync_rounds} rounds",
        flush=True,
    )
    for fmt in FORMATS:
        wire = wire_request(fmt, server.url, stream=False)
        want = expected_text(fmt)
        mod = adapter(fmt)
        floor_client = httpx.Client(timeout=30.0)
        send_client = httpx.Client(timeout=30.0)
        sg_client = mod.Client(api_key=KEY, base_url=base_url(fmt, server.url))

        def floor_call(c: httpx.Client = floor_client, w: Wire = wire) -> Any:
            r = c.post(w.url, content=dumps(w.body), headers=w.headers)
            if r.status_code >= 400:
                raise RuntimeError(f"HTTP {r.status_code}")
            return json.loads(r.content)

        def send_call(c: httpx.Client = send_client, w: Wire = wire) -> Any:
            r = c.send(httpx.Request("POST", w.url, content=dumps(w.body), headers=w.headers))
            if r.status_code >= 400:
                raise RuntimeError(f"HTTP {r.status_code}")
            return json.loads(r.content)

        def sg_call(c: Any = sg_client, m: str = MODELS[fmt]) -> Any:
            return c.chat(model=m, messages=MESSAGES, max_tokens=MAX_TOKENS)

        floor = report.add(Row("sync", fmt, "raw httpx.Client.post (floor)", "floor", "µs/call"))
        send = report.add(
            Row("sync", fmt, "raw httpx.Client.send(Request) (info)", "info", "µs/call")
        )
        sg = report.add(Row("sync", fmt, "specgen Client.chat", "specgen", "µs/call"))
        ll = report.add(Row("sync", fmt, "litellm.completion", "litellm", "µs/call"))
        contenders: list[tuple[Row, Callable[[], Sample]]] = []

        def repeat(call: Callable[[], Any], n: int) -> Callable[[], None]:
            def fn() -> None:
                for _ in range(n):
                    call()

            return fn

        # warm up and check each contender returns the fixture's answer
        native = functools.partial(native_text, fmt)
        for row, call, check in (
            (floor, floor_call, native),
            (send, send_call, native),
            (sg, sg_call, completion_text),
        ):
            try:
                for _ in range(20):
                    out = call()
                got = check(out)
                if got != want:
                    raise RuntimeError(f"unexpected reply text {got!r}")
                contenders.append((row, timer(repeat(call, s.sync_calls), s.sync_calls, 1e6)))
            except Exception as exc:
                row.status = f"error: {type(exc).__name__}: {exc}"[:300]
                report.error(f"sync/{fmt}/{row.contender}", exc)
        if litellm is None:
            ll.status = ll_status or NA_LITELLM
        else:
            kw = litellm_kwargs(fmt, server.url)

            def ll_call(kw: dict[str, Any] = kw) -> Any:
                return litellm.completion(**kw)

            try:
                for _ in range(5):
                    out = ll_call()
                got = completion_text(out)
                if got != want:
                    raise RuntimeError(f"unexpected reply text {got!r}")
                n = s.litellm_sync_calls
                contenders.append((ll, timer(repeat(ll_call, n), n, 1e6)))
            except Exception as exc:
                ll.status = f"error: {type(exc).__name__}: {exc}"[:300]
                report.error(f"sync/{fmt}/litellm", exc)
        run_rounds(report, s.sync_rounds, contenders)
        fill_ratios([floor, send, sg, ll])
        for c in (floor_client, send_client):
            c.close()
        sg_client.close()
        over = None if sg.ratio_floor is None else (sg.ratio_floor - 1.0) * 100.0
        tight = paired_median(sg.samples, send.samples) if send.status == "ok" else None
        report.targets.append(
            Target(
                "sync",
                f"sync {fmt}: specgen overhead ≤ {TARGETS['sync'][0]:g}% over raw httpx",
                over,
                TARGETS["sync"][0],
                "%",
                None if over is None else over <= TARGETS["sync"][0],
                note=""
                if tight is None
                else f"vs httpx.Client.send(Request): {(tight - 1) * 100:+.1f}%",
                profile_hint={"fmt": fmt},
            )
        )
