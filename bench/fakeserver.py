"""An out-of-process loopback fake of the Anthropic and OpenAI chat endpoints, for benchmarks.

A raw asyncio HTTP/1.1 server (keep-alive, pipelining-safe, content-length or
chunked request bodies) that answers from bytes prepared once at start-up:

* ``POST …/messages``          → the Anthropic reply (``"stream":true`` in the body → SSE)
* ``POST …/chat/completions``  → the OpenAI reply    (``"stream":true`` in the body → SSE)
* ``GET /health``              → ``ok``
* ``GET /stats``               → ``{"requests": n, "connections": m}`` served so far
* anything else                → a 404 JSON error

JSON replies carry ``content-length``; streams are sent with chunked
transfer-encoding, one HTTP chunk per SSE event (see ``payloads.py``).

It binds 127.0.0.1 on a random port, prints ``PORT <n>`` on stdout and serves
until its stdin reaches end-of-file (the driver closes the pipe or dies) or
``--ttl`` seconds have passed, whichever comes first.  It then prints
``SERVED <requests>`` and exits.

    python bench/fakeserver.py [--deltas 2000] [--ttl 900]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from payloads import FORMATS, response_body, stream_payload

_STREAM_FLAG = re.compile(rb'"stream"\s*:\s*true')


def _json_reply(body: bytes, status: bytes = b"200 OK") -> bytes:
    return (
        b"HTTP/1.1 " + status + b"\r\n"
        b"content-type: application/json\r\n"
        b"content-length: " + str(len(body)).encode() + b"\r\n"
        b"\r\n" + body
    )


def _stream_reply(chunked_body: bytes) -> bytes:
    return (
        b"HTTP/1.1 200 OK\r\n"
        b"content-type: text/event-stream; charset=utf-8\r\n"
        b"cache-control: no-cache\r\n"
        b"transfer-encoding: chunked\r\n"
        b"\r\n" + chunked_body
    )


class Replies:
    def __init__(self, deltas: int) -> None:
        self.json = {fmt: _json_reply(response_body(fmt)) for fmt in FORMATS}
        self.stream = {fmt: _stream_reply(stream_payload(fmt, deltas).chunked()) for fmt in FORMATS}
        self.health = b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\n\r\nok"
        self.not_found = _json_reply(
            b'{"error":{"message":"no such route in the bench fake","type":"not_found"}}',
            b"404 Not Found",
        )

    def pick(self, method: bytes, path: bytes, body: bytes) -> bytes:
        path = path.split(b"?", 1)[0].rstrip(b"/")
        if method == b"GET" and path == b"/health":
            return self.health
        if method == b"GET" and path == b"/stats":
            return b""  # filled in by the connection, which knows the counters
        if path.endswith(b"/messages"):
            fmt = "anthropic"
        elif path.endswith(b"/chat/completions"):
            fmt = "openai"
        else:
            return self.not_found
        return self.stream[fmt] if _STREAM_FLAG.search(body) else self.json[fmt]


class _Incomplete(Exception):
    pass


def _chunked_body(buf: bytearray, start: int) -> tuple[bytes, int]:
    """Decode a chunked request body starting at ``start``; returns (body, end offset)."""
    pos = start
    out = bytearray()
    while True:
        eol = buf.find(b"\r\n", pos)
        if eol < 0:
            raise _Incomplete
        size = int(bytes(buf[pos:eol]).split(b";", 1)[0].strip() or b"0", 16)
        pos = eol + 2
        if size == 0:
            # trailers end with an empty line
            end = buf.find(b"\r\n\r\n", pos - 2)
            if end < 0:
                raise _Incomplete
            return bytes(out), end + 4
        if len(buf) < pos + size + 2:
            raise _Incomplete
        out += buf[pos : pos + size]
        pos += size + 2


class Conn(asyncio.Protocol):
    def __init__(self, server: Server) -> None:
        self.server = server
        self.buf = bytearray()
        self.transport: asyncio.Transport | None = None
        self.continued = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.server.connections += 1

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while self.transport is not None:
            head_end = self.buf.find(b"\r\n\r\n")
            if head_end < 0:
                return
            lines = bytes(self.buf[:head_end]).split(b"\r\n")
            try:
                method, path, version = lines[0].split(b" ", 2)
            except ValueError:
                self.transport.write(
                    _json_reply(b'{"error":"bad request line"}', b"400 Bad Request")
                )
                self.transport.close()
                return
            headers: dict[bytes, bytes] = {}
            for line in lines[1:]:
                k, _, v = line.partition(b":")
                headers[k.strip().lower()] = v.strip()
            start = head_end + 4
            try:
                if b"chunked" in headers.get(b"transfer-encoding", b"").lower():
                    body, end = _chunked_body(self.buf, start)
                else:
                    length = int(headers.get(b"content-length", b"0") or b"0")
                    if len(self.buf) < start + length:
                        raise _Incomplete
                    body, end = bytes(self.buf[start : start + length]), start + length
            except _Incomplete:
                if headers.get(b"expect", b"").lower() == b"100-continue" and not self.continued:
                    self.continued = True
                    self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                return
            del self.buf[:end]
            self.continued = False
            self.server.served += 1
            reply = self.server.replies.pick(method, path, body)
            if not reply:
                stats = b'{"requests":%d,"connections":%d}' % (
                    self.server.served,
                    self.server.connections,
                )
                reply = _json_reply(stats)
            self.transport.write(reply)
            if headers.get(b"connection", b"").lower() == b"close" or version == b"HTTP/1.0":
                self.transport.close()
                self.transport = None
                return

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None


class Server:
    def __init__(self, replies: Replies) -> None:
        self.replies = replies
        self.served = 0
        self.connections = 0


async def _serve(deltas: int, ttl: float) -> int:
    loop = asyncio.get_running_loop()
    state = Server(Replies(deltas))
    stop = loop.create_future()

    def _finish() -> None:
        if not stop.done():
            stop.set_result(None)

    srv = await loop.create_server(
        lambda: Conn(state), "127.0.0.1", 0, backlog=1024, reuse_address=True
    )
    port = srv.sockets[0].getsockname()[1]
    sys.stdout.write(f"PORT {port}\n")
    sys.stdout.flush()

    stdin_fd = sys.stdin.fileno()

    def _stdin_readable() -> None:
        try:
            data = os.read(stdin_fd, 4096)
        except OSError:
            data = b""
        if not data:
            loop.remove_reader(stdin_fd)
            _finish()

    # without a usable stdin the server relies on its TTL alone
    with contextlib.suppress(ValueError, OSError, NotImplementedError):
        loop.add_reader(stdin_fd, _stdin_readable)
    timer = loop.call_later(ttl, _finish)
    try:
        await stop
    finally:
        timer.cancel()
        srv.close()
        with contextlib.suppress(TimeoutError, OSError):
            await asyncio.wait_for(srv.wait_closed(), 2.0)
    return state.served


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--deltas", type=int, default=2000, help="content deltas per streamed reply")
    ap.add_argument(
        "--ttl", type=float, default=900.0, help="exit after this many seconds at the latest"
    )
    args = ap.parse_args()
    served = asyncio.run(_serve(args.deltas, args.ttl))
    sys.stdout.write(f"SERVED {served}\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
