"""Section ``build``: ``specgen build`` of every built-in spec, seconds of subprocess wall time.

Rows: a build into an empty folder (info), ``build --force`` over an existing output (every
spec re-rendered), and a no-op rebuild right after.  Targets: ``build --force`` ≤
``TARGETS["build_full"]`` s and the no-op rebuild ≤ ``TARGETS["build_noop"]`` s (medians).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from ..config import REPO, TARGETS, Settings
from ..measure import Row, child_cpu
from ..report import Report, Target
from ..subproc import last_line, specgen_cmd, sub_env


def bench_build(report: Report, s: Settings) -> None:
    print(f"[build] specgen build of specs/*.yaml, {s.build_reps} reps", flush=True)
    cmd = specgen_cmd()
    specs = "specs"  # relative to the repo root, like the checked-in output's headers
    cold = report.add(Row("build", "-", "build into an empty folder (info)", "info", "s"))
    full = report.add(Row("build", "-", "build --force (full)", "specgen", "s"))
    noop = report.add(Row("build", "-", "build again (no-op rebuild)", "specgen", "s"))
    summaries: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="specgen-bench-") as tmp:
        out = Path(tmp) / "specgen_providers"

        def run(extra: list[str], row: Row) -> None:
            c0 = child_cpu()
            t0 = time.perf_counter()
            p = subprocess.run(
                [*cmd, "build", "--specs", specs, "--out", str(out), *extra],
                cwd=str(REPO),
                env=sub_env(),
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=300,
            )
            dt = time.perf_counter() - t0
            if p.returncode != 0:
                last = (p.stderr.decode(errors="replace").strip().splitlines() or ["?"])[-1]
                raise RuntimeError(f"exit {p.returncode}: {last}")
            row.samples.append(dt)
            row.cpu.append(child_cpu() - c0)
            summaries[row.contender] = last_line(p.stdout)

        try:
            # untimed: fills the private bytecode cache for the build's imports
            warm = Row("build", "-", "warm-up", "info", "s")
            run([], warm)
            for _ in range(s.build_reps):
                shutil.rmtree(out, ignore_errors=True)
                run([], cold)
                run(["--force"], full)
                run([], noop)
        except Exception as exc:
            for row in (cold, full, noop):
                if not row.samples:
                    row.status = f"error: {exc}"[:300]
            report.error("build", exc)
    for row in (cold, full, noop):
        row.note = summaries.get(row.contender, "")
    for key, row in (("build_full", full), ("build_noop", noop)):
        limit = TARGETS[key][0]
        med = row.median
        report.targets.append(
            Target(
                key,
                f"{row.contender} ≤ {limit:g} s",
                med,
                limit,
                "s",
                None if med is None else med <= limit,
                note=row.note,
            )
        )
