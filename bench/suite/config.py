"""Where things are, how many repetitions each mode makes, and the targets.

``FULL`` and ``QUICK`` are the two repetition plans (``--quick`` picks the second); they are
written to the results file under ``settings``.  ``TARGETS`` holds each target's limit and the
words that say what it compares; the sections turn them into ``Target`` rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent  # bench/
REPO = BENCH.parent

SECTIONS = ("import", "sync", "entry", "stream", "async", "build", "conform")

# name → (limit, how the value compares); values are ratios to the floor unless noted
TARGETS: dict[str, tuple[float, str]] = {
    "import": (1.3, "× httpx import (process start + import)"),
    "sync": (5.0, "% overhead over the raw httpx floor"),
    "entry": (5.0, "% overhead of completion() over Client.chat"),
    "router": (5.0, "% overhead of Router.completion over completion()"),
    "stream": (2.0, "× the raw httpx floor per delta"),
    "async": (1.5, "× the aiohttp floor (50 concurrent)"),
    "build_full": (2.0, "s wall, specgen build --force"),
    "build_noop": (0.3, "s wall, no-op rebuild"),
    "conform_full": (60.0, "s wall, specgen conform --all (parallel)"),
}


@dataclass(frozen=True)
class Settings:
    import_reps: int
    sync_rounds: int
    sync_calls: int
    litellm_sync_calls: int
    stream_rounds: int
    async_rounds: int
    async_batches: int
    build_reps: int
    conform_reps: int
    conform_timeout: float
    profile_calls: int


FULL = Settings(
    import_reps=30,
    sync_rounds=60,
    sync_calls=50,
    litellm_sync_calls=10,
    stream_rounds=20,
    async_rounds=12,
    async_batches=3,
    build_reps=5,
    conform_reps=2,
    conform_timeout=240.0,
    profile_calls=400,
)
QUICK = Settings(
    import_reps=3,
    sync_rounds=3,
    sync_calls=30,
    litellm_sync_calls=5,
    stream_rounds=3,
    async_rounds=3,
    async_batches=1,
    build_reps=1,
    conform_reps=1,
    conform_timeout=180.0,
    profile_calls=50,
)
