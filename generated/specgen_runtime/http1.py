"""One HTTP/1.1 connection of :class:`specgen_runtime.transport.AsyncTransport`'s pool.

The response is parsed by llhttp, Node.js's HTTP parser, through ``httptools`` (as uvicorn
does): the status line, headers, ``content-length``, chunked and close-delimited bodies,
trailers, 1xx heads and the keep-alive rules are llhttp's.  This module receives its callbacks,
bounds the head (:data:`MAX_HEAD`; llhttp itself sets no limit), and turns its errors, and a
connection that ends too early, into httpx's exceptions (``RemoteProtocolError`` with llhttp's
reason).  llhttp runs strict but for one leniency: a bare LF may end a line, as h11 (httpx's
own parser) and browsers accept.

Here too: :class:`Connection`, the asyncio protocol of one socket (bytes received wait in
``pending``, reading paused past :data:`HIGH_WATER`, until the request using the connection
parses them: back-pressure), and the request writer (:func:`serialize`: method, target and
headers checked against HTTP's grammar, then joined).
"""

from __future__ import annotations

import asyncio
import re

import httptools
import httpx

__all__ = ["HIGH_WATER", "JOIN_LIMIT", "MAX_HEAD", "Connection", "Origin", "Stale", "serialize"]

MAX_HEAD = 64 * 1024  # response status line + headers (1xx heads included)
HIGH_WATER = 1024 * 1024  # stop reading the socket while this much is received and not yet parsed
JOIN_LIMIT = 64 * 1024  # a body piece handed up joins at most about this many bytes

_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_BAD_VALUE = re.compile(rb"[\r\n\x00]")

Origin = tuple[str, str, int]


class Stale(Exception):
    """A pooled connection was closed by the server before any byte of the response."""


