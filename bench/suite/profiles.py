"""Profiles of the targets: cProfile for the runtime sections (sync, stream, async),
``-X importtime`` for imports, both for builds.

Full mode profiles every missed target, ``--profile`` every target.  Profile lines are per
operation (µs per call, per delta, per request) and name files relative to their package;
``run_profiles`` stores the text, scrubbed of paths, in ``report.profiles``.
"""

from __future__ import annotations

import asyncio
import cProfile
import pstats
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from .config import REPO, Settings
from .report import Report, scrub_paths
from .server import FakeServer
from .subproc import sub_env
from .workload import CONCURRENCY, DELTAS, KEY, MAX_TOKENS, MESSAGES, MODELS, adapter, base_url


def _short(filename: str) -> str:
    """A file name relative to its package root (no machine paths)."""
    f = filename.replace("\\", "/")
    if f.startswith("<"):
        return f
    for marker in ("/site-packages/", "/generator/", "/generated/"):
        i = f.rfind(marker)
        if i >= 0:
            return f[i + len(marker) :]
    m = re.search(r"/lib/python3\.\d+/(.*)$", f)
    return m.group(1) if m else Path(f).name


def _fmt_stats(prof: cProfile.Profile | pstats.Stats, per: int, title: str, top: int = 22) -> str:
    """Top functions by own time and by cumulative time, in µs per operation (no paths)."""
    st = prof if isinstance(prof, pstats.Stats) else pstats.Stats(prof)
    raw: dict[Any, Any] = st.stats  # type: ignore[attr-defined]
    rows = []
    for (filename, line, func), (_cc, nc, tt, ct, _callers) in raw.items():
        name = f"{_short(filename)}:{line}({func})" if filename != "~" else func
        rows.append((name, nc, tt, ct))
    out = [f"--- {title} (per operation, {per} operations profiled) ---"]
    out.append(f"{'own µs/op':>10} {'cum µs/op':>10} {'calls/op':>9}  function")
    for name, nc, tt, ct in sorted(rows, key=lambda r: -r[2])[:top]:
        out.append(f"{tt / per * 1e6:10.1f} {ct / per * 1e6:10.1f} {nc / per:9.1f}  {name}")
    out.append("  by cumulative time, specgen code only:")
    sg_rows = [r for r in rows if r[0].startswith(("specgen/", "specgen_providers/", "specgen_runtime/"))]
    for name, nc, tt, ct in sorted(sg_rows, key=lambda r: -r[3])[:top]:
        out.append(f"{tt / per * 1e6:10.1f} {ct / per * 1e6:10.1f} {nc / per:9.1f}  {name}")
    return "\n".join(out)


def _importtime(code: str, cwd: str, reps: int = 5) -> dict[str, tuple[float, float]]:
    """module → (median self µs, median cumulative µs) from -X importtime."""
    acc: dict[str, list[tuple[int, int]]] = {}
    subprocess.run(  # untimed: fills the bytecode cache
        [sys.executable, "-c", code], cwd=cwd, env=sub_env(), capture_output=True, timeout=120
    )
    for _ in range(reps):
        p = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", code],
            cwd=cwd,
            env=sub_env(),
            capture_output=True,
            timeout=120,
            stdin=subprocess.DEVNULL,
        )
        for line in p.stderr.decode(errors="replace").splitlines():
            m = re.match(r"import time:\s+(\d+)\s+\|\s+(\d+)\s+\|(\s*)(\S+)", line)
            if m:
                acc.setdefault(m.group(4), []).append((int(m.group(1)), int(m.group(2))))
    return {
        mod: (statistics.median(v[0] for v in vals), statistics.median(v[1] for v in vals))
        for mod, vals in acc.items()
    }


def profile_import(module: str) -> str:
    with tempfile.TemporaryDirectory(prefix="specgen-bench-") as cwd:
        base = _importtime("import httpx", cwd)
        mine = _importtime(f"import {module}", cwd)
    extra = {m: v for m, v in mine.items() if m not in base}
    total_extra = sum(v[0] for v in extra.values())
    total = sum(v[0] for v in mine.values())
    total_base = sum(v[0] for v in base.values())
    out = [
        f"--- -X importtime: import {module} vs import httpx (median of 5) ---",
        f"sum of self times: {module} {total / 1e3:.1f} ms, httpx {total_base / 1e3:.1f} ms; "
        f"{len(extra)} modules imported beyond httpx's, {total_extra / 1e3:.1f} ms self time",
        "modules beyond httpx's, by self time:",
        f"{'self µs':>9} {'cum µs':>9}  module",
    ]
    for mod, (st, ct) in sorted(extra.items(), key=lambda kv: -kv[1][0])[:25]:
        out.append(f"{st:9.0f} {ct:9.0f}  {mod}")
    top = [m for m in extra if m.split(".")[0] in ("specgen", "specgen_providers", "specgen_runtime")]
    out.append("specgen's own modules, by cumulative time:")
    for mod in sorted(top, key=lambda m: -extra[m][1])[:12]:
        out.append(f"{extra[mod][0]:9.0f} {extra[mod][1]:9.0f}  {mod}")
    return "\n".join(out)


