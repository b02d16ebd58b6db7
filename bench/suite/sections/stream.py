"""Section ``stream``: a 2,000-delta SSE stream, µs per content delta, in both wire formats.

Contenders: raw ``httpx`` ``iter_lines`` + ``json.loads`` of every ``data:`` line (the floor),
specgen ``Client.chat(stream=True)``, ``litellm.completion(stream=True)``; each must yield
the exact text of the 2,000 deltas first.  Connections opened per stream go to the
diagnostics.  Target: specgen ≤ ``TARGETS["stream"]`` × the floor per delta.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from payloads import FORMATS, stream_payload

from ..config import TARGETS, Settings
from ..measure import Row, Sample, fill_ratios, run_rounds, timer
from ..report import Report, Target
from ..server import FakeServer, conn_delta
from ..workload import (
    DELTAS,
    KEY,
    MAX_TOKENS,
    MESSAGES,
    MODELS,
    NA_LITELLM,
    Wire,
    adapter,
    base_url,
    chunk_text,
    dumps,
    litellm_kwargs,
    wire_request,
)


def bench_stream(
    report: Report, s: Settings, server: FakeServer, litellm: Any, ll_status: str | None
) -> None:
    import httpx

    print(f"[stream] {DELTAS}-delta SSE stream, {s.stream_rounds} rounds", flush=True)
    for fmt in FORMATS:
        payload = stream_payload(fmt, DELTAS)
        wire = wire_request(fmt, server.url, stream=True)
        mod = adapter(fmt)
        floor_client = httpx.Client(timeout=30.0)
        sg_client = mod.Client(api_key=KEY, base_url=base_url(fmt, server.url))
        n_events = len(payload.events)

        def floor_stream(c: httpx.Client = floor_client, w: Wire = wire) -> int:
            n = 0
            with c.stream("POST", w.url, content=dumps(w.body), headers=w.headers) as r:
                if r.status_code >= 400:
                    raise RuntimeError(f"HTTP {r.status_code}")
                for line in r.iter_lines():
                    if line.startswith("data:"):
                        data = line[5:].strip()
                        if data != "[DONE]":
                            json.loads(data)
                            n += 1
            return n

        def sg_stream(c: Any = sg_client, m: str = MODELS[fmt]) -> str:
            parts = []
            for chunk in c.chat(model=m, messages=MESSAGES, max_tokens=MAX_TOKENS, stream=True):
                parts.append(chunk)
            return "".join(chunk_text(p) for p in parts) if parts else ""

        def sg_stream_fast(c: Any = sg_client, m: str = MODELS[fmt]) -> None:
            for _chunk in c.chat(model=m, messages=MESSAGES, max_tokens=MAX_TOKENS, stream=True):
                pass

        floor = report.add(
            Row("stream", fmt, "raw httpx iter_lines + json.loads (floor)", "floor", "µs/delta")
        )
        sg = report.add(
            Row("stream", fmt, "specgen Client.chat(stream=True)", "specgen", "µs/delta")
        )
        ll = report.add(
            Row("stream", fmt, "litellm.completion(stream=True)", "litellm", "µs/delta")
        )

        def per_delta(fn: Callable[[], Any]) -> Callable[[], Sample]:
            return timer(fn, DELTAS, 1e6)

        contenders: list[tuple[Row, Callable[[], Sample]]] = []
        diag: dict[str, Any] = {}
        try:
            got = floor_stream()
            if got < DELTAS:
                raise RuntimeError(f"floor saw {got} data lines, expected ≥ {DELTAS}")
            diag["floor"] = conn_delta(server, floor_stream, 3)
            contenders.append((floor, per_delta(floor_stream)))
        except Exception as exc:
            floor.status = f"error: {type(exc).__name__}: {exc}"[:300]
            report.error(f"stream/{fmt}/floor", exc)
        try:
            text = sg_stream()
            if text != payload.text:
                raise RuntimeError(
                    f"specgen stream text differs from the payload ({len(text)} vs {len(payload.text)} chars)"
                )
            diag["specgen"] = conn_delta(server, sg_stream_fast, 3)
            contenders.append((sg, per_delta(sg_stream_fast)))
        except Exception as exc:
            sg.status = f"error: {type(exc).__name__}: {exc}"[:300]
            report.error(f"stream/{fmt}/specgen", exc)
        if litellm is None:
            ll.status = ll_status or NA_LITELLM
        else:
            kw = dict(litellm_kwargs(fmt, server.url), stream=True)

            def ll_stream(kw: dict[str, Any] = kw) -> str:
                return "".join(chunk_text(c) for c in litellm.completion(**kw))

            try:
                text = ll_stream()
                if text != payload.text:
                    raise RuntimeError(
                        f"litellm stream text differs ({len(text)} vs {len(payload.text)} chars)"
                    )
                diag["litellm"] = conn_delta(server, ll_stream, 2)
                contenders.append((ll, per_delta(ll_stream)))
            except Exception as exc:
                ll.status = f"error: {type(exc).__name__}: {exc}"[:300]
                report.error(f"stream/{fmt}/litellm", exc)
        report.diagnostics[f"stream/{fmt}/connections"] = diag
        report.diagnostics[f"stream/{fmt}/events"] = n_events
        run_rounds(report, s.stream_rounds, contenders)
        fill_ratios([floor, sg, ll])
        floor_client.close()
        sg_client.close()
        report.targets.append(
            Target(
                "stream",
                f"stream {fmt}: specgen ≤ {TARGETS['stream'][0]:g}× the raw floor per delta",
                sg.ratio_floor,
                TARGETS["stream"][0],
                "×",
                None if sg.ratio_floor is None else sg.ratio_floor <= TARGETS["stream"][0],
                profile_hint={"fmt": fmt},
            )
        )