class Connection(asyncio.Protocol):
    """One HTTP/1.1 connection, used by one request at a time.

    The request calls :meth:`send`, then :meth:`read_head`, then :meth:`take` (and :meth:`more`
    while it returns nothing) until the body is done; :meth:`reusable` then says whether
    another request may follow on it.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, origin: Origin) -> None:
        self.loop = loop
        self.origin = origin
        self.transport: asyncio.Transport | None = None
        self.pending: list[bytes] = []  # received, not yet parsed
        self.pending_size = 0
        self.eof = False
        self.waiter: asyncio.Future[None] | None = None
        self.drain_waiter: asyncio.Future[None] | None = None
        self.write_paused = False
        self.read_paused = False
        self.idle_since = 0.0
        self.used = 0  # responses read on this connection
        self.counted = True  # still counted in the pool's open connections
        self._start(False, False)

    def _start(self, head_only: bool, close: bool) -> None:
        """Ready for a new response: a fresh parser (no state of the last response can leak
        into this one) and nothing read yet."""
        self.parser = httptools.HttpResponseParser(self)
        self.parser.set_dangerous_leniencies(lenient_optional_cr_before_lf=True)
        self.head_only = head_only  # a HEAD request: the response has no body, whatever it says
        self.close_after = close  # the request said ``Connection: close``
        self.received = 0  # bytes of this response given to the parser
        self.head_size = (
            0  # bytes of its head's reason phrases and header lines (1xx heads included)
        )
        self.status = 0
        self.reason = b""
        self.version = b"HTTP/1.1"
        self.headers: list[tuple[bytes, bytes]] = []
        self.head_done = False
        self.keep_alive = False
        self.switched = False  # a 101 head
        self.chunked = False
        self.length: int | None = (
            None  # content-length; None with neither it nor chunked: ends at EOF
        )
        self.body: list[bytes] = []  # parsed, not yet handed up
        self.body_size = 0
        self.body_received = 0
        self.done = False
        self.extra = False  # bytes after the response's end (or a body ending at EOF): never reused

    # -- llhttp's callbacks, run inside parser.feed_data (all ignore what follows the response)

    def on_message_begin(self) -> None:
        if self.done:
            self.extra = True

    def on_status(self, reason: bytes) -> None:
        if not self.head_done:
            self.reason += reason
            self.head_size += len(reason)

    def on_header(self, name: bytes, value: bytes) -> None:
        if not self.head_done:  # after the head: a chunked body's trailers, not passed on
            self.headers.append((name, value))
            self.head_size += len(name) + len(value) + 4

    def on_headers_complete(self) -> None:
        if self.head_done:
            return
        parser = self.parser
        status = parser.get_status_code()
        if status < 200:  # informational: its head is all there is; the real one follows
            self.switched = status == 101  # llhttp then stops with an error
            self.reason = b""
            self.headers = []
            return
        self.status = status
        self.head_done = True
        self.keep_alive = parser.should_keep_alive()
        if parser.get_http_version() != "1.1":
            self.version = b"HTTP/" + parser.get_http_version().encode("ascii")
        for (
            name,
            value,
        ) in self.headers:  # llhttp checked them: only for a connection that ends early
            if len(name) == 14 and name.lower() == b"content-length":
                self.length = int(value)
            elif len(name) == 17 and name.lower() == b"transfer-encoding":
                self.chunked = value.rsplit(b",", 1)[-1].strip().lower() == b"chunked"
        if self.chunked:
            self.length = None
        if self.head_only:
            self.done = True  # llhttp would wait for the body the head describes

    def on_body(self, data: bytes) -> None:
        if self.done:
            self.extra = True
            return
        self.body.append(data)
        self.body_size += len(data)
        self.body_received += len(data)

    def on_message_complete(self) -> None:
        if self.head_done:  # (not after a 1xx head)
            self.done = True

    # -- the socket's callbacks

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.pending.append(data)
        self.pending_size += len(data)
        if self.pending_size > HIGH_WATER and not self.read_paused and self.transport is not None:
            self.read_paused = True
            self.transport.pause_reading()
        self._wake()

    def eof_received(self) -> bool | None:
        self.eof = True
        self._wake()
        return None  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self.eof = True
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

    # -- used by the request

    @property
    def closed(self) -> bool:
        return self.eof or self.transport is None or self.transport.is_closing()

    async def send(
        self,
        request: httpx.Request,
        head: bytes,
        body: bytes | None,
        close: bool,
        timeout: float | None,
    ) -> None:
        """Write a request (``head``, ``body`` and ``close`` from :func:`serialize`; ``body`` ``None``:
        stream ``request.stream``); the connection then reads its response."""
        self._start(request.method == "HEAD", close)
        if body is None:
            await self._send_streaming(request, head, timeout)
        elif len(body) <= JOIN_LIMIT:
            await self.write(head + body, timeout, request)
        else:
            await self.write(head, timeout, request)
            await self.write(body, timeout, request)

    async def _send_streaming(
        self, request: httpx.Request, head: bytes, timeout: float | None
    ) -> None:
        """Send a request whose body is an async stream (chunked unless it has a content-length)."""
        chunked = "content-length" not in request.headers
        await self.write(head, timeout, request)
        stream = request.stream
        assert isinstance(stream, httpx.AsyncByteStream)
        async for piece in stream:
            if piece:
                await self.write(
                    b"%x\r\n%b\r\n" % (len(piece), piece) if chunked else piece, timeout, request
                )
        if chunked:
            await self.write(b"0\r\n\r\n", timeout, request)

    async def write(self, data: bytes, timeout: float | None, request: httpx.Request) -> None:
        transport = self.transport
        if transport is None or transport.is_closing() or self.eof:
            raise Stale
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

    async def read_head(self, request: httpx.Request, timeout: float | None) -> None:
        """Parse until the response's head (``status``, ``reason``, ``headers``, ``version``) is in."""
        while not self.head_done:
            if self._feed(request):
                continue
            if self.eof:
                self._ended(request)  # raises: the head is incomplete
            await self.more(timeout, request)

    def take(self, request: httpx.Request) -> tuple[bytes, bool]:
        """The body bytes that can be had now without waiting (parsing stops once about
        :data:`JOIN_LIMIT` of them wait), and whether the body ended with them."""
        if not self.done:
            self._feed(request)
            if not self.done and not self.pending and self.eof:
                self._ended(request)
        body = self.body
        if not body:
            return b"", self.done
        piece = body[0] if len(body) == 1 else b"".join(body)
        body.clear()
        self.body_size = 0
        return piece, self.done

    async def more(self, timeout: float | None, request: httpx.Request) -> None:
        """Wait until more bytes arrive or the stream ends (``httpx.ReadTimeout`` after ``timeout``)."""
        if self.eof or self.pending:
            return
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

    def _feed(self, request: httpx.Request) -> bool:
        """Parse what was received, stopping once about :data:`JOIN_LIMIT` bytes of body wait to be
        handed up; ``False`` when nothing was waiting."""
        pending = self.pending
        if not pending:
            return False
        parser = self.parser
        n = 0
        try:
            for data in pending:
                if self.done:
                    self.extra = True
                    break
                n += 1
                self.pending_size -= len(data)
                self.received += len(data)
                parser.feed_data(data)
                if self.head_size > MAX_HEAD or (not self.head_done and self.received > MAX_HEAD):
                    raise httpx.RemoteProtocolError("response headers too large", request=request)
                if self.body_size >= JOIN_LIMIT:
                    break
        except (httptools.HttpParserError, httptools.HttpParserUpgrade) as exc:
            if not self.done:
                why = (
                    "the server switched protocols (101), which is not supported"
                    if self.switched
                    else exc
                )
                raise httpx.RemoteProtocolError(
                    f"malformed response: {why}", request=request
                ) from None
            self.extra = True  # something after the response's end: the connection is not reused
        finally:
            del pending[:n]
            if self.read_paused and self.pending_size <= HIGH_WATER and self.transport is not None:
                self.read_paused = False
                self.transport.resume_reading()
        return True

    def _ended(self, request: httpx.Request) -> None:
        """The server closed the connection and all it sent is parsed: a body that runs to the
        connection's end is complete; anything else was cut short."""
        if not self.head_done:
            if not self.received:
                raise Stale
            raise httpx.RemoteProtocolError(
                "Server disconnected while sending the response headers.", request=request
            )
        if self.done:
            return
        if self.chunked:
            raise httpx.RemoteProtocolError(
                "peer closed connection without sending complete message body (incomplete chunked read)",
                request=request,
            )
        if self.length is not None:
            raise httpx.RemoteProtocolError(
                "peer closed connection without sending complete message body "
                f"(received {self.body_received} bytes, expected {self.length})",
                request=request,
            )
        self.done = True
        self.extra = True

    def reusable(self) -> bool:
        """The response was read to its end and both sides allow another request on this connection."""
        return (
            self.done
            and self.keep_alive
            and not self.extra
            and not self.close_after
            and not self.pending
            and not self.closed
        )

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
        self.eof = True


