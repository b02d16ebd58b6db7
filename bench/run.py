#!/usr/bin/env python
"""specgen benchmark suite: one command, loopback only, medians with in-run ratios.

    python bench/run.py [--quick] [--json PATH] [--only SECTION ...] [--no-profile | --profile]

Run it with the project's virtualenv interpreter (the one that has specgen
installed).  Sections (see bench/README.md for what every row means):

  import   process start + import: specgen adapters vs httpx vs litellm
  sync     non-streaming chat: raw httpx floor vs specgen Client.chat vs litellm
  entry    completion() and Router.completion vs Client.chat (what the one entry point adds)
  stream   a 2,000-delta SSE stream: raw httpx iter_lines floor vs specgen vs litellm
  async    50 concurrent requests: aiohttp floor vs specgen AsyncClient vs litellm
  build    `specgen build` of every built-in spec: full (--force) and no-op rebuild
  conform  `specgen conform` wall time (skipped with a note when it does not run)

All HTTP goes to an out-of-process fake provider (bench/fakeserver.py) on
127.0.0.1, so the server never shares the GIL with the client being measured.

This file is the entry point only: the command line, the order of the run and the
exit status.  The work is done in bench/suite/ (its __init__ lists the modules), one
module per section under bench/suite/sections/.

Exit status: 0 when every section ran (and, in full mode, every target was met);
1 when a target was missed (full mode only; --no-assert turns this off);
2 when a section failed to run.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
if str(BENCH) not in sys.path:  # run as a script this is already so; imported, maybe not
    sys.path.insert(0, str(BENCH))

from suite.config import FULL, QUICK, SECTIONS  # noqa: E402
from suite.profiles import run_profiles  # noqa: E402
from suite.report import (  # noqa: E402
    Report,
    load_average,
    print_profiles,
    print_table,
    results,
    write_results,
)
from suite.sections.async_ import bench_async  # noqa: E402
from suite.sections.build import bench_build  # noqa: E402
from suite.sections.conform import bench_conform  # noqa: E402
from suite.sections.entry import bench_entry  # noqa: E402
from suite.sections.import_ import bench_import  # noqa: E402
from suite.sections.stream import bench_stream  # noqa: E402
from suite.sections.sync import bench_sync  # noqa: E402
from suite.server import FakeServer  # noqa: E402
from suite.subproc import private_bytecode_cache  # noqa: E402
from suite.workload import DELTAS, load_litellm  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="specgen benchmarks (loopback)")
    ap.add_argument("--quick", action="store_true", help="few repetitions, no timing assertions")
    ap.add_argument("--json", default=str(BENCH / "results" / "latest.json"), help="results file")
    ap.add_argument("--only", nargs="+", choices=SECTIONS, help="run only these sections")
    ap.add_argument(
        "--profile",
        action="store_true",
        help="profile every target (default: missed ones, full mode)",
    )
    ap.add_argument("--no-profile", action="store_true", help="do not profile missed targets")
    ap.add_argument("--no-assert", action="store_true", help="exit 0 even when a target is missed")
    args = ap.parse_args(argv)

    s = QUICK if args.quick else FULL
    sections = set(args.only or SECTIONS)
    report = Report(settings=s, quick=args.quick)
    started = time.time()
    t0 = time.perf_counter()
    print(
        f"specgen bench ({'quick' if args.quick else 'full'} mode), python {platform.python_version()}, {os.cpu_count()} CPUs",
        flush=True,
    )

    load0 = load_average()
    if load0 is not None and load0 > 0.5:
        report.note(
            f"the machine is busy before the run (1-min load average {load0:.2f}): wall times are noisy; "
            "ratios are paired per round and the cpu× column uses this process's CPU time"
        )
    pycache = private_bytecode_cache()
    if os.environ.get("PYTHONDONTWRITEBYTECODE"):
        report.note(
            "PYTHONDONTWRITEBYTECODE is set here, so the repo's modules have no .pyc; measured "
            "subprocesses use a private warm bytecode cache instead (see the 'env as is' import row)"
        )
    litellm, ll_status = load_litellm()
    if litellm is None:
        report.note(f"LiteLLM: {ll_status}; its rows are not measured")

    if "import" in sections:
        try:
            bench_import(report, s, ll_status)
        except Exception as exc:
            report.error("import", exc)

    server: FakeServer | None = None
    try:
        if sections & {"sync", "entry", "stream", "async"}:
            server = FakeServer(DELTAS, ttl=900.0 if not args.quick else 300.0)
            print(f"fake server up (pid {server.proc.pid}, port {server.port})", flush=True)
            for name, fn in (
                ("sync", bench_sync),
                ("entry", bench_entry),
                ("stream", bench_stream),
                ("async", bench_async),
            ):
                if name in sections:
                    try:
                        fn(report, s, server, litellm, ll_status)
                    except Exception as exc:
                        report.error(name, exc)
        if "build" in sections:
            try:
                bench_build(report, s)
            except Exception as exc:
                report.error("build", exc)
        if "conform" in sections:
            try:
                bench_conform(report, s)
            except Exception as exc:
                report.error("conform", exc)

        print_table(report)

        if not args.no_profile and (args.profile or not args.quick):
            run_profiles(report, server, s, everything=args.profile)
    finally:
        if server is not None:
            server.stop()
            report.diagnostics["fake server requests served"] = server.served
        pycache.cleanup()

    print_profiles(report)

    elapsed = time.perf_counter() - t0
    shown = write_results(Path(args.json), results(report, started, elapsed, load0))
    print()
    print(f"results written to {shown}; total {elapsed:.1f} s")

    if report.errors:
        return 2
    missed = [t for t in report.targets if t.met is False]
    if missed and not args.quick and not args.no_assert:
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
