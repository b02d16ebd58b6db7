"""A loopback fake of a provider: a real HTTP/1.1 server on 127.0.0.1 that records every
request and answers with queued replies (JSON bodies, streamed chunks, errors, cut streams)."""

from __future__ import annotations

import json
import sys
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

__all__ = ["FakeProvider", "Received", "Reply"]


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    chunks: list[bytes] | None = None  # sent with chunked transfer-encoding, one write each
    cut: bool = False  # drop the connection before the body ends
    hold: threading.Event | None = None  # wait for this (at most 30 s) before sending chunk ``hold_at``
    hold_at: int = 0  # 0: before the status line; n: after the first n chunks

    @classmethod
    def json(cls, data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
        body = data if isinstance(data, bytes) else json.dumps(data).encode()
        return cls(status, body, {"content-type": "application/json", **(headers or {})})

    @classmethod
    def file(cls, path: Path, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
        return cls(status, path.read_bytes(), {"content-type": _content_type(path), **(headers or {})})

    @classmethod
    def stream(cls, data: bytes, content_type: str, pieces: list[bytes] | None = None, cut: bool = False) -> Reply:
        return cls(200, b"", {"content-type": content_type}, pieces if pieces is not None else [data], cut)


def _content_type(path: Path) -> str:
    return {".sse": "text/event-stream", ".ndjson": "application/x-ndjson"}.get(path.suffix, "application/json")


@dataclass
class Received:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as separate writes: no 40 ms delayed-ACK stalls
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return

    def setup(self) -> None:
        super().setup()
        with self.server.fake.lock:
            self.server.fake.connections += 1

    def _handle(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        fake = self.server.fake
        fake.received.append(
            Received(
                self.command,
                parts.path,
                parse_qs(parts.query, keep_blank_values=True),
                {k.lower(): v for k, v in self.headers.items()},
                body,
            )
        )
        with fake.lock:
            reply = fake.replies.popleft() if fake.replies else fake.default
        if reply.hold is not None and reply.hold_at == 0:
            reply.hold.wait(30)
        self.send_response(reply.status)
        for k, v in reply.headers.items():
            self.send_header(k, v)
        if reply.chunks is None:
            data = reply.body[: len(reply.body) // 2] if reply.cut else reply.body
            self.send_header("content-length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(data)
            self.wfile.flush()
            if reply.cut:
                self.close_connection = True
            return
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        for i, piece in enumerate(reply.chunks):
            if reply.hold is not None and i == reply.hold_at > 0:
                reply.hold.wait(30)
            if piece:
                self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                self.wfile.flush()
        if reply.cut:
            self.close_connection = True
            return
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeProvider

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return  # the client went away (a timeout test, a cut stream): not the server's problem
        super().handle_error(request, client_address)


class FakeProvider:
    """``with FakeProvider() as fake: fake.queue(Reply.json({...})); ... fake.received``"""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.connections = 0  # TCP connections accepted so far
        self.replies: deque[Reply] = deque()
        self.default = Reply.json({"error": {"message": "no reply queued in the fake provider"}}, status=599)
        self.lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.fake = self
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def queue(self, *replies: Reply) -> FakeProvider:
        with self.lock:
            self.replies.extend(replies)
        return self

    def reset(self) -> None:
        with self.lock:
            self.replies.clear()
        self.received.clear()

    @property
    def last(self) -> Received:
        return self.received[-1]

    def start(self) -> FakeProvider:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeProvider:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