def _expire(fut: asyncio.Future[None], request: httpx.Request) -> None:
    if not fut.done():
        fut.set_exception(httpx.ReadTimeout("timed out waiting for the server", request=request))


def serialize(request: httpx.Request) -> tuple[bytes, bytes | None, bool]:
    """The request head, its body when it is in memory (``None``: send ``request.stream``, which
    cannot be sent again), and whether it asks for the connection to close after its response."""
    method = request.method.encode("ascii")
    if not _TOKEN.fullmatch(method):
        raise httpx.LocalProtocolError(f"invalid HTTP method {request.method!r}", request=request)
    target = request.url.raw_path or b"/"
    if b" " in target or _BAD_VALUE.search(target):
        raise httpx.LocalProtocolError("invalid request target", request=request)
    parts = [method, b" ", target, b" HTTP/1.1\r\n"]
    close = False
    for name, value in request.headers.raw:
        if not _TOKEN.fullmatch(name) or _BAD_VALUE.search(value):
            raise httpx.LocalProtocolError(f"invalid header {name!r}", request=request)
        if len(name) == 10 and name.lower() == b"connection":
            close = close or b"close" in value.lower()
        parts += (name, b": ", value, b"\r\n")
    parts.append(b"\r\n")
    head = b"".join(parts)
    try:
        body: bytes | None = request.content
    except httpx.RequestNotRead:
        body = None
    return head, body, close
