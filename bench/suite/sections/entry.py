"""Section ``entry``: what the one entry point and the Router add to a call, µs per call.

Per wire format, against the same fake provider: specgen ``Client.chat`` (the baseline here, as
the floor of this section), ``specgen_providers.completion(model="provider/model", ...)`` (model
resolution, the client pool) and ``Router.completion`` over an alias of two deployments (picking
one, the result wrapped with the deployment). Targets: completion() ≤ ``TARGETS["entry"]`` % over
``Client.chat``; the router ≤ ``TARGETS["router"]`` % over completion().
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..config import TARGETS, Settings
from ..measure import Row, Sample, fill_ratios, paired_median, run_rounds, timer
from ..report import Report, Target
from ..server import FakeServer
from ..workload import (
    KEY,
    MAX_TOKENS,
    MESSAGES,
    MODELS,
    adapter,
    base_url,
    completion_text,
    expected_text,
)

FORMATS = ("anthropic", "openai")


def bench_entry(
    report: Report, s: Settings, server: FakeServer, litellm: Any, ll_status: str | None
) -> None:
    import specgen_providers

    print(
        f"[entry] completion() and Router vs Client.chat, {s.sync_calls} calls per sample, {s.sync_rounds} rounds",
        flush=True,
    )
    for fmt in FORMATS:
        want = expected_text(fmt)
        mod = adapter(fmt)
        url = base_url(fmt, server.url)
        model = MODELS[fmt]
        full = f"{fmt}/{model}"
        client = mod.Client(api_key=KEY, base_url=url)
        router = specgen_providers.Router(
            model_list=[
                {
                    "model_name": "bench",
                    "litellm_params": {"model": full, "api_key": KEY, "api_base": url},
                },
                {
                    "model_name": "bench",
                    "litellm_params": {"model": full, "api_key": KEY, "api_base": url, "weight": 1},
                },
            ]
        )

        def chat_call(c: Any = client, m: str = model) -> Any:
            return c.chat(model=m, messages=MESSAGES, max_tokens=MAX_TOKENS)

        def completion_call(m: str = full, u: str = url) -> Any:
            return specgen_providers.completion(
                model=m, messages=MESSAGES, max_tokens=MAX_TOKENS, api_key=KEY, api_base=u
            )

        def router_call(r: Any = router) -> Any:
            return r.completion(model="bench", messages=MESSAGES, max_tokens=MAX_TOKENS)

        base = report.add(Row("entry", fmt, "specgen Client.chat (baseline)", "floor", "µs/call"))
        comp = report.add(Row("entry", fmt, "specgen_providers.completion()", "specgen", "µs/call"))
        rout = report.add(
            Row("entry", fmt, "Router.completion (2 deployments)", "specgen", "µs/call")
        )

        def repeat(call: Callable[[], Any], n: int) -> Callable[[], None]:
            def fn() -> None:
                for _ in range(n):
                    call()

            return fn

        contenders: list[tuple[Row, Callable[[], Sample]]] = []
        for row, call in ((base, chat_call), (comp, completion_call), (rout, router_call)):
            try:
                for _ in range(20):
                    out = call()
                got = completion_text(out)
                if got != want:
                    raise RuntimeError(f"unexpected reply text {got!r}")
                contenders.append((row, timer(repeat(call, s.sync_calls), s.sync_calls, 1e6)))
            except Exception as exc:
                row.status = f"error: {type(exc).__name__}: {exc}"[:300]
                report.error(f"entry/{fmt}/{row.contender}", exc)
        run_rounds(report, s.sync_rounds, contenders)
        fill_ratios([base, comp, rout])
        client.close()
        over = None if comp.ratio_floor is None else (comp.ratio_floor - 1.0) * 100.0
        report.targets.append(
            Target(
                "entry",
                f"entry {fmt}: completion() overhead ≤ {TARGETS['entry'][0]:g}% over Client.chat",
                over,
                TARGETS["entry"][0],
                "%",
                None if over is None else over <= TARGETS["entry"][0],
            )
        )
        paired = (
            paired_median(rout.samples, comp.samples)
            if rout.status == "ok" and comp.status == "ok"
            else None
        )
        router_over = None if paired is None else (paired - 1.0) * 100.0
        report.targets.append(
            Target(
                "entry",
                f"entry {fmt}: Router overhead ≤ {TARGETS['router'][0]:g}% over completion()",
                router_over,
                TARGETS["router"][0],
                "%",
                None if router_over is None else router_over <= TARGETS["router"][0],
            )
        )
