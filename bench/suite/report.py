"""Reporting: the run's record (rows, targets, notes, errors, diagnostics, profiles), the table
printed at the end, and the results file.

Nothing written out may carry a path of this machine: ``scrub_paths`` replaces them with
placeholders in every note, error and profile.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import workload
from .config import REPO, Settings

if TYPE_CHECKING:
    from .measure import Row


@dataclass
class Target:
    key: str  # import | sync | stream | async | build_full | build_noop
    label: str
    value: float | None
    limit: float
    unit: str
    met: bool | None
    note: str = ""
    profile_hint: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "label": self.label,
            "value": self.value,
            "limit": self.limit,
            "unit": self.unit,
            "met": self.met,
            "note": scrub_paths(self.note),
        }


@dataclass
class Report:
    settings: Settings
    quick: bool
    rows: list[Row] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    profiles: dict[str, str] = field(default_factory=dict)
    diagnostics: dict[str, Any] = field(default_factory=dict)

    def add(self, row: Row) -> Row:
        self.rows.append(row)
        return row

    def note(self, text: str) -> None:
        self.notes.append(text)
        print(f"  note: {text}", flush=True)

    def error(self, where: str, exc: BaseException) -> None:
        text = f"{where}: {type(exc).__name__}: {exc}"
        self.errors.append(text)
        print(f"  ERROR {text}", flush=True)
        tb = traceback.format_exc()
        if tb and "NoneType: None" not in tb:
            print("    " + "\n    ".join(tb.rstrip().splitlines()[-6:]), flush=True)


_PATH_RES: list[tuple[re.Pattern[str], str]] = []


def scrub_paths(text: str) -> str:
    """Replace this machine's paths with placeholders (results files must not carry them)."""
    if not text:
        return text
    if not _PATH_RES:
        repl = [
            (str(REPO), "<repo>"),
            (sys.prefix, "<venv>"),
            (sys.base_prefix, "<python>"),
            (tempfile.gettempdir(), "<tmp>"),
            (str(Path.home()), "<home>"),
        ]
        for raw, ph in sorted(repl, key=lambda x: -len(x[0])):
            if raw and raw != "/":
                _PATH_RES.append((re.compile(re.escape(raw)), ph))
        # any other absolute path: keep only its last component
        _PATH_RES.append((re.compile(r"(?<![\w<>])/(?:[\w.+-]+/)+([\w.+-]+)"), r"<path>/\1"))
    for pat, ph in _PATH_RES:
        text = pat.sub(ph, text)
    return text


# ---------------------------------------------------------------------------- the table


def _num(v: float | None, unit: str = "") -> str:
    if v is None:
        return "-"
    if unit == "s":
        return f"{v:.3f} s"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    if abs(v) >= 100:
        return f"{v:.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def print_table(report: Report) -> None:
    print()
    head = (
        f"{'section':<8} {'case':<10} {'contender':<45} {'median':>12} {'unit':<10} {'× floor':>8} "
        f"{'cpu× floor':>10} {'× LiteLLM':>20}"
    )
    print(head)
    print("-" * len(head))
    ll_status: dict[tuple[str, str], str] = {}
    for r in report.rows:
        if r.role == "litellm":
            ll_status[(r.section, r.case)] = r.status
    last = None
    for r in report.rows:
        if last is not None and (r.section, r.case) != last:
            print()
        last = (r.section, r.case)
        if r.status == "ok":
            med = _num(r.median, r.unit)
            unit = "" if r.unit == "s" else r.unit
        else:
            med, unit = r.status if len(r.status) <= 40 else r.status[:37] + "...", ""
        rf = "-" if r.ratio_floor is None else f"{r.ratio_floor:.2f}×"
        if r.role == "litellm":
            rl = ""
        elif r.ratio_litellm is not None:
            rl = f"{r.ratio_litellm:.2f}×"
        else:
            st = ll_status.get((r.section, r.case))
            rl = st if st and st != "ok" else "-"
        if r.status != "ok":
            print(f"{r.section:<8} {r.case:<10} {r.contender:<45} {med}")
        else:
            cf = "-" if r.cpu_ratio_floor is None else f"{r.cpu_ratio_floor:.2f}×"
            print(
                f"{r.section:<8} {r.case:<10} {r.contender:<45} {med:>12} {unit:<10} {rf:>8} {cf:>10} {rl:>20}"
            )
    print()
    print("targets" + (" (quick mode: reported, not asserted)" if report.quick else ""))
    for t in report.targets:
        if t.value is None:
            val = "-"
        elif t.unit == "%":
            val = f"{t.value:+.1f}%"
        elif t.unit == "s":
            val = f"{t.value:.3f} s"
        else:
            val = f"{t.value:.2f}×"
        mark = "n/a" if t.met is None else ("met" if t.met else "MISSED")
        extra = f"  ({scrub_paths(t.note)})" if t.note else ""
        print(f"  [{mark:^6}] {t.label:<62} {val:>10}{extra}")
    if report.notes:
        print()
        for n in report.notes:
            print(f"note: {scrub_paths(n)}")


def print_profiles(report: Report) -> None:
    for label, text in report.profiles.items():
        print()
        print(f"=== profile: {label}")
        print(text)


# ---------------------------------------------------------------------------- results file


def load_average() -> float | None:
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else None


def environment() -> dict[str, Any]:
    def version(mod: str) -> str | None:
        try:
            from importlib.metadata import version as v

            return v(mod)
        except Exception:
            return None

    git: dict[str, Any] = {}
    with contextlib.suppress(Exception):
        git["commit"] = (
            subprocess.run(
                ["git", "rev-parse", "--short", "HEAD"],
                cwd=str(REPO),
                capture_output=True,
                timeout=10,
            )
            .stdout.decode()
            .strip()
        )
        dirty = (
            subprocess.run(
                ["git", "status", "--porcelain"], cwd=str(REPO), capture_output=True, timeout=10
            )
            .stdout.decode()
            .strip()
        )
        git["dirty"] = bool(dirty)
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(terse=True),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "PYTHONDONTWRITEBYTECODE_set": bool(os.environ.get("PYTHONDONTWRITEBYTECODE")),
        "subprocess_bytecode": "private warm cache (PYTHONPYCACHEPREFIX in a temporary folder)",
        "versions": {
            m: version(m) for m in ("specgen", "specgen-providers", "httpx", "httpcore", "h11", "aiohttp", "litellm")
        },
        "git": git,
    }


def results(
    report: Report, started: float, elapsed: float, load_start: float | None
) -> dict[str, Any]:
    """The results file's content (see "Results file" in bench/README.md)."""
    return {
        "schema": 1,
        "mode": "quick" if report.quick else "full",
        "started_unix": round(started, 3),
        "duration_s": round(elapsed, 2),
        "environment": environment(),
        "settings": report.settings.__dict__,
        "workload": workload.summary(),
        "rows": [r.to_json() for r in report.rows],
        "targets": [t.to_json() for t in report.targets],
        "notes": [scrub_paths(n) for n in report.notes],
        "errors": [scrub_paths(e) for e in report.errors],
        "diagnostics": {
            **report.diagnostics,
            "load_average_start": load_start,
            "load_average_end": load_average(),
        },
        "profiles": report.profiles,
    }


def write_results(path: Path, data: dict[str, Any]) -> str:
    """Write the results file; returns how to name it (relative to the repo when inside it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    try:
        return str(path.resolve().relative_to(REPO))
    except ValueError:
        return str(path)
