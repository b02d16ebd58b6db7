"""Section ``conform``: wall time of ``specgen conform`` over every built-in spec.

Rows: ``conform --all`` (every provider checked, in parallel across the CPUs, into a private
cache folder) and the re-run right after, which the cache answers (only providers whose inputs
changed run again: here none). Target: ``conform --all`` ≤ ``TARGETS["conform_full"]`` s (median).
Skipped with a note when it exits non-zero or does not finish within the mode's timeout; a first
run slower than 90 s is the only sample.
"""

from __future__ import annotations

import subprocess
import tempfile
import time

from ..config import REPO, TARGETS, Settings
from ..measure import Row
from ..report import Report, Target, scrub_paths
from ..subproc import last_line, specgen_cmd, sub_env


def bench_conform(report: Report, s: Settings) -> None:
    print("[conform] specgen conform --all, then a cached re-run", flush=True)
    full = report.add(
        Row("conform", "-", "specgen conform --all (every spec, parallel)", "specgen", "s")
    )
    cached = report.add(
        Row("conform", "-", "specgen conform again (cached: nothing changed)", "info", "s")
    )
    with tempfile.TemporaryDirectory(prefix="specgen-bench-conform-") as cache:
        base = [*specgen_cmd(), "conform", "--specs", "specs", "--cache", cache]
        for i in range(s.conform_reps):
            for row, extra in ((full, ["--all"]), (cached, [])):
                if not _run(report, row, [*base, *extra], s.conform_timeout):
                    return
            if i == 0 and full.samples[0] > 90:
                break  # slow: one sample is enough to stay inside the time budget
    limit = TARGETS["conform_full"][0]
    med = full.median
    report.targets.append(
        Target(
            "conform_full",
            f"{full.contender} ≤ {limit:g} s",
            med,
            limit,
            "s",
            None if med is None else med <= limit,
            note=full.note,
        )
    )


def _run(report: Report, row: Row, cmd: list[str], timeout: float) -> bool:
    t0 = time.perf_counter()
    try:
        p = subprocess.run(
            cmd,
            cwd=str(REPO),
            env=sub_env(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        row.status = f"skipped: did not finish within {timeout:g} s"
        report.note(f"conform {row.status}")
        return False
    dt = time.perf_counter() - t0
    if p.returncode != 0:
        last = (p.stderr.decode(errors="replace").strip().splitlines() or [last_line(p.stdout)])[-1]
        row.status = f"skipped: `specgen conform` exited {p.returncode}"
        row.note = last[:300]
        report.note(f"conform {row.status}: {scrub_paths(last[:300])}")
        return False
    row.samples.append(dt)
    row.note = last_line(p.stdout)[:300]
    return True
