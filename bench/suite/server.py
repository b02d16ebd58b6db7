"""The fake provider's lifecycle: start ``bench/fakeserver.py`` in a child process, ask it for
its ``/stats`` (requests and connections served), and stop it.

The server runs out of process so that it never shares the GIL with the client being measured;
it exits when we close its stdin (or when we die), and after its TTL at the latest.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import selectors
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from .config import BENCH, REPO


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


def conn_delta(server: FakeServer, fn: Callable[[], Any], times: int) -> dict[str, float]:
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
