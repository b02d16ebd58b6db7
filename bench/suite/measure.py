"""The measurement core: rows of samples, rounds, medians, paired ratios and CPU time.

A ``Row`` is one contender of one section and case; a *sampler* is a function that runs the
contender once and returns ``(wall, cpu)`` per unit.  ``run_rounds`` measures every contender
of a section once per round, rotating the order; ``fill_ratios`` then sets each row's ratios
to the floor (and to LiteLLM) as medians of the per-round ratios, which keeps them stable when
the machine's load drifts.
"""

from __future__ import annotations

import gc
import resource
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .report import scrub_paths

if TYPE_CHECKING:
    from .report import Report

Sample = tuple[float, float]  # (wall, cpu) per unit


@dataclass
class Row:
    section: str
    case: str  # the wire format, or "-" when it does not apply
    contender: str  # label shown in the table
    role: str  # floor | specgen | litellm | info
    unit: str
    # wall time per unit, and this process's (or the child's) CPU time per unit
    samples: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    status: str = "ok"  # ok | n/a (...) | error: ...
    note: str = ""
    ratio_floor: float | None = None  # median over rounds of (this / floor) in the same round
    ratio_litellm: float | None = None  # median over rounds of (this / litellm) in the same round
    cpu_ratio_floor: float | None = None  # the same paired median, on CPU time

    @property
    def cpu_median(self) -> float | None:
        return statistics.median(self.cpu) if self.cpu and self.status == "ok" else None

    @property
    def median(self) -> float | None:
        return statistics.median(self.samples) if self.samples and self.status == "ok" else None

    def to_json(self) -> dict[str, Any]:
        return {
            "section": self.section,
            "case": self.case,
            "contender": self.contender,
            "role": self.role,
            "unit": self.unit,
            "status": self.status,
            "note": scrub_paths(self.note),
            "median": self.median,
            "min": min(self.samples) if self.samples and self.status == "ok" else None,
            "max": max(self.samples) if self.samples and self.status == "ok" else None,
            "n": len(self.samples),
            "ratio_to_floor": self.ratio_floor,
            "ratio_to_litellm": self.ratio_litellm,
            "cpu_median": self.cpu_median,
            "cpu_ratio_to_floor": self.cpu_ratio_floor,
            "samples": [round(s, 4) for s in self.samples],
            "cpu_samples": [round(s, 4) for s in self.cpu],
        }


def paired_median(a: list[float], b: list[float]) -> float | None:
    pairs = [x / y for x, y in zip(a, b, strict=False) if y > 0]
    return statistics.median(pairs) if pairs else None


def run_rounds(
    report: Report, rounds: int, contenders: list[tuple[Row, Callable[[], Sample]]]
) -> None:
    """Measure every live contender once per round, rotating the order each round; a contender
    that raises is marked as an error and dropped from the later rounds."""
    live = [(row, fn) for row, fn in contenders if row.status == "ok"]
    for r in range(rounds):
        k = r % len(live) if live else 0
        for row, fn in live[k:] + live[:k]:
            if row.status != "ok":
                continue
            gc.collect()
            try:
                wall, cpu = fn()
                row.samples.append(wall)
                row.cpu.append(cpu)
            except Exception as exc:
                row.status = f"error: {type(exc).__name__}: {exc}"[:300]
                report.error(f"{row.section}/{row.case}/{row.contender}", exc)


def fill_ratios(rows: list[Row]) -> None:
    floor = next((r for r in rows if r.role == "floor" and r.status == "ok"), None)
    ll = next((r for r in rows if r.role == "litellm" and r.status == "ok"), None)
    for row in rows:
        if row.status != "ok":
            continue
        if floor is not None and row is not floor:
            row.ratio_floor = paired_median(row.samples, floor.samples)
            row.cpu_ratio_floor = paired_median(row.cpu, floor.cpu)
        elif row is floor:
            row.ratio_floor = 1.0
            row.cpu_ratio_floor = 1.0 if row.cpu else None
        if ll is not None and row is not ll:
            row.ratio_litellm = paired_median(row.samples, ll.samples)


def timer(fn: Callable[[], Any], units: float, scale: float) -> Callable[[], Sample]:
    """A sampler: run ``fn`` once; wall and process CPU time divided by ``units``, times ``scale``."""

    def sample() -> Sample:
        c0 = time.process_time()
        t0 = time.perf_counter()
        fn()
        t1 = time.perf_counter()
        c1 = time.process_time()
        return (t1 - t0) / units * scale, (c1 - c0) / units * scale

    return sample


def child_cpu() -> float:
    """User + system CPU time of the finished child processes so far (for subprocess rows)."""
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime
