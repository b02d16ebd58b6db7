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
  ``RemoteProtocolError`` for a cut body or a malformed response, ...), so code
  written against httpx handles its errors unchanged.

Two modules, by job: this one is the pool (:class:`AsyncTransport`: which connection a
request gets, and when a connection goes back or is closed) and the response body stream
(:class:`_Body`); :mod:`specgen_runtime.http1` is one connection: its socket, the request
writer, and the response parsed by llhttp (through ``httptools``, as uvicorn does).

No HTTP/2, no proxies (the client routes proxied requests through httpx), no
``Expect: 100-continue``, no upgrades.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

import httpx

from specgen_runtime.http1 import Connection, Origin, Stale, serialize

__all__ = ["DEFAULT_LIMITS", "AsyncTransport"]

# an LLM client runs many slow requests at once: keep as many connections as it uses
DEFAULT_LIMITS = httpx.Limits(
    max_connections=1000, max_keepalive_connections=100, keepalive_expiry=5.0
)


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
        self._idle: dict[Origin, list[Connection]] = {}
        self._n_idle = 0
        self._open = 0  # connections open or being opened, idle ones included
        self._conns: set[Connection] = set()
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._closed = False

    # -- the pool

    def _ssl_context(self) -> ssl.SSLContext:
        if self._ssl is None:
            if self._verify is True and self._cert is None and self._trust_env:
                from specgen_runtime.http import shared_ssl_context

                self._ssl = shared_ssl_context()  # the default: one per process
            else:
                self._ssl = httpx.create_ssl_context(
                    verify=self._verify, cert=self._cert, trust_env=self._trust_env
                )
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

    async def _acquire(
        self, origin: Origin, timeouts: dict[str, Any], request: httpx.Request
    ) -> Connection:
        loop = self._bind()
        deadline: float | None = None
        while True:
            if self._closed:
                raise RuntimeError("the transport has been closed")
            idle = self._idle.get(origin)
            while idle:
                conn = idle.pop()
                self._n_idle -= 1
                if (
                    conn.closed
                    or conn.pending
                    or (self._expiry is not None and loop.time() - conn.idle_since > self._expiry)
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
                await asyncio.wait_for(
                    fut, None if deadline is None else max(0.0, deadline - loop.time())
                )
            except TimeoutError:
                raise httpx.PoolTimeout(
                    "timed out waiting for a free connection", request=request
                ) from None
            finally:
                if not fut.done():
                    fut.cancel()
                _remove(self._waiters, fut)

    def _evict_idle(self) -> bool:
        """At the connection limit: close the longest-idle connection of any origin to make room."""
        oldest: Connection | None = None
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
        self,
        loop: asyncio.AbstractEventLoop,
        origin: Origin,
        timeout: float | None,
        request: httpx.Request,
    ) -> Connection:
        scheme, host, port = origin
        tls = scheme == "https"
        ssl_context = self._ssl_context() if tls else None
        sni = request.extensions.get("sni_hostname") or host
        try:
            _, conn = await asyncio.wait_for(
                loop.create_connection(
                    lambda: Connection(loop, origin),
                    host,
                    port,
                    ssl=ssl_context,
                    server_hostname=sni if tls else None,
                ),
                timeout,
            )
        except TimeoutError:
            raise httpx.ConnectTimeout(
                f"timed out connecting to {host}:{port}", request=request
            ) from None
        except OSError as exc:  # refused, unreachable, DNS, TLS (ssl.SSLError is an OSError)
            raise httpx.ConnectError(f"{type(exc).__name__}: {exc}", request=request) from None
        return conn

    def _release(self, conn: Connection) -> None:
        """A response is complete: keep its connection for the next request, or close it."""
        if (
            not self._closed
            and conn.loop is self._loop
            and (self._max_idle is None or self._n_idle < self._max_idle)
            and conn.reusable()
        ):
            conn.idle_since = conn.loop.time()
            self._idle.setdefault(conn.origin, []).append(conn)
            self._n_idle += 1
            self._wake_waiter()
        else:
            self._discard(conn)

    def _discard(self, conn: Connection) -> None:
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
        head, body, close = serialize(request)  # checked before any connection is taken
        attempts = 2 if body is not None else 1  # a streamed body cannot be sent again
        while True:
            attempts -= 1
            conn = await self._acquire(origin, timeouts, request)
            reused = conn.used > 0
            try:
                await conn.send(request, head, body, close, timeouts.get("write"))
                return await self._response(conn, request, timeouts.get("read"))
            except Stale:
                self._discard(conn)
                if reused and attempts > 0:
                    continue  # the server closed an idle connection as we reused it: once more, on a new one
                raise httpx.RemoteProtocolError(
                    "Server disconnected without sending a response.", request=request
                ) from None
            except BaseException:
                self._discard(conn)
                raise

    async def _response(
        self, conn: Connection, request: httpx.Request, read_timeout: float | None
    ) -> httpx.Response:
        await conn.read_head(request, read_timeout)
        conn.used += 1
        first, done = conn.take(request)  # the part of the body that came with the head
        stream = _Body(self, conn, request, read_timeout, first)
        if done:
            stream.finish()  # the whole body is already here: free the connection now
        return httpx.Response(
            conn.status,
            headers=conn.headers,
            stream=stream,
            request=request,
            extensions={"http_version": conn.version, "reason_phrase": conn.reason},
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


class _Body(httpx.AsyncByteStream):
    """A response body read from its connection as it arrives; the connection goes back when it ends."""

    def __init__(
        self,
        pool: AsyncTransport,
        conn: Connection,
        request: httpx.Request,
        timeout: float | None,
        first: bytes,
    ) -> None:
        self._pool = pool
        self._conn: Connection | None = conn
        self._request = request
        self._timeout = timeout
        self._first = first  # parsed with the head, handed up first

    def finish(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            self._pool._release(conn)

    def _fail(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            self._pool._discard(conn)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        first, self._first = self._first, b""
        conn = self._conn
        if conn is None:  # all of it came with the head
            if first:
                yield first
            return
        # stopping before the body's end (an error, a cancel, aclose) closes the connection
        try:
            if first:
                yield first
            while True:
                piece, done = conn.take(self._request)
                if done:
                    self.finish()
                if piece:
                    yield piece
                if done:
                    return
                if not piece:
                    await conn.more(self._timeout, self._request)
        except BaseException:
            self._fail()
            raise

    async def aclose(self) -> None:
        self._first = b""
        if self._conn is not None:
            self._fail()  # closed before its end: the connection is in an unknown state
