#!/usr/bin/env python
"""specgen benchmark suite: one command, loopback only, medians with in-run ratios.

    python bench/run.py [--quick] [--json PATH] [--only SECTION ...] [--no-profile | --profile]

Run it with the project's virtualenv interpreter (the one that has specgen
installed).  Sections (see bench/README.md for what every row means):

  import   process start + import: specgen adapters vs httpx vs litellm
  sync     non-streaming chat: raw httpx floor vs specgen Client.chat vs litellm
  stream   a 2,000-delta SSE stream: raw httpx iter_lines floor vs specgen vs litellm
  async    50 concurrent requests: aiohttp floor vs specgen AsyncClient vs litellm
  build    `specgen build` of every built-in spec: full (--force) and no-op rebuild
  conform  `specgen conform` wall time (skipped with a note when it does not run)

All HTTP goes to an out-of-process fake provider (bench/fakeserver.py) on
127.0.0.1, so the server never shares the GIL with the client being measured.

Exit status: 0 when every section ran (and, in full mode, every target was met);
1 when a target was missed (full mode only; --no-assert turns this off);
2 when a section failed to run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import functools
import gc
import http.client
import json
import os
import platform
import pstats
import re
import resource
import selectors
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

from payloads import FORMATS, response_body, stream_payload  # noqa: E402

KEY = "sk-bench-0000-not-a-real-key"
MODELS = {"anthropic": "claude-sonnet-4-5", "openai": "gpt-4o"}
LITELLM_MODELS = {"anthropic": "anthropic/claude-sonnet-4-5", "openai": "openai/gpt-4o"}
MESSAGES = [
    {"role": "system", "content": "You are a terse assistant."},
    {"role": "user", "content": "Say hello."},
]
MAX_TOKENS = 256
DELTAS = 2000
CONCURRENCY = 50
NA_LITELLM = "n/a (not installed)"
SECTIONS = ("import", "sync", "stream", "async", "build", "conform")

# name → (limit, how the value compares); values are ratios to the floor unless noted
TARGETS: dict[str, tuple[float, str]] = {
    "import": (1.3, "× httpx import (process start + import)"),
    "sync": (5.0, "% overhead over the raw httpx floor"),
    "stream": (2.0, "× the raw httpx floor per delta"),
    "async": (1.5, "× the aiohttp floor (50 concurrent)"),
    "build_full": (2.0, "s wall, specgen build --force"),
    "build_noop": (0.3, "s wall, no-op rebuild"),
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
    conform_reps=3,
    conform_timeout=180.0,
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
    conform_timeout=60.0,
    profile_calls=50,
)


# ---------------------------------------------------------------------------- results


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


def paired_median(a: list[float], b: list[float]) -> float | None:
    pairs = [x / y for x, y in zip(a, b, strict=False) if y > 0]
    return statistics.median(pairs) if pairs else None


Sample = tuple[float, float]  # (wall, cpu) per unit


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


# ---------------------------------------------------------------------------- fake server


class FakeServer:
    """bench/fakeserver.py in a child process; stops when we close its stdin (or on its TTL)."""

    def __init__(self, deltas: int, ttl: float) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                str(BENCH / "fakeserver.py"),
                "--deltas",
                str(deltas),
                "--ttl",
                str(ttl),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=str(REPO),
        )
        assert self.proc.stdout is not None
        line = _readline(self.proc.stdout, timeout=30.0)
        if not line.startswith(b"PORT "):
            self.stop()
            raise RuntimeError(f"fake server did not start (said {line!r})")
        self.port = int(line.split()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self.served: int | None = None

    def stats(self) -> dict[str, int]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request("GET", "/stats")
            data: dict[str, int] = json.loads(conn.getresponse().read())
            return data
        finally:
            conn.close()

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(OSError):
                assert self.proc.stdin is not None
                self.proc.stdin.close()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=15)
        if self.proc.stdout is not None:
            with contextlib.suppress(OSError, ValueError):
                tail = self.proc.stdout.read().decode(errors="replace")
                m = re.search(r"SERVED (\d+)", tail)
                self.served = int(m.group(1)) if m else None
                self.proc.stdout.close()


def _readline(stream: Any, timeout: float) -> bytes:
    sel = selectors.DefaultSelector()
    sel.register(stream, selectors.EVENT_READ)
    buf = b""
    deadline = time.monotonic() + timeout
    try:
        while not buf.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0 or not sel.select(left):
                break
            ch = os.read(stream.fileno(), 1)
            if not ch:
                break
            buf += ch
    finally:
        sel.close()
    return buf.strip()


# ---------------------------------------------------------------------------- helpers


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


_SUB_ENV: dict[str, str] = {}


def sub_env() -> dict[str, str]:
    """The environment of every measured subprocess: a private, warm bytecode cache.

    ``PYTHONPYCACHEPREFIX`` points at a temporary folder (so nothing is written beside
    the sources) and ``PYTHONDONTWRITEBYTECODE`` is dropped, so that after one untimed
    run every module (httpx's and specgen's alike) loads from bytecode, as it does from
    an installed wheel.
    """
    return _SUB_ENV or _raw_env()


def _raw_env() -> dict[str, str]:
    env = dict(os.environ, LITELLM_LOCAL_MODEL_COST_MAP="True")
    env.pop("PYTHONPROFILEIMPORTTIME", None)
    return env


def child_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def adapter(fmt: str) -> Any:
    if fmt == "anthropic":
        from specgen_providers import anthropic

        return anthropic
    from specgen_providers import openai

    return openai


def base_url(fmt: str, server: str) -> str:
    # anthropic: the adapter appends /v1/messages; openai: the OpenAI SDK meaning (…/v1)
    return server if fmt == "anthropic" else server + "/v1"


@dataclass
class Wire:
    url: str
    headers: dict[str, str]
    body: dict[str, Any]  # the provider-native JSON body specgen sends


def wire_request(fmt: str, server: str, stream: bool) -> Wire:
    """The exact request specgen sends (URL, headers, JSON body), for the floor to replay."""
    params: dict[str, Any] = {"model": MODELS[fmt], "messages": MESSAGES, "max_tokens": MAX_TOKENS}
    if stream:
        params["stream"] = True
    req = adapter(fmt).chat.build_request(params, api_key=KEY, base_url=base_url(fmt, server))
    headers = {k: v for k, v in req.headers.items() if k.lower() not in ("host", "content-length")}
    body = json.loads(req.content)
    if dumps(body) != req.content:
        raise RuntimeError("could not reproduce specgen's request body byte for byte")
    return Wire(str(req.url), headers, body)


def expected_text(fmt: str) -> str:
    data = json.loads(response_body(fmt))
    if fmt == "anthropic":
        return "".join(b.get("text", "") for b in data["content"] if b.get("type") == "text")
    return str(data["choices"][0]["message"]["content"])


def load_litellm() -> tuple[Any, str | None]:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no network fetch at import
    try:
        import litellm
    except ImportError:
        return None, NA_LITELLM
    except Exception as exc:  # a broken install counts as not installed
        return None, f"{NA_LITELLM[:-1]}: import failed with {type(exc).__name__})"
    for attr, value in (
        ("telemetry", False),
        ("suppress_debug_info", True),
        ("set_verbose", False),
    ):
        if hasattr(litellm, attr):
            with contextlib.suppress(Exception):
                setattr(litellm, attr, value)
    return litellm, None


def litellm_kwargs(fmt: str, server: str) -> dict[str, Any]:
    return {
        "model": LITELLM_MODELS[fmt],
        "messages": MESSAGES,
        "max_tokens": MAX_TOKENS,
        "api_key": KEY,
        "api_base": base_url(fmt, server),
    }


def chunk_text(chunk: Any) -> str:
    """Delta text of an OpenAI-shaped chunk (a specgen WireView or a litellm object)."""
    if hasattr(chunk, "to_dict"):
        d = chunk.to_dict()
        if isinstance(d, dict) and "choices" in d:
            choices = d.get("choices") or []
            return "".join((c.get("delta") or {}).get("content") or "" for c in choices)
    choices = getattr(chunk, "choices", None) or []
    out = ""
    for c in choices:
        delta = getattr(c, "delta", None)
        out += getattr(delta, "content", None) or ""
    return out


def completion_text(resp: Any) -> str:
    if hasattr(resp, "to_dict"):
        d = resp.to_dict()
        if isinstance(d, dict) and "choices" in d:
            return str(d["choices"][0]["message"].get("content") or "")
    return str(resp.choices[0].message.content or "")


def native_text(fmt: str, data: dict[str, Any]) -> str:
    if fmt == "anthropic":
        return "".join(
            b.get("text", "") for b in data.get("content", []) if b.get("type") == "text"
        )
    return str(data["choices"][0]["message"]["content"])


# ---------------------------------------------------------------------------- 1. import


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
                _raw_env(),
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


# ---------------------------------------------------------------------------- 2. sync


def bench_sync(
    report: Report, s: Settings, server: FakeServer, litellm: Any, ll_status: str | None
) -> None:
    import httpx

    print(
        f"[sync] non-streaming chat, {s.sync_calls} calls per sample, {s.sync_rounds} rounds",
        flush=True,
    )
    for fmt in FORMATS:
        wire = wire_request(fmt, server.url, stream=False)
        want = expected_text(fmt)
        mod = adapter(fmt)
        floor_client = httpx.Client(timeout=30.0)
        send_client = httpx.Client(timeout=30.0)
        sg_client = mod.Client(api_key=KEY, base_url=base_url(fmt, server.url))

        def floor_call(c: httpx.Client = floor_client, w: Wire = wire) -> Any:
            r = c.post(w.url, content=dumps(w.body), headers=w.headers)
            if r.status_code >= 400:
                raise RuntimeError(f"HTTP {r.status_code}")
            return json.loads(r.content)

        def send_call(c: httpx.Client = send_client, w: Wire = wire) -> Any:
            r = c.send(httpx.Request("POST", w.url, content=dumps(w.body), headers=w.headers))
            if r.status_code >= 400:
                raise RuntimeError(f"HTTP {r.status_code}")
            return json.loads(r.content)

        def sg_call(c: Any = sg_client, m: str = MODELS[fmt]) -> Any:
            return c.chat(model=m, messages=MESSAGES, max_tokens=MAX_TOKENS)

        floor = report.add(Row("sync", fmt, "raw httpx.Client.post (floor)", "floor", "µs/call"))
        send = report.add(
            Row("sync", fmt, "raw httpx.Client.send(Request) (info)", "info", "µs/call")
        )
        sg = report.add(Row("sync", fmt, "specgen Client.chat", "specgen", "µs/call"))
        ll = report.add(Row("sync", fmt, "litellm.completion", "litellm", "µs/call"))
        contenders: list[tuple[Row, Callable[[], Sample]]] = []

        def repeat(call: Callable[[], Any], n: int) -> Callable[[], None]:
            def fn() -> None:
                for _ in range(n):
                    call()

            return fn

        # warm up and check each contender returns the fixture's answer
        native = functools.partial(native_text, fmt)
        for row, call, check in (
            (floor, floor_call, native),
            (send, send_call, native),
            (sg, sg_call, completion_text),
        ):
            try:
                for _ in range(20):
                    out = call()
                got = check(out)
                if got != want:
                    raise RuntimeError(f"unexpected reply text {got!r}")
                contenders.append((row, timer(repeat(call, s.sync_calls), s.sync_calls, 1e6)))
            except Exception as exc:
                row.status = f"error: {type(exc).__name__}: {exc}"[:300]
                report.error(f"sync/{fmt}/{row.contender}", exc)
        if litellm is None:
            ll.status = ll_status or NA_LITELLM
        else:
            kw = litellm_kwargs(fmt, server.url)

            def ll_call(kw: dict[str, Any] = kw) -> Any:
                return litellm.completion(**kw)

            try:
                for _ in range(5):
                    out = ll_call()
                got = completion_text(out)
                if got != want:
                    raise RuntimeError(f"unexpected reply text {got!r}")
                n = s.litellm_sync_calls
                contenders.append((ll, timer(repeat(ll_call, n), n, 1e6)))
            except Exception as exc:
                ll.status = f"error: {type(exc).__name__}: {exc}"[:300]
                report.error(f"sync/{fmt}/litellm", exc)
        run_rounds(report, s.sync_rounds, contenders)
        fill_ratios([floor, send, sg, ll])
        for c in (floor_client, send_client):
            c.close()
        sg_client.close()
        over = None if sg.ratio_floor is None else (sg.ratio_floor - 1.0) * 100.0
        tight = paired_median(sg.samples, send.samples) if send.status == "ok" else None
        report.targets.append(
            Target(
                "sync",
                f"sync {fmt}: specgen overhead ≤ {TARGETS['sync'][0]:g}% over raw httpx",
                over,
                TARGETS["sync"][0],
                "%",
                None if over is None else over <= TARGETS["sync"][0],
                note=""
                if tight is None
                else f"vs httpx.Client.send(Request): {(tight - 1) * 100:+.1f}%",
                profile_hint={"fmt": fmt},
            )
        )


# ---------------------------------------------------------------------------- 3. stream


def _conn_delta(server: FakeServer, fn: Callable[[], Any], times: int) -> dict[str, float]:
    """Requests and new connections the server saw while ``fn`` ran ``times`` times."""
    before = server.stats()
    for _ in range(times):
        fn()
    after = server.stats()
    req = after["requests"] - before["requests"] - 1  # minus the /stats request itself
    conns = after["connections"] - before["connections"] - 1
    return {
        "requests": req,
        "new_connections": conns,
        "new_connections_per_request": round(conns / max(req, 1), 3),
    }


def bench_stream(
    report: Report, s: Settings, server: FakeServer, litellm: Any, ll_status: str | None
) -> None:
    import httpx

    print(f"[stream] {DELTAS}-delta SSE stream, {s.stream_rounds} rounds", flush=True)
    for fmt in FORMATS:
        payload = stream_payload(fmt, DELTAS)
        wire = wire_request(fmt, server.url, stream=True)
        mod = adapter(fmt)
        floor_client = httpx.Client(timeout=30.0)
        sg_client = mod.Client(api_key=KEY, base_url=base_url(fmt, server.url))
        n_events = len(payload.events)

        def floor_stream(c: httpx.Client = floor_client, w: Wire = wire) -> int:
            n = 0
            with c.stream("POST", w.url, content=dumps(w.body), headers=w.headers) as r:
                if r.status_code >= 400:
                    raise RuntimeError(f"HTTP {r.status_code}")
                for line in r.iter_lines():
                    if line.startswith("data:"):
                        data = line[5:].strip()
                        if data != "[DONE]":
                            json.loads(data)
                            n += 1
            return n

        def sg_stream(c: Any = sg_client, m: str = MODELS[fmt]) -> str:
            parts = []
            for chunk in c.chat(model=m, messages=MESSAGES, max_tokens=MAX_TOKENS, stream=True):
                parts.append(chunk)
            return "".join(chunk_text(p) for p in parts) if parts else ""

        def sg_stream_fast(c: Any = sg_client, m: str = MODELS[fmt]) -> None:
            for _chunk in c.chat(model=m, messages=MESSAGES, max_tokens=MAX_TOKENS, stream=True):
                pass

        floor = report.add(
            Row("stream", fmt, "raw httpx iter_lines + json.loads (floor)", "floor", "µs/delta")
        )
        sg = report.add(
            Row("stream", fmt, "specgen Client.chat(stream=True)", "specgen", "µs/delta")
        )
        ll = report.add(
            Row("stream", fmt, "litellm.completion(stream=True)", "litellm", "µs/delta")
        )

        def per_delta(fn: Callable[[], Any]) -> Callable[[], Sample]:
            return timer(fn, DELTAS, 1e6)

        contenders: list[tuple[Row, Callable[[], Sample]]] = []
        diag: dict[str, Any] = {}
        try:
            got = floor_stream()
            if got < DELTAS:
                raise RuntimeError(f"floor saw {got} data lines, expected ≥ {DELTAS}")
            diag["floor"] = _conn_delta(server, floor_stream, 3)
            contenders.append((floor, per_delta(floor_stream)))
        except Exception as exc:
            floor.status = f"error: {type(exc).__name__}: {exc}"[:300]
            report.error(f"stream/{fmt}/floor", exc)
        try:
            text = sg_stream()
            if text != payload.text:
                raise RuntimeError(
                    f"specgen stream text differs from the payload ({len(text)} vs {len(payload.text)} chars)"
                )
            diag["specgen"] = _conn_delta(server, sg_stream_fast, 3)
            contenders.append((sg, per_delta(sg_stream_fast)))
        except Exception as exc:
            sg.status = f"error: {type(exc).__name__}: {exc}"[:300]
            report.error(f"stream/{fmt}/specgen", exc)
        if litellm is None:
            ll.status = ll_status or NA_LITELLM
        else:
            kw = dict(litellm_kwargs(fmt, server.url), stream=True)

            def ll_stream(kw: dict[str, Any] = kw) -> str:
                return "".join(chunk_text(c) for c in litellm.completion(**kw))

            try:
                text = ll_stream()
                if text != payload.text:
                    raise RuntimeError(
                        f"litellm stream text differs ({len(text)} vs {len(payload.text)} chars)"
                    )
                diag["litellm"] = _conn_delta(server, ll_stream, 2)
                contenders.append((ll, per_delta(ll_stream)))
            except Exception as exc:
                ll.status = f"error: {type(exc).__name__}: {exc}"[:300]
                report.error(f"stream/{fmt}/litellm", exc)
        report.diagnostics[f"stream/{fmt}/connections"] = diag
        report.diagnostics[f"stream/{fmt}/events"] = n_events
        run_rounds(report, s.stream_rounds, contenders)
        fill_ratios([floor, sg, ll])
        floor_client.close()
        sg_client.close()
        report.targets.append(
            Target(
                "stream",
                f"stream {fmt}: specgen ≤ {TARGETS['stream'][0]:g}× the raw floor per delta",
                sg.ratio_floor,
                TARGETS["stream"][0],
                "×",
                None if sg.ratio_floor is None else sg.ratio_floor <= TARGETS["stream"][0],
                profile_hint={"fmt": fmt},
            )
        )


# ---------------------------------------------------------------------------- 4. async


def bench_async(
    report: Report, s: Settings, server: FakeServer, litellm: Any, ll_status: str | None
) -> None:
    print(
        f"[async] {CONCURRENCY} concurrent requests per batch, {s.async_batches} batches per sample, "
        f"{s.async_rounds} rounds",
        flush=True,
    )
    aiohttp: Any
    try:
        import aiohttp
    except ImportError:
        aiohttp = None
    import httpx

    try:
        import sniffio  # noqa: F401
    except ImportError:
        report.diagnostics["sniffio importable"] = False
        report.note(
            "sniffio is not installed: httpcore's async pool retries `import sniffio` (a failing import, "
            "not cached) on every request, which costs the httpx-based async rows"
        )
    else:
        report.diagnostics["sniffio importable"] = True

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    closers: list[Callable[[], Any]] = []
    try:
        for fmt in FORMATS:
            wire = wire_request(fmt, server.url, stream=False)
            want = expected_text(fmt)
            mod = adapter(fmt)
            floor = report.add(
                Row("async", fmt, "aiohttp ClientSession (floor)", "floor", "ms/50 req")
            )
            hx = report.add(Row("async", fmt, "raw httpx.AsyncClient (info)", "info", "ms/50 req"))
            sg = report.add(Row("async", fmt, "specgen AsyncClient.chat", "specgen", "ms/50 req"))
            ll = report.add(Row("async", fmt, "litellm.acompletion", "litellm", "ms/50 req"))

            async def setup(mod: Any = mod, fmt: str = fmt) -> tuple[Any, Any, Any]:
                session = None
                if aiohttp is not None:
                    session = aiohttp.ClientSession(
                        connector=aiohttp.TCPConnector(limit=100),
                        timeout=aiohttp.ClientTimeout(total=60),
                    )
                hxc = httpx.AsyncClient(timeout=30.0)
                sgc = mod.AsyncClient(api_key=KEY, base_url=base_url(fmt, server.url))
                return session, hxc, sgc

            session, hxc, sgc = loop.run_until_complete(setup())
            if session is not None:
                closers.append(session.close)
            closers.append(hxc.aclose)
            closers.append(sgc.aclose)

            async def aio_one(w: Wire = wire, sess: Any = session) -> Any:
                async with sess.post(w.url, data=dumps(w.body), headers=w.headers) as r:
                    if r.status >= 400:
                        raise RuntimeError(f"HTTP {r.status}")
                    return json.loads(await r.read())

            async def hx_one(w: Wire = wire, c: Any = hxc) -> Any:
                r = await c.post(w.url, content=dumps(w.body), headers=w.headers)
                if r.status_code >= 400:
                    raise RuntimeError(f"HTTP {r.status_code}")
                return json.loads(r.content)

            async def sg_one(c: Any = sgc, m: str = MODELS[fmt]) -> Any:
                return await c.chat(model=m, messages=MESSAGES, max_tokens=MAX_TOKENS)

            def batches(one: Callable[[], Any]) -> Callable[[], Sample]:
                async def go() -> Sample:
                    c0 = time.process_time()
                    t0 = time.perf_counter()
                    for _ in range(s.async_batches):
                        await asyncio.gather(*(one() for _ in range(CONCURRENCY)))
                    t1 = time.perf_counter()
                    c1 = time.process_time()
                    return (t1 - t0) / s.async_batches * 1e3, (c1 - c0) / s.async_batches * 1e3

                return lambda: loop.run_until_complete(go())

            def check(
                one: Callable[[], Any], text_of: Callable[[Any], str], want: str = want
            ) -> None:
                async def go() -> list[Any]:
                    out = []
                    for _ in range(3):  # warm: opens the pool's connections
                        out = await asyncio.gather(*(one() for _ in range(CONCURRENCY)))
                    return out

                outs = loop.run_until_complete(go())
                got = {text_of(o) for o in outs}
                if got != {want}:
                    raise RuntimeError(f"unexpected reply text {sorted(got)[:2]!r}")

            def conns(one: Callable[[], Any]) -> dict[str, float]:
                async def go() -> None:
                    await asyncio.gather(*(one() for _ in range(CONCURRENCY)))

                return _conn_delta(server, lambda: loop.run_until_complete(go()), 3)

            contenders: list[tuple[Row, Callable[[], Sample]]] = []
            diag: dict[str, Any] = {}
            native = functools.partial(native_text, fmt)
            plan: list[tuple[Row, Any, Callable[[Any], str], str]] = [
                (hx, hx_one, native, "httpx"),
                (sg, sg_one, completion_text, "specgen"),
            ]
            if aiohttp is None:
                floor.status = "n/a (aiohttp not installed)"
            else:
                plan.insert(0, (floor, aio_one, native, "aiohttp"))
            if litellm is None:
                ll.status = ll_status or NA_LITELLM
            else:
                kw = litellm_kwargs(fmt, server.url)

                async def ll_one(kw: dict[str, Any] = kw) -> Any:
                    return await litellm.acompletion(**kw)

                plan.append((ll, ll_one, completion_text, "litellm"))
            for row, one, text_of, name in plan:
                try:
                    check(one, text_of)
                    diag[name] = conns(one)
                    contenders.append((row, batches(one)))
                except Exception as exc:
                    row.status = f"error: {type(exc).__name__}: {exc}"[:300]
                    report.error(f"async/{fmt}/{name}", exc)
            report.diagnostics[f"async/{fmt}/connections per batch of {CONCURRENCY}"] = diag
            run_rounds(report, s.async_rounds, contenders)
            fill_ratios([floor, hx, sg, ll])
            if floor.status == "ok":
                report.targets.append(
                    Target(
                        "async",
                        f"async {fmt}: specgen ≤ {TARGETS['async'][0]:g}× the aiohttp floor @{CONCURRENCY}",
                        sg.ratio_floor,
                        TARGETS["async"][0],
                        "×",
                        None if sg.ratio_floor is None else sg.ratio_floor <= TARGETS["async"][0],
                        profile_hint={"fmt": fmt},
                    )
                )
            else:
                report.targets.append(
                    Target(
                        "async",
                        f"async {fmt}: specgen ≤ {TARGETS['async'][0]:g}× the aiohttp floor @{CONCURRENCY}",
                        None,
                        TARGETS["async"][0],
                        "×",
                        None,
                        note="not measured: aiohttp is not installed (pip install aiohttp)",
                    )
                )
    finally:

        async def close_all() -> None:
            for close in closers:
                with contextlib.suppress(Exception):
                    await close()

        loop.run_until_complete(close_all())
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
        asyncio.set_event_loop(None)


# ---------------------------------------------------------------------------- 5. build / conform


def specgen_cmd() -> list[str]:
    exe = Path(sys.executable).parent / ("specgen.exe" if os.name == "nt" else "specgen")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("specgen")
    return [found] if found else [sys.executable, "-m", "specgen"]


def _summary(out: bytes) -> str:
    lines = out.decode(errors="replace").strip().splitlines()
    return lines[-1] if lines else ""


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
            summaries[row.contender] = _summary(p.stdout)

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
            last = (p.stderr.decode(errors="replace").strip().splitlines() or [_summary(p.stdout)])[
                -1
            ]
            row.status = f"skipped: `specgen conform` exited {p.returncode}"
            row.note = last[:300]
            report.note(f"conform {row.status}: {scrub_paths(last[:300])}")
            return
        row.samples.append(dt)
        row.note = _summary(p.stdout)[:300]
        if i == 0 and dt > 30:
            break  # slow: one sample is enough to stay inside the time budget


# ---------------------------------------------------------------------------- profiles


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
    sg_rows = [r for r in rows if r[0].startswith(("specgen/", "specgen_providers/"))]
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
    top = [m for m in extra if m.split(".")[0] in ("specgen", "specgen_providers")]
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


# ---------------------------------------------------------------------------- output


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
            m: version(m) for m in ("specgen", "httpx", "httpcore", "h11", "aiohttp", "litellm")
        },
        "git": git,
    }


# ---------------------------------------------------------------------------- main


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

    load0 = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    if load0 is not None and load0 > 0.5:
        report.note(
            f"the machine is busy before the run (1-min load average {load0:.2f}): wall times are noisy; "
            "ratios are paired per round and the cpu× column uses this process's CPU time"
        )
    pycache = tempfile.TemporaryDirectory(prefix="specgen-bench-pycache-")
    _SUB_ENV.update(_raw_env())
    _SUB_ENV.pop("PYTHONDONTWRITEBYTECODE", None)
    _SUB_ENV["PYTHONPYCACHEPREFIX"] = pycache.name
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
        if sections & {"sync", "stream", "async"}:
            server = FakeServer(DELTAS, ttl=900.0 if not args.quick else 300.0)
            print(f"fake server up (pid {server.proc.pid}, port {server.port})", flush=True)
            for name, fn in (
                ("sync", bench_sync),
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

    for label, text in report.profiles.items():
        print()
        print(f"=== profile: {label}")
        print(text)

    elapsed = time.perf_counter() - t0
    result = {
        "schema": 1,
        "mode": "quick" if args.quick else "full",
        "started_unix": round(started, 3),
        "duration_s": round(elapsed, 2),
        "environment": environment(),
        "settings": s.__dict__,
        "workload": {
            "messages": MESSAGES,
            "max_tokens": MAX_TOKENS,
            "stream_deltas": DELTAS,
            "concurrency": CONCURRENCY,
            "models": MODELS,
            "litellm_models": LITELLM_MODELS,
        },
        "rows": [r.to_json() for r in report.rows],
        "targets": [t.to_json() for t in report.targets],
        "notes": [scrub_paths(n) for n in report.notes],
        "errors": [scrub_paths(e) for e in report.errors],
        "diagnostics": {
            **report.diagnostics,
            "load_average_start": load0,
            "load_average_end": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        },
        "profiles": report.profiles,
    }
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print()
    try:
        shown = out.resolve().relative_to(REPO)
    except ValueError:
        shown = out
    print(f"results written to {shown}; total {elapsed:.1f} s")

    if report.errors:
        return 2
    missed = [t for t in report.targets if t.met is False]
    if missed and not args.quick and not args.no_assert:
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
