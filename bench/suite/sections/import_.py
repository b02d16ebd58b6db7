"""Section ``import``: process start + import, one fresh interpreter per sample.

Contenders: ``python -c pass`` (info), ``import httpx`` (the floor), ``import
specgen_providers.anthropic`` / ``.openai``, ``import specgen_providers`` alone (info: the
package lists every provider and imports none), ``import litellm``, and, when
``PYTHONDONTWRITEBYTECODE`` is set, the import as this environment runs it (info).
Target: each specgen import ≤ ``TARGETS["import"]`` × ``import httpx``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

from ..config import TARGETS, Settings
from ..measure import Row, Sample, child_cpu, fill_ratios, run_rounds
from ..report import Report, Target
from ..subproc import raw_env, sub_env
from ..workload import NA_LITELLM


def bench_import(report: Report, s: Settings, litellm_status: str | None) -> None:
    print("[import] process start + import (subprocess, medians)", flush=True)
    warm = sub_env()
    cases = [
        ("python -c pass", "info", "pass", warm),
        ("import httpx", "floor", "import httpx", warm),
        (
            "import specgen_providers.anthropic",
            "specgen",
            "import specgen_providers.anthropic",
            warm,
        ),
        ("import specgen_providers.openai", "specgen", "import specgen_providers.openai", warm),
        # the package alone, every built-in provider listed and none imported
        ("import specgen_providers (the package)", "info", "import specgen_providers", warm),
        ("import litellm", "litellm", "import litellm", warm),
    ]
    if os.environ.get("PYTHONDONTWRITEBYTECODE"):
        # how this environment runs it: the repo's modules have no bytecode cache and are
        # compiled from source at every start (an installed wheel ships its .pyc files)
        cases.append(
            (
                "import specgen_providers.anthropic (env as is)",
                "info",
                "import specgen_providers.anthropic",
                raw_env(),
            )
        )
    rows: list[tuple[Row, Callable[[], Sample]]] = []
    with tempfile.TemporaryDirectory(prefix="specgen-bench-") as cwd:

        def runner(code: str, env: dict[str, str]) -> Callable[[], Sample]:
            def fn() -> Sample:
                c0 = child_cpu()
                t0 = time.perf_counter()
                p = subprocess.run(
                    [sys.executable, "-c", code],
                    cwd=cwd,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                    timeout=120,
                )
                dt = time.perf_counter() - t0
                dc = child_cpu() - c0
                if p.returncode != 0:
                    raise RuntimeError(p.stderr.decode(errors="replace").strip().splitlines()[-1:])
                return dt * 1e3, dc * 1e3

            return fn

        for label, role, code, env in cases:
            row = report.add(Row("import", "-", label, role, "ms"))
            # one untimed run: warms the bytecode caches and tells whether it works at all
            p = subprocess.run(
                [sys.executable, "-c", code],
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                timeout=300,
            )
            if p.returncode != 0:
                last = (p.stderr.decode(errors="replace").strip().splitlines() or ["?"])[-1]
                if role == "litellm":
                    row.status = litellm_status or NA_LITELLM
                    if "No module named" not in last:
                        row.note = last[:200]
                else:
                    row.status = f"error: {last[:200]}"
                    report.errors.append(f"import/{label}: {last[:200]}")
                continue
            rows.append((row, runner(code, env)))
        run_rounds(report, s.import_reps, rows)
    fill_ratios(
        [r for r, _ in rows]
        + [r for r in report.rows if r.section == "import" and r.status != "ok"]
    )
    floor = next((r for r, _ in rows if r.role == "floor"), None)
    for row, _ in rows:
        if row.role == "specgen":
            report.targets.append(
                Target(
                    "import",
                    f"{row.contender} ≤ {TARGETS['import'][0]}× import httpx",
                    row.ratio_floor,
                    TARGETS["import"][0],
                    "×",
                    None
                    if row.ratio_floor is None or floor is None
                    else row.ratio_floor <= TARGETS["import"][0],
                    profile_hint={"module": row.contender.split()[-1]},
                )
            )
