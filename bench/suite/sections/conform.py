"""Section ``conform``: wall time of ``specgen conform --specs specs`` (info, no target).

Skipped with a note when it exits non-zero or does not finish within the mode's timeout; a
first run slower than 30 s is the only sample.
"""

from __future__ import annotations

import subprocess
import time

from ..config import REPO, Settings
from ..measure import Row
from ..report import Report, scrub_paths
from ..subproc import last_line, specgen_cmd, sub_env


def bench_conform(report: Report, s: Settings) -> None:
    print("[conform] specgen conform", flush=True)
    cmd = [*specgen_cmd(), "conform", "--specs", "specs"]
    row = report.add(Row("conform", "-", "specgen conform (all specs)", "info", "s"))
    for i in range(s.conform_reps):
        t0 = time.perf_counter()
        try:
            p = subprocess.run(
                cmd,
                cwd=str(REPO),
                env=sub_env(),
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=s.conform_timeout,
            )
        except subprocess.TimeoutExpired:
            row.status = f"skipped: did not finish within {s.conform_timeout:g} s"
            report.note(f"conform {row.status}")
            return
        dt = time.perf_counter() - t0
        if p.returncode != 0:
            last = (
                p.stderr.decode(errors="replace").strip().splitlines() or [last_line(p.stdout)]
            )[-1]
            row.status = f"skipped: `specgen conform` exited {p.returncode}"
            row.note = last[:300]
            report.note(f"conform {row.status}: {scrub_paths(last[:300])}")
            return
        row.samples.append(dt)
        row.note = last_line(p.stdout)[:300]
        if i == 0 and dt > 30:
            break  # slow: one sample is enough to stay inside the time budget