def profile_sync(fmt: str, server: FakeServer, n: int) -> str:
    mod = adapter(fmt)
    with mod.Client(api_key=KEY, base_url=base_url(fmt, server.url)) as c:
        for _ in range(20):
            c.chat(model=MODELS[fmt], messages=MESSAGES, max_tokens=MAX_TOKENS)
        prof = cProfile.Profile()
        prof.enable()
        for _ in range(n):
            c.chat(model=MODELS[fmt], messages=MESSAGES, max_tokens=MAX_TOKENS)
        prof.disable()
    return _fmt_stats(prof, n, f"cProfile: specgen {fmt} Client.chat (non-streaming)")


def profile_stream(fmt: str, server: FakeServer, n: int) -> str:
    mod = adapter(fmt)
    streams = max(2, n // 100)
    with mod.Client(api_key=KEY, base_url=base_url(fmt, server.url)) as c:
        for _ in c.chat(model=MODELS[fmt], messages=MESSAGES, max_tokens=MAX_TOKENS, stream=True):
            pass
        prof = cProfile.Profile()
        prof.enable()
        for _ in range(streams):
            for _chunk in c.chat(
                model=MODELS[fmt], messages=MESSAGES, max_tokens=MAX_TOKENS, stream=True
            ):
                pass
        prof.disable()
    return _fmt_stats(
        prof, streams * DELTAS, f"cProfile: specgen {fmt} stream, per delta ({streams} streams)"
    )


def profile_async(fmt: str, server: FakeServer, n: int) -> str:
    mod = adapter(fmt)
    batches = max(2, n // CONCURRENCY)

    async def go() -> cProfile.Profile:
        c = mod.AsyncClient(api_key=KEY, base_url=base_url(fmt, server.url))
        try:
            for _ in range(2):
                await asyncio.gather(
                    *(
                        c.chat(model=MODELS[fmt], messages=MESSAGES, max_tokens=MAX_TOKENS)
                        for _ in range(CONCURRENCY)
                    )
                )
            prof = cProfile.Profile()
            prof.enable()
            for _ in range(batches):
                await asyncio.gather(
                    *(
                        c.chat(model=MODELS[fmt], messages=MESSAGES, max_tokens=MAX_TOKENS)
                        for _ in range(CONCURRENCY)
                    )
                )
            prof.disable()
            return prof
        finally:
            await c.aclose()

    prof = asyncio.run(go())
    return _fmt_stats(
        prof,
        batches * CONCURRENCY,
        f"cProfile: specgen {fmt} AsyncClient.chat @{CONCURRENCY}, per request",
    )


def profile_build(force: bool) -> str:
    with tempfile.TemporaryDirectory(prefix="specgen-bench-") as tmp:
        out = Path(tmp) / "specgen_providers"
        args = ["build", "--specs", "specs", "--out", str(out)]
        subprocess.run(
            [sys.executable, "-m", "specgen", *args],
            cwd=str(REPO),
            env=sub_env(),
            capture_output=True,
            timeout=300,
        )
        pfile = Path(tmp) / "build.prof"
        extra = ["--force"] if force else []
        p = subprocess.run(
            [sys.executable, "-m", "cProfile", "-o", str(pfile), "-m", "specgen", *args, *extra],
            cwd=str(REPO),
            env=sub_env(),
            capture_output=True,
            timeout=300,
        )
        if p.returncode != 0 or not pfile.exists():
            return f"(profiling the build failed: exit {p.returncode})"
        st = pstats.Stats(str(pfile))
        text = _fmt_stats(
            st,
            1,
            f"cProfile: specgen build{' --force' if force else ' (no-op)'}, one run, µs",
            top=25,
        )
        imp = _importtime_run(
            [sys.executable, "-X", "importtime", "-m", "specgen", *args, *extra], str(REPO)
        )
    return text + "\n" + imp


def _importtime_run(cmd: list[str], cwd: str) -> str:
    p = subprocess.run(cmd, cwd=cwd, env=sub_env(), capture_output=True, timeout=300)
    rows = []
    for line in p.stderr.decode(errors="replace").splitlines():
        m = re.match(r"import time:\s+(\d+)\s+\|\s+(\d+)\s+\|(\s*)(\S+)", line)
        if m:
            rows.append((int(m.group(1)), int(m.group(2)), len(m.group(3)), m.group(4)))
    total = sum(r[0] for r in rows)
    out = [
        f"--- -X importtime of the same command: {total / 1e3:.0f} ms in imports; top-level imports by cumulative µs ---"
    ]
    for _st, ct, _depth, mod in sorted((r for r in rows if r[2] <= 2), key=lambda r: -r[1])[:12]:
        out.append(f"{ct:9d}  {mod}")
    return "\n".join(out)


def run_profiles(report: Report, server: FakeServer | None, s: Settings, everything: bool) -> None:
    wanted = [t for t in report.targets if everything or t.met is False]
    if not wanted:
        return
    print("[profile] " + ", ".join(t.label for t in wanted), flush=True)
    for t in wanted:
        try:
            if t.key == "import":
                text = profile_import(t.profile_hint["module"])
            elif t.key == "sync" and server is not None:
                text = profile_sync(t.profile_hint["fmt"], server, s.profile_calls)
            elif t.key == "stream" and server is not None:
                text = profile_stream(t.profile_hint["fmt"], server, s.profile_calls)
            elif t.key == "async" and server is not None:
                text = profile_async(t.profile_hint["fmt"], server, s.profile_calls)
            elif t.key == "build_full":
                text = profile_build(force=True)
            elif t.key == "build_noop":
                text = profile_build(force=False)
            else:
                continue
        except Exception as exc:
            report.error(f"profile {t.label}", exc)
            continue
        report.profiles[t.label] = scrub_paths(text)
