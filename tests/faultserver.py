"""A fault-injecting HTTP/1.1 server on 127.0.0.1 for the fault tests (``tests/test_faults.py``).

Unlike ``specgen.conform.fake`` it speaks raw sockets, so a test can make it misbehave: send
any bytes, hold a connection open without answering, announce a ``Content-Encoding`` the body
does not have, leave a chunked body without its last ``0\\r\\n\\r\\n``, reset the connection.

Each request is answered by the next queued *handler* (``handler(conn, request) -> keep_alive``);
when the queue is empty the last handler queued answers again. Every request received is
recorded in :attr:`FaultServer.requests` and every accepted connection counted in
:attr:`FaultServer.connections`, so a test can assert that no request was ever sent.

Everything is bounded: every socket has a timeout, a connection lives at most
:data:`MAX_CONNECTION_SECONDS`, a held connection is released when the server stops, and
:meth:`FaultServer.stop` closes every socket it still has (which unblocks a client stuck reading
from it) and joins its threads with a timeout.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http import HTTPStatus

__all__ = [
    "LAST_CHUNK",
    "Conn",
    "FaultServer",
    "Handler",
    "Request",
    "chunk",
    "chunked_head",
    "http_response",
    "reply",
    "reset",
    "silent",
    "streamed",
]

MAX_CONNECTION_SECONDS = 45.0  # no connection outlives this, whatever a handler asks
MAX_HEAD_BYTES = 64 * 1024
POLL = 0.05  # how often blocked loops look at the stop flag


@dataclass
class Request:
    method: str
    target: str
    headers: dict[str, str]  # names lower-cased
    body: bytes

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]


class Conn:
    """One accepted connection, as a handler sees it."""

    def __init__(self, sock: socket.socket, server: FaultServer) -> None:
        self.sock = sock
        self.server = server
        self.closed = False
        self.deadline = time.monotonic() + MAX_CONNECTION_SECONDS

    def send(self, data: bytes) -> bool:
        """Write ``data``; ``False`` when the client has gone away."""
        if self.closed:
            return False
        try:
            self.sock.sendall(data)
        except OSError:
            self.closed = True
            return False
        return True

    def hold(self, seconds: float) -> None:
        """Keep the connection open, silent, for ``seconds`` (or until the server stops)."""
        self.server.stopping.wait(max(0.0, min(seconds, self.deadline - time.monotonic())))

    def reset(self) -> None:
        """Close with a TCP RST (SO_LINGER 0) instead of a FIN."""
        if self.closed:
            return
        self.closed = True
        with contextlib.suppress(OSError):
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()


#: answers one request; returns True to keep the connection for the next request
Handler = Callable[[Conn, Request], bool]


# ---------------------------------------------------------------------------- raw HTTP builders


def _status_line(status: int) -> bytes:
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Status"
    return f"HTTP/1.1 {status} {phrase}\r\n".encode()


def _header_lines(headers: dict[str, str] | None) -> bytes:
    return b"".join(f"{k}: {v}\r\n".encode("latin-1") for k, v in (headers or {}).items())


def http_response(
    status: int, body: bytes, content_type: str = "application/json", headers: dict[str, str] | None = None
) -> bytes:
    """A whole response framed by ``content-length``."""
    head = {"content-type": content_type, "content-length": str(len(body)), **(headers or {})}
    return _status_line(status) + _header_lines(head) + b"\r\n" + body


def chunked_head(status: int = 200, content_type: str = "text/event-stream", headers: dict[str, str] | None = None) -> bytes:
    head = {"content-type": content_type, "transfer-encoding": "chunked", **(headers or {})}
    return _status_line(status) + _header_lines(head) + b"\r\n"


def chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


LAST_CHUNK = b"0\r\n\r\n"


# ---------------------------------------------------------------------------- handlers


def reply(raw: bytes | Callable[[Request], bytes], *, keep: bool = False) -> Handler:
    """Send ``raw`` (or ``raw(request)``) as it is; then close unless ``keep``."""

    def handler(conn: Conn, request: Request) -> bool:
        conn.send(raw(request) if callable(raw) else raw)
        return keep

    return handler


def streamed(
    pieces: Iterable[bytes],
    *,
    status: int = 200,
    content_type: str = "text/event-stream",
    headers: dict[str, str] | None = None,
    last_chunk: bool = True,
    hold_after: float = 0.0,
    keep: bool = True,
) -> Handler:
    """A chunked response, one chunk per piece. ``last_chunk=False`` never sends the closing
    ``0\\r\\n\\r\\n``; ``hold_after`` then keeps the socket open that long (or until stop)."""
    pieces = list(pieces)

    def handler(conn: Conn, request: Request) -> bool:
        conn.send(chunked_head(status, content_type, headers))
        for piece in pieces:
            if piece and not conn.send(chunk(piece)):
                return False
        if last_chunk:
            conn.send(LAST_CHUNK)
        if hold_after:
            conn.hold(hold_after)
        return keep and last_chunk

    return handler


def silent(seconds: float = 30.0) -> Handler:
    """Read the request, never answer: hold the connection open (until stop at the latest)."""

    def handler(conn: Conn, request: Request) -> bool:
        conn.hold(seconds)
        return False

    return handler


def reset() -> Handler:
    """Read the request, then reset the connection."""

    def handler(conn: Conn, request: Request) -> bool:
        conn.reset()
        return False

    return handler


# ---------------------------------------------------------------------------- the server


@dataclass
class _Reader:
    sock: socket.socket
    conn: Conn
    stopping: threading.Event
    buf: bytes = b""
    eof: bool = False

    def _fill(self) -> bool:
        while not self.stopping.is_set() and not self.conn.closed and time.monotonic() < self.conn.deadline:
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return False
            if not data:
                self.eof = True
                return False
            self.buf += data
            return True
        return False

    def until(self, marker: bytes, limit: int) -> bytes | None:
        while marker not in self.buf:
            if len(self.buf) > limit or not self._fill():
                return None
        head, _, self.buf = self.buf.partition(marker)
        return head

    def exactly(self, n: int) -> bytes | None:
        while len(self.buf) < n:
            if not self._fill():
                return None
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def request(self) -> Request | None:
        head = self.until(b"\r\n\r\n", MAX_HEAD_BYTES)
        if head is None:
            return None
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = ([*lines[0].split(" ", 2), "", ""])[:3]
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = b""
            while True:
                size_line = self.until(b"\r\n", 1024)
                if size_line is None:
                    return None
                size = int(size_line.split(b";")[0] or b"0", 16)
                data = self.exactly(size + 2)
                if data is None:
                    return None
                if not size:
                    break
                body += data[:-2]
        else:
            data = self.exactly(int(headers.get("content-length") or 0))
            if data is None:
                return None
            body = data
        return Request(method, target, headers, body)


class FaultServer:
    """``with FaultServer() as s: s.queue(reply(http_response(200, b"{}"))); ... s.requests``"""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.connections = 0
        self.errors: list[BaseException] = []  # a handler that raised (a bug in a test)
        self.stopping = threading.Event()
        self._handlers: deque[Handler] = deque()
        self._last: Handler = reply(http_response(599, b'{"error":{"message":"no handler queued"}}'))
        self._lock = threading.Lock()
        self._socks: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(POLL)
        self.port: int = self._listener.getsockname()[1]
        self._acceptor = threading.Thread(target=self._accept_loop, name="faultserver-accept", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def queue(self, *handlers: Handler) -> FaultServer:
        with self._lock:
            self._handlers.extend(handlers)
        return self

    def _next(self) -> Handler:
        with self._lock:
            if self._handlers:
                self._last = self._handlers.popleft()
            return self._last

    def start(self) -> FaultServer:
        self._acceptor.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        with contextlib.suppress(OSError):  # wakes a blocked accept() at once (Linux)
            self._listener.shutdown(socket.SHUT_RDWR)
        self._acceptor.join(2)
        self._listener.close()
        with self._lock:
            socks = list(self._socks)
        for sock in socks:  # unblock a client still reading from us
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        for thread in self._threads:
            thread.join(2)

    def __enter__(self) -> FaultServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _accept_loop(self) -> None:
        while not self.stopping.is_set():
            try:
                sock, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            sock.settimeout(POLL)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self.connections += 1
                self._socks.add(sock)
            thread = threading.Thread(target=self._serve, args=(sock,), name="faultserver-conn", daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, sock: socket.socket) -> None:
        conn = Conn(sock, self)
        reader = _Reader(sock, conn, self.stopping)
        try:
            while not conn.closed and not self.stopping.is_set():
                request = reader.request()
                if request is None:
                    return
                with self._lock:
                    self.requests.append(request)
                if not self._next()(conn, request):
                    return
        except Exception as exc:  # a broken handler: keep it for the fixture to report
            self.errors.append(exc)
        finally:
            with self._lock:
                self._socks.discard(sock)
            if not conn.closed:
                conn.closed = True
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
