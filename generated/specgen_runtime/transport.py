"""A lean asyncio HTTP/1.1 transport behind the httpx interface.

:class:`AsyncTransport` is an :class:`httpx.AsyncBaseTransport`: it takes an
``httpx.Request`` and returns an ``httpx.Response`` whose body streams in as it
arrives.  It is what :class:`specgen_runtime.http.AsyncClient` uses by default,
because httpx's own async pool (httpcore over anyio) costs several times more CPU
per request than the request itself.  It does only what an API client needs:

* HTTP/1.1 over TCP or TLS (``http``/``https``; TLS verified with httpx's own
  default context), keep-alive connections pooled per origin under
  :class:`httpx.Limits` (connections in use, idle connections kept, idle expiry);
* ``content-length``, chunked and close-delimited response bodies, read
  incrementally with back-pressure; a stale pooled connection (closed by the
  server while idle) is retried once on a new connection before any response byte;
* httpx's timeout extension (``connect``, ``read``, ``write``, ``pool``) and
  httpx's exception classes (``ConnectError``, ``ReadTimeout``,
  ``RemoteProtocolError`` for a cut body, ...), so code written against httpx
  handles its errors unchanged.

No HTTP/2, no proxies (the client routes proxied requests through httpx), no
``Expect: 100-continue``, no upgrades.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import ssl
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

import httpx

__all__ = ["DEFAULT_LIMITS", "AsyncTransport"]

# an LLM client runs many slow requests at once: keep as many connections as it uses
DEFAULT_LIMITS = httpx.Limits(max_connections=1000, max_keepalive_connections=100, keepalive_expiry=5.0)

MAX_HEAD = 64 * 1024  # response status line + headers
MAX_LINE = 8 * 1024  # a chunk-size or trailer line
HIGH_WATER = 1024 * 1024  # stop reading the socket while this much is buffered and unread
JOIN_LIMIT = 64 * 1024  # a body piece handed up joins at most about this many bytes

_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_BAD_VALUE = re.compile(rb"[\r\n\x00]")
_HEX = re.compile(rb"[0-9A-Fa-f]{1,16}")

Origin = tuple[str, str, int]


class _Stale(Exception):
    """A pooled connection was closed by the server before any byte of the response."""


class _Conn(asyncio.Protocol):
    """One HTTP/1.1 connection: a byte buffer fed by the event loop, awaited by one request at a time."""

    def __init__(self, loop: asyncio.AbstractEventLoop, origin: Origin) -> None:
        self.loop = loop
        self.origin = origin
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.eof = False
        self.lost: BaseException | None = None
        self.waiter: asyncio.Future[None] | None = None
        self.drain_waiter: asyncio.Future[None] | None = None
        self.write_paused = False
        self.read_paused = False
        self.idle_since = 0.0
        self.used = 0  # responses read on this connection
        self.counted = True  # still counted in the pool's open connections

    # -- protocol callbacks

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if len(self.buf) > HIGH_WATER and not self.read_paused and self.transport is not None:
            self.read_paused = True
            self.transport.pause_reading()
        self._wake()

    def eof_received(self) -> bool | None:
        self.eof = True
        self._wake()
        return None  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self.eof = True
        self.lost = exc
        self._wake()
        w = self.drain_waiter
        if w is not None and not w.done():
            self.drain_waiter = None
            w.set_result(None)

    def pause_writing(self) -> None:
        self.write_paused = True

    def resume_writing(self) -> None:
        self.write_paused = False
        w = self.drain_waiter
        if w is not None and not w.done():
            self.drain_waiter = None
            w.set_result(None)

    def _wake(self) -> None:
        w = self.waiter
        if w is not None:
            self.waiter = None
            if not w.done():
                w.set_result(None)

    # -- used by requests

    @property
    def closed(self) -> bool:
        return self.eof or self.transport is None or self.transport.is_closing()

    async def more(self, timeout: float | None, request: httpx.Request) -> bool:
        """Wait until more bytes arrive; ``False`` at end of stream."""
        if self.eof:
            return False
        if self.read_paused and self.transport is not None:
            self.read_paused = False
            self.transport.resume_reading()
        fut: asyncio.Future[None] = self.loop.create_future()
        self.waiter = fut
        if timeout is None:
            await fut
        else:
            handle = self.loop.call_later(timeout, _expire, fut, request)
            try:
                await fut
            finally:
                handle.cancel()
        return bool(self.buf) or not self.eof

    async def write(self, data: bytes, timeout: float | None, request: httpx.Request) -> None:
        transport = self.transport
        if transport is None or transport.is_closing() or self.eof:
            raise _Stale
        transport.write(data)
        while self.write_paused:
            if self.eof:
                raise httpx.WriteError("connection lost while sending the request", request=request)
            fut: asyncio.Future[None] = self.loop.create_future()
            self.drain_waiter = fut
            try:
                await asyncio.wait_for(fut, timeout)
            except TimeoutError:
                raise httpx.WriteTimeout("timed out sending the request", request=request) from None

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
        self.eof = True


def _expire(fut: asyncio.Future[None], request: httpx.Request) -> None:
    if not fut.done():
        fut.set_exception(httpx.ReadTimeout("timed out waiting for the server", request=request))


class AsyncTransport(httpx.AsyncBaseTransport):
    """An asyncio HTTP/1.1 connection pool; see the module docstring for what it supports."""

    def __init__(
        self,
        *,
        verify: ssl.SSLContext | str | bool = True,
        cert: Any = None,
        trust_env: bool = True,
        limits: httpx.Limits = DEFAULT_LIMITS,
    ) -> None:
        self._verify = verify
        self._cert = cert
        self._trust_env = trust_env
        self._ssl: ssl.SSLContext | None = None
        self._max = limits.max_connections
        self._max_idle = limits.max_keepalive_connections
        self._expiry = limits.keepalive_expiry
        self._loop: asyncio.AbstractEventLoop | None = None
        self._idle: dict[Origin, list[_Conn]] = {}
        self._n_idle = 0
        self._open = 0  # connections open or being opened, idle ones included
        self._conns: set[_Conn] = set()
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._closed = False

    # -- the pool

    def _ssl_context(self) -> ssl.SSLContext:
        if self._ssl is None:
            if self._verify is True and self._cert is None and self._trust_env:
                from specgen_runtime.http import shared_ssl_context

                self._ssl = shared_ssl_context()  # the default: one per process
            else:
                self._ssl = httpx.create_ssl_context(verify=self._verify, cert=self._cert, trust_env=self._trust_env)
        return self._ssl

    def _bind(self) -> asyncio.AbstractEventLoop:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            # a new event loop: the old loop's connections cannot be used from this one
            self._loop = loop
            self._idle.clear()
            self._n_idle = 0
            self._open = 0
            self._conns = set()
            self._waiters.clear()
        return loop

    async def _acquire(self, origin: Origin, timeouts: dict[str, Any], request: httpx.Request) -> _Conn:
        loop = self._bind()
        deadline: float | None = None
        while True:
            if self._closed:
                raise RuntimeError("the transport has been closed")
            idle = self._idle.get(origin)
            while idle:
                conn = idle.pop()
                self._n_idle -= 1
                if conn.closed or conn.buf or (
                    self._expiry is not None and loop.time() - conn.idle_since > self._expiry
                ):
                    self._discard(conn)
                    continue
                return conn
            if self._max is None or self._open < self._max or self._evict_idle():
                self._open += 1
                try:
                    conn = await self._connect(loop, origin, timeouts.get("connect"), request)
                except BaseException:
                    self._open -= 1
                    self._wake_waiter()
                    raise
                self._conns.add(conn)
                return conn
            pool_timeout = timeouts.get("pool")
            if deadline is None and pool_timeout is not None:
                deadline = loop.time() + pool_timeout
            fut: asyncio.Future[None] = loop.create_future()
            self._waiters.append(fut)
            try:
                await asyncio.wait_for(fut, None if deadline is None else max(0.0, deadline - loop.time()))
            except TimeoutError:
                raise httpx.PoolTimeout("timed out waiting for a free connection", request=request) from None
            finally:
                if not fut.done():
                    fut.cancel()
                _remove(self._waiters, fut)

    def _evict_idle(self) -> bool:
        """At the connection limit: close the longest-idle connection of any origin to make room."""
        oldest: _Conn | None = None
        for conns in self._idle.values():
            if conns and (oldest is None or conns[0].idle_since < oldest.idle_since):
                oldest = conns[0]
        if oldest is None:
            return False
        self._idle[oldest.origin].remove(oldest)
        self._n_idle -= 1
        self._discard(oldest)
        return True

    async def _connect(
        self, loop: asyncio.AbstractEventLoop, origin: Origin, timeout: float | None, request: httpx.Request
    ) -> _Conn:
        scheme, host, port = origin
        tls = scheme == "https"
        ssl_context = self._ssl_context() if tls else None
        sni = request.extensions.get("sni_hostname") or host
        try:
            _, conn = await asyncio.wait_for(
                loop.create_connection(
                    lambda: _Conn(loop, origin),
                    host,
                    port,
                    ssl=ssl_context,
                    server_hostname=sni if tls else None,
                ),
                timeout,
            )
        except TimeoutError:
            raise httpx.ConnectTimeout(f"timed out connecting to {host}:{port}", request=request) from None
        except OSError as exc:  # refused, unreachable, DNS, TLS (ssl.SSLError is an OSError)
            raise httpx.ConnectError(f"{type(exc).__name__}: {exc}", request=request) from None
        return conn

    def _release(self, conn: _Conn, reusable: bool) -> None:
        """A response is complete: keep its connection for the next request, or close it."""
        if (
            reusable
            and not self._closed
            and not conn.closed
            and not conn.buf
            and conn.loop is self._loop
            and (self._max_idle is None or self._n_idle < self._max_idle)
        ):
            conn.idle_since = conn.loop.time()
            self._idle.setdefault(conn.origin, []).append(conn)
            self._n_idle += 1
            self._wake_waiter()
        else:
            self._discard(conn)

    def _discard(self, conn: _Conn) -> None:
        conn.close()
        if conn.counted:
            conn.counted = False
            self._conns.discard(conn)
            if conn.loop is self._loop:
                self._open -= 1
                self._wake_waiter()

    def _wake_waiter(self) -> None:
        while self._waiters:
            fut = self._waiters.popleft()
            if not fut.done():
                fut.set_result(None)
                return

    # -- requests

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        scheme = url.scheme
        if scheme not in ("http", "https"):
            raise httpx.UnsupportedProtocol(f"unsupported URL scheme {scheme!r}", request=request)
        host = url.raw_host.decode("ascii")
        if not host:
            raise httpx.UnsupportedProtocol("the URL has no host", request=request)
        origin: Origin = (scheme, host, url.port or (443 if scheme == "https" else 80))
        timeouts: dict[str, Any] = request.extensions.get("timeout") or {}
        head, body, replayable = _serialize(request)
        attempts = 2 if replayable else 1
        while True:
            attempts -= 1
            conn = await self._acquire(origin, timeouts, request)
            reused = conn.used > 0
            try:
                if body is None:
                    await _send_streaming(conn, head, request, timeouts.get("write"))
                elif len(body) <= JOIN_LIMIT:
                    await conn.write(head + body, timeouts.get("write"), request)
                else:
                    await conn.write(head, timeouts.get("write"), request)
                    await conn.write(body, timeouts.get("write"), request)
                return await self._response(conn, request, timeouts.get("read"))
            except _Stale:
                self._discard(conn)
                if reused and attempts > 0:
                    continue  # the server closed an idle connection as we reused it: once more, on a new one
                raise httpx.RemoteProtocolError(
                    "Server disconnected without sending a response.", request=request
                ) from None
            except BaseException:
                self._discard(conn)
                raise

    async def _response(self, conn: _Conn, request: httpx.Request, read_timeout: float | None) -> httpx.Response:
        first = True
        while True:
            status, reason, headers, keep_alive = await _read_head(conn, request, read_timeout, first)
            first = False
            if status >= 200 or status == 101:
                break
            # 1xx informational: its head is all there is; the real one follows
        if status == 101:
            raise httpx.RemoteProtocolError("the server switched protocols (101), which is not supported", request=request)
        conn.used += 1
        length: int | None = None
        chunked = False
        te: bytes | None = None
        cl: list[bytes] = []
        for name, value in headers:
            lname = name.lower()
            if lname == b"content-length":
                cl.append(value)
            elif lname == b"transfer-encoding":
                te = value if te is None else te + b"," + value
        if request.method == "HEAD" or status in (204, 304):
            length = 0
        elif te is not None:
            chunked = te.rsplit(b",", 1)[-1].strip().lower() == b"chunked"
            keep_alive = keep_alive and chunked and not cl
        elif cl:
            values = {v.strip() for item in cl for v in item.split(b",")}
            if len(values) != 1 or not next(iter(values)).isdigit():
                raise httpx.RemoteProtocolError(f"bad content-length {b','.join(cl)!r}", request=request)
            length = int(next(iter(values)))
        else:
            keep_alive = False  # the body ends when the server closes the connection
        if keep_alive and b"close" in request.headers.get("connection", "").lower().encode():
            keep_alive = False  # the caller asked for this connection to end with the request
        stream = _Body(self, conn, request, read_timeout, length, chunked, keep_alive)
        if length is not None and len(conn.buf) >= length:
            stream.take_whole()  # the whole body is already here: free the connection now
        return httpx.Response(
            status,
            headers=headers,
            stream=stream,
            request=request,
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": reason},
        )

    async def aclose(self) -> None:
        self._closed = True
        conns = list(self._conns)
        self._idle.clear()
        self._n_idle = 0
        for conn in conns:
            self._discard(conn)
        for fut in self._waiters:
            if not fut.done():
                fut.set_result(None)
        self._waiters.clear()


def _remove(waiters: deque[asyncio.Future[None]], fut: asyncio.Future[None]) -> None:
    with contextlib.suppress(ValueError):
        waiters.remove(fut)


def _serialize(request: httpx.Request) -> tuple[bytes, bytes | None, bool]:
    """The request head, and its body when it is in memory (``None``: send ``request.stream``)."""
    method = request.method.encode("ascii")
    if not _TOKEN.fullmatch(method):
        raise httpx.LocalProtocolError(f"invalid HTTP method {request.method!r}", request=request)
    target = request.url.raw_path or b"/"
    if b" " in target or _BAD_VALUE.search(target):
        raise httpx.LocalProtocolError("invalid request target", request=request)
    parts = [method, b" ", target, b" HTTP/1.1\r\n"]
    for name, value in request.headers.raw:
        if not _TOKEN.fullmatch(name) or _BAD_VALUE.search(value):
            raise httpx.LocalProtocolError(f"invalid header {name!r}", request=request)
        parts += (name, b": ", value, b"\r\n")
    parts.append(b"\r\n")
    head = b"".join(parts)
    try:
        body = request.content
    except httpx.RequestNotRead:
        return head, None, False
    return head, body, True


async def _send_streaming(conn: _Conn, head: bytes, request: httpx.Request, timeout: float | None) -> None:
    """Send a request whose body is an async stream (chunked unless it has a content-length)."""
    chunked = "content-length" not in request.headers
    await conn.write(head, timeout, request)
    stream = request.stream
    assert isinstance(stream, httpx.AsyncByteStream)
    async for piece in stream:
        if piece:
            await conn.write(b"%x\r\n%b\r\n" % (len(piece), piece) if chunked else piece, timeout, request)
    if chunked:
        await conn.write(b"0\r\n\r\n", timeout, request)


async def _read_head(
    conn: _Conn, request: httpx.Request, timeout: float | None, first: bool
) -> tuple[int, bytes, list[tuple[bytes, bytes]], bool]:
    buf = conn.buf
    start = 0
    while True:
        end = buf.find(b"\r\n\r\n", start)
        if end >= 0:
            head = bytes(buf[:end])
            del buf[: end + 4]
            lines = head.split(b"\r\n")
            break
        end = buf.find(b"\n\n")
        if end >= 0:  # bare LF line ends, as lenient clients accept
            head = bytes(buf[:end])
            del buf[: end + 2]
            lines = [line.rstrip(b"\r") for line in head.split(b"\n")]
            break
        if len(buf) > MAX_HEAD:
            raise httpx.RemoteProtocolError("response headers too large", request=request)
        start = max(0, len(buf) - 3)
        if not await conn.more(timeout, request):
            if first and not buf:
                raise _Stale
            raise httpx.RemoteProtocolError("Server disconnected while sending the response headers.", request=request)
    try:
        version, status_text, *rest = lines[0].split(b" ", 2)
        status = int(status_text)
    except ValueError:
        raise httpx.RemoteProtocolError(f"malformed status line {lines[0][:100]!r}", request=request) from None
    if not version.startswith(b"HTTP/1.") or not 100 <= status <= 999 or len(status_text) != 3:
        raise httpx.RemoteProtocolError(f"malformed status line {lines[0][:100]!r}", request=request)
    headers: list[tuple[bytes, bytes]] = []
    keep_alive = version == b"HTTP/1.1"
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        if not sep or not _TOKEN.fullmatch(name):
            raise httpx.RemoteProtocolError(f"malformed header line {line[:100]!r}", request=request)
        value = value.strip(b" \t")
        headers.append((name, value))
        if len(name) == 10 and name.lower() == b"connection":
            tokens = {t.strip() for t in value.lower().split(b",")}
            if b"close" in tokens:
                keep_alive = False
            elif b"keep-alive" in tokens and version == b"HTTP/1.0":
                keep_alive = True
    return status, rest[0] if rest else b"", headers, keep_alive


class _Body(httpx.AsyncByteStream):
    """A response body read from its connection as it arrives; the connection goes back when it ends."""

    def __init__(
        self,
        pool: AsyncTransport,
        conn: _Conn,
        request: httpx.Request,
        timeout: float | None,
        length: int | None,
        chunked: bool,
        keep_alive: bool,
    ) -> None:
        self._pool = pool
        self._conn: _Conn | None = conn
        self._request = request
        self._timeout = timeout
        self._length = length
        self._chunked = chunked
        self._keep_alive = keep_alive
        self._whole: bytes | None = None

    def take_whole(self) -> None:
        conn = self._conn
        assert conn is not None and self._length is not None
        buf = conn.buf
        if len(buf) == self._length:
            self._whole = bytes(buf)
            buf.clear()
        else:
            self._whole = bytes(buf[: self._length])
            del buf[: self._length]
        self._finish()

    def _finish(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            self._pool._release(conn, self._keep_alive)

    def _fail(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            self._pool._discard(conn)

    def __aiter__(self) -> AsyncIterator[bytes]:
        conn = self._conn
        if self._whole is not None or conn is None:
            return self._read_whole()
        if self._chunked:
            return self._read_chunked(conn)
        if self._length is not None:
            return self._read_length(conn, self._length)
        return self._read_to_eof(conn)

    async def _read_whole(self) -> AsyncIterator[bytes]:
        whole, self._whole = self._whole, None
        if whole:
            yield whole

    # each reader closes the connection if it stops before the body's end (an error, a cancel, aclose)

    async def _read_length(self, conn: _Conn, length: int) -> AsyncIterator[bytes]:
        remaining = length
        buf = conn.buf
        try:
            while remaining:
                if not buf and not await conn.more(self._timeout, self._request):
                    raise httpx.RemoteProtocolError(
                        "peer closed connection without sending complete message body "
                        f"(received {length - remaining} bytes, expected {length})",
                        request=self._request,
                    )
                if len(buf) <= remaining:
                    piece = bytes(buf)
                    buf.clear()
                else:
                    piece = bytes(buf[:remaining])
                    del buf[:remaining]
                remaining -= len(piece)
                if not remaining:
                    self._finish()
                if piece:
                    yield piece
            self._finish()
        except BaseException:
            self._fail()
            raise

    async def _read_to_eof(self, conn: _Conn) -> AsyncIterator[bytes]:
        buf = conn.buf
        try:
            while True:
                if buf:
                    piece = bytes(buf)
                    buf.clear()
                    yield piece
                elif not await conn.more(self._timeout, self._request):
                    self._finish()
                    return
        except BaseException:
            self._fail()
            raise

    async def _read_chunked(self, conn: _Conn) -> AsyncIterator[bytes]:
        buf = conn.buf
        request = self._request
        remaining = 0  # bytes left in the current chunk's data
        state = 0  # 0: size line, 1: data, 2: the line end after data, 3: trailers
        try:
            while True:
                if not buf:
                    if not await conn.more(self._timeout, request):
                        raise _incomplete(request)
                    continue
                sliced = len(buf) > 2 * JOIN_LIMIT  # parse a window of a large buffer, not all of it
                if sliced:
                    with memoryview(buf) as view:
                        data = bytes(view[: 2 * JOIN_LIMIT])
                else:
                    data = bytes(buf)
                n = len(data)
                pos = 0
                size = 0
                out: list[bytes] = []
                done = False
                while pos < n and size < JOIN_LIMIT:
                    if state == 1:
                        end = min(pos + remaining, n)
                        out.append(data if (pos == 0 and end == n) else data[pos:end])
                        size += end - pos
                        remaining -= end - pos
                        pos = end
                        if not remaining:
                            state = 2
                        continue
                    eol = data.find(b"\n", pos)
                    if eol < 0:
                        if n - pos > MAX_LINE:
                            raise httpx.RemoteProtocolError("chunk-size line too long", request=request)
                        break
                    line = data[pos:eol]
                    if line.endswith(b"\r"):
                        line = line[:-1]
                    pos = eol + 1
                    if state == 2:
                        if line:
                            raise httpx.RemoteProtocolError(
                                "malformed chunked body (no line end after a chunk)", request=request
                            )
                        state = 0
                    elif state == 0:
                        size_text = line.split(b";", 1)[0].strip(b" \t")
                        if not _HEX.fullmatch(size_text):
                            raise httpx.RemoteProtocolError(
                                f"malformed chunk size {size_text[:20]!r}", request=request
                            )
                        remaining = int(size_text, 16)
                        state = 1 if remaining else 3
                    elif not line:  # state 3: the blank line after the trailers ends the body
                        done = True
                        break
                del buf[:pos]
                if done:
                    self._finish()
                if out:
                    yield b"".join(out) if len(out) > 1 else out[0]
                if done:
                    return
                if not out and not (sliced and pos) and not await conn.more(self._timeout, request):
                    raise _incomplete(request)
        except BaseException:
            self._fail()
            raise

    async def aclose(self) -> None:
        self._whole = None
        if self._conn is not None:
            self._fail()  # closed before its end: the connection is in an unknown state


def _incomplete(request: httpx.Request) -> httpx.RemoteProtocolError:
    return httpx.RemoteProtocolError(
        "peer closed connection without sending complete message body (incomplete chunked read)", request=request
    )
