"""Section ``async``: 50 concurrent chat calls (``asyncio.gather``), ms per batch, in both
wire formats.

Contenders: one ``aiohttp.ClientSession`` (the floor; needs ``aiohttp``), raw
``httpx.AsyncClient`` (info), specgen ``AsyncClient.chat``, ``litellm.acompletion``.
Connections opened per batch go to the diagnostics.  Target: specgen ≤ ``TARGETS["async"]`` ×
the aiohttp floor (not measured without aiohttp).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import time
from collections.abc import Callable
from typing import Any

from payloads import FORMATS

from ..config import TARGETS, Settings
from ..measure import Row, Sample, fill_ratios, run_rounds
from ..report import Report, Target
from ..server import FakeServer, conn_delta
from ..workload import (
    CONCURRENCY,
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


def bench_async(
    report: Report, s: Settings, server: FakeServer, litellm: Any, ll_status: str | None
) -> None:
    print(
        f"[async] {CONCURRENCY} concurrent requests per batch, {s.async_batches} batches per sample, "
        f"{s.async_rounds} rounds",
        flush=True,
    )
    aiohttp: Any
    try:
        import aiohttp
    except ImportError:
        aiohttp = None
    import httpx

    try:
        import sniffio  # noqa: F401
    except ImportError:
        report.diagnostics["sniffio importable"] = False
        report.note(
            "sniffio is not installed: httpcore's async pool retries `import sniffio` (a failing import, "
            "not cached) on every request, which costs the httpx-based async rows"
        )
    else:
        report.diagnostics["sniffio importable"] = True

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    closers: list[Callable[[], Any]] = []
    try:
        for fmt in FORMATS:
            wire = wire_request(fmt, server.url, stream=False)
            want = expected_text(fmt)
            mod = adapter(fmt)
            floor = report.add(
                Row("async", fmt, "aiohttp ClientSession (floor)", "floor", "ms/50 req")
            )
            hx = report.add(Row("async", fmt, "raw httpx.AsyncClient (info)", "info", "ms/50 req"))
            sg = report.add(Row("async", fmt, "specgen AsyncClient.chat", "specgen", "ms/50 req"))
            ll = report.add(Row("async", fmt, "litellm.acompletion", "litellm", "ms/50 req"))

            async def setup(mod: Any = mod, fmt: str = fmt) -> tuple[Any, Any, Any]:
                session = None
                if aiohttp is not None:
                    session = aiohttp.ClientSession(
                        connector=aiohttp.TCPConnector(limit=100),
                        timeout=aiohttp.ClientTimeout(total=60),
                    )
                hxc = httpx.AsyncClient(timeout=30.0)
                sgc = mod.AsyncClient(api_key=KEY, base_url=base_url(fmt, server.url))
                return session, hxc, sgc

            session, hxc, sgc = loop.run_until_complete(setup())
            if session is not None:
                closers.append(session.close)
            closers.append(hxc.aclose)
            closers.append(sgc.aclose)

            async def aio_one(w: Wire = wire, sess: Any = session) -> Any:
                async with sess.post(w.url, data=dumps(w.body), headers=w.headers) as r:
                    if r.status >= 400:
                        raise RuntimeError(f"HTTP {r.status}")
                    return json.loads(await r.read())

            async def hx_one(w: Wire = wire, c: Any = hxc) -> Any:
                r = await c.post(w.url, content=dumps(w.body), headers=w.headers)
                if r.status_code >= 400:
                    raise RuntimeError(f"HTTP {r.status_code}")
                return json.loads(r.content)

            async def sg_one(c: Any = sgc, m: str = MODELS[fmt]) -> Any:
                return await c.chat(model=m, messages=MESSAGES, max_tokens=MAX_TOKENS)

            def batches(one: Callable[[], Any]) -> Callable[[], Sample]:
                async def go() -> Sample:
                    c0 = time.process_time()
                    t0 = time.perf_counter()
                    for _ in range(s.async_batches):
                        await asyncio.gather(*(one() for _ in range(CONCURRENCY)))
                    t1 = time.perf_counter()
                    c1 = time.process_time()
                    return (t1 - t0) / s.async_batches * 1e3, (c1 - c0) / s.async_batches * 1e3

                return lambda: loop.run_until_complete(go())

            def check(
                one: Callable[[], Any], text_of: Callable[[Any], str], want: str = want
            ) -> None:
                async def go() -> list[Any]:
                    out = []
                    for _ in range(3):  # warm: opens the pool's connections
                        out = await asyncio.gather(*(one() for _ in range(CONCURRENCY)))
                    return out

                outs = loop.run_until_complete(go())
                got = {text_of(o) for o in outs}
                if got != {want}:
                    raise RuntimeError(f"unexpected reply text {sorted(got)[:2]!r}")

            def conns(one: Callable[[], Any]) -> dict[str, float]:
                async def go() -> None:
                    await asyncio.gather(*(one() for _ in range(CONCURRENCY)))

                return conn_delta(server, lambda: loop.run_until_complete(go()), 3)

            contenders: list[tuple[Row, Callable[[], Sample]]] = []
            diag: dict[str, Any] = {}
            native = functools.partial(native_text, fmt)
            plan: list[tuple[Row, Any, Callable[[Any], str], str]] = [
                (hx, hx_one, native, "httpx"),
                (sg, sg_one, completion_text, "specgen"),
            ]
            if aiohttp is None:
                floor.status = "n/a (aiohttp not installed)"
            else:
                plan.insert(0, (floor, aio_one, native, "aiohttp"))
            if litellm is None:
                ll.status = ll_status or NA_LITELLM
            else:
                kw = litellm_kwargs(fmt, server.url)

                async def ll_one(kw: dict[str, Any] = kw) -> Any:
                    return await litellm.acompletion(**kw)

                plan.append((ll, ll_one, completion_text, "litellm"))
            for row, one, text_of, name in plan:
                try:
                    check(one, text_of)
                    diag[name] = conns(one)
                    contenders.append((row, batches(one)))
                except Exception as exc:
                    row.status = f"error: {type(exc).__name__}: {exc}"[:300]
                    report.error(f"async/{fmt}/{name}", exc)
            report.diagnostics[f"async/{fmt}/connections per batch of {CONCURRENCY}"] = diag
            run_rounds(report, s.async_rounds, contenders)
            fill_ratios([floor, hx, sg, ll])
            if floor.status == "ok":
                report.targets.append(
                    Target(
                        "async",
                        f"async {fmt}: specgen ≤ {TARGETS['async'][0]:g}× the aiohttp floor @{CONCURRENCY}",
                        sg.ratio_floor,
                        TARGETS["async"][0],
                        "×",
                        None if sg.ratio_floor is None else sg.ratio_floor <= TARGETS["async"][0],
                        profile_hint={"fmt": fmt},
                    )
                )
            else:
                report.targets.append(
                    Target(
                        "async",
                        f"async {fmt}: specgen ≤ {TARGETS['async'][0]:g}× the aiohttp floor @{CONCURRENCY}",
                        None,
                        TARGETS["async"][0],
                        "×",
                        None,
                        note="not measured: aiohttp is not installed (pip install aiohttp)",
                    )
                )
    finally:

        async def close_all() -> None:
            for close in closers:
                with contextlib.suppress(Exception):
                    await close()

        loop.run_until_complete(close_all())
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
        asyncio.set_event_loop(None)
