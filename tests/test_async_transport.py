"""The HTTP layer over loopback servers: the asyncio transport behind AsyncClient, and
connection reuse after streams (sync and async).

Two kinds of server: the fake provider (``specgen.conform.fake``) for whole client calls,
and a scripted raw asyncio server below for HTTP framing the fake provider never sends.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable

import httpx
import pytest

from specgen.conform.fake import FakeProvider, Reply
from specgen_providers import anthropic, openai
from specgen_runtime import errors as E
from specgen_runtime.http import DRAIN_BYTES
from specgen_runtime.transport import AsyncTransport

from conftest import fixture_path

MSGS = [{"role": "user", "content": "Hello"}]
RESPONSE = fixture_path("openai", "chat", "response.json")
STREAM = fixture_path("openai", "chat", "stream.sse").read_bytes()
EVENTS = [e + b"\n\n" for e in STREAM.split(b"\n\n") if e.strip()]


def sse(pieces: list[bytes], **kw: object) -> Reply:
    reply = Reply.stream(b"", "text/event-stream", pieces)
    for k, v in kw.items():
        setattr(reply, k, v)
    return reply


def expected_text() -> str:
    text = ""
    for event in EVENTS:
        data = event.decode().removeprefix("data: ").strip()
        if data != "[DONE]":
            for choice in json.loads(data)["choices"]:
                text += choice["delta"].get("content") or ""
    return text


def text_of(chunks: Iterable[object]) -> str:
    return "".join(choice.delta.content or "" for chunk in chunks for choice in chunk.choices)  # type: ignore[attr-defined]


async def collect(it: AsyncIterator[object]) -> str:
    text = ""
    async for chunk in it:
        for choice in chunk.choices:  # type: ignore[attr-defined]
            text += choice.delta.content or ""
    return text


# ---------------------------------------------------------------------------- AsyncClient over the fake provider


def test_async_stream_arrives_incrementally(fake: FakeProvider) -> None:
    hold = threading.Event()
    fake.queue(sse(EVENTS, hold=hold, hold_at=2))  # the server stops after two events until released

    async def main() -> tuple[list[str | None], str]:
        async with openai.AsyncClient(api_key="k", base_url=fake.url, max_retries=0) as c:
            it = await c.chat(model="gpt-4o", messages=MSGS, stream=True)
            first = [
                (await asyncio.wait_for(it.__anext__(), 10)).choices[0].delta.content for _ in range(2)
            ]
            hold.set()
            return first, await collect(it)

    try:
        first, rest = asyncio.run(main())
    finally:
        hold.set()
    assert first[0] == "" and first[1]  # both read while the rest of the body was still unsent
    assert "".join(x or "" for x in first) + rest == expected_text()


def test_async_stream_cut_raises_connection_error(fake: FakeProvider) -> None:
    fake.queue(sse(EVENTS[:3], cut=True))

    async def main() -> None:
        async with openai.AsyncClient(api_key="k", base_url=fake.url) as c:
            await collect(await c.chat(model="gpt-4o", messages=MSGS, stream=True))

    with pytest.raises(E.APIConnectionError, match="incomplete chunked read"):
        asyncio.run(main())
    assert len(fake.received) == 1  # a stream is never retried once it has begun


def test_async_stream_without_terminator_is_interrupted(fake: FakeProvider) -> None:
    fake.queue(sse(EVENTS[:-1]))

    async def main() -> None:
        async with openai.AsyncClient(api_key="k", base_url=fake.url) as c:
            await collect(await c.chat(model="gpt-4o", messages=MSGS, stream=True))

    with pytest.raises(E.StreamInterruptedError):
        asyncio.run(main())


def test_async_cut_body_raises_connection_error_after_retries(fake: FakeProvider) -> None:
    body = RESPONSE.read_bytes()
    fake.queue(*[Reply(200, body, {"content-type": "application/json"}, cut=True)] * 2)

    async def main() -> None:
        async with openai.AsyncClient(api_key="k", base_url=fake.url, max_retries=1, backoff=0.001) as c:
            await c.chat(model="gpt-4o", messages=MSGS)

    with pytest.raises(E.APIConnectionError, match="expected"):
        asyncio.run(main())
    assert len(fake.received) == 2


def test_async_timeout_before_the_response(fake: FakeProvider) -> None:
    hold = threading.Event()
    fake.queue(Reply(200, RESPONSE.read_bytes(), {"content-type": "application/json"}, hold=hold))

    async def main() -> None:
        async with openai.AsyncClient(api_key="k", base_url=fake.url, timeout=0.2, max_retries=0) as c:
            await c.chat(model="gpt-4o", messages=MSGS)

    try:
        with pytest.raises(E.Timeout):
            asyncio.run(main())
    finally:
        hold.set()
    assert len(fake.received) == 1


def test_async_timeout_inside_a_stream(fake: FakeProvider) -> None:
    hold = threading.Event()
    fake.queue(sse(EVENTS, hold=hold, hold_at=1))

    async def main() -> None:
        async with openai.AsyncClient(api_key="k", base_url=fake.url, timeout=0.2, max_retries=0) as c:
            await collect(await c.chat(model="gpt-4o", messages=MSGS, stream=True))

    try:
        with pytest.raises(E.Timeout):
            asyncio.run(main())
    finally:
        hold.set()


def test_async_retry_honours_retry_after_on_one_connection(fake: FakeProvider) -> None:
    fake.queue(
        Reply.file(fixture_path("anthropic", "chat", "error_429.json"), status=429, headers={"retry-after": "0.01"}),
        Reply.file(fixture_path("anthropic", "chat", "error_529.json"), status=529, headers={"retry-after-ms": "10"}),
        Reply.file(fixture_path("anthropic", "chat", "response.json")),
    )

    async def main() -> str | None:
        async with anthropic.AsyncClient(api_key="k", base_url=fake.url, max_retries=2, backoff=30) as c:
            r = await c.chat(model="claude-sonnet-4-5", messages=MSGS, max_tokens=10)
            return r.choices[0].finish_reason

    assert asyncio.run(main()) == "stop"  # backoff=30 would time the test out: Retry-After was used
    assert len(fake.received) == 3
    assert fake.connections == 1  # error replies keep the connection alive too


def test_async_rate_limit_error_after_retries(fake: FakeProvider) -> None:
    fake.queue(*[Reply.file(fixture_path("openai", "chat", "error_429.json"), status=429, headers={"retry-after": "0"})] * 3)

    async def main() -> None:
        async with openai.AsyncClient(api_key="k", base_url=fake.url, max_retries=2) as c:
            await c.chat(model="gpt-4o", messages=MSGS)

    with pytest.raises(E.RateLimitError) as info:
        asyncio.run(main())
    assert info.value.status_code == 429 and len(fake.received) == 3


def test_async_connect_error() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]

    async def main() -> None:
        async with openai.AsyncClient(api_key="k", base_url=f"http://127.0.0.1:{port}", max_retries=1, backoff=0.001) as c:
            await c.chat(model="gpt-4o", messages=MSGS)

    with pytest.raises(E.APIConnectionError, match="ConnectError"):
        asyncio.run(main())


def test_async_client_uses_a_given_http_client(fake: FakeProvider) -> None:
    fake.queue(Reply.file(RESPONSE))
    seen: list[str] = []

    async def hook(request: httpx.Request) -> None:
        seen.append(request.url.path)

    async def main() -> str | None:
        http = httpx.AsyncClient(event_hooks={"request": [hook]})
        async with openai.AsyncClient(api_key="k", base_url=fake.url, http_client=http) as c:
            r = await c.chat(model="gpt-4o", messages=MSGS)
        assert not http.is_closed  # not ours to close
        await http.aclose()
        return r.choices[0].message.content

    assert asyncio.run(main())
    assert seen == ["/chat/completions"]


def test_async_client_honours_proxy_environment(fake: FakeProvider, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy", "HTTPS_PROXY", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", fake.url)  # the fake provider plays the proxy
    fake.queue(Reply.file(RESPONSE))

    async def main() -> str | None:
        async with openai.AsyncClient(api_key="k", base_url="http://api.example.invalid/v1") as c:
            return (await c.chat(model="gpt-4o", messages=MSGS)).choices[0].message.content

    assert asyncio.run(main())
    assert fake.last.path == "/v1/chat/completions"
    assert fake.last.headers["host"] == "api.example.invalid"


# ---------------------------------------------------------------------------- connection reuse after streams


def test_sync_stream_returns_its_connection(fake: FakeProvider) -> None:
    fake.queue(sse(EVENTS), Reply.file(RESPONSE), sse(EVENTS), Reply.file(RESPONSE))
    with openai.Client(api_key="k", base_url=fake.url) as c:
        for _ in range(2):
            assert text_of(c.chat(model="gpt-4o", messages=MSGS, stream=True)) == expected_text()
            assert c.chat(model="gpt-4o", messages=MSGS).choices[0].message.content
    assert len(fake.received) == 4
    assert fake.connections == 1


def test_async_stream_returns_its_connection(fake: FakeProvider) -> None:
    fake.queue(sse(EVENTS), Reply.file(RESPONSE), sse(EVENTS), Reply.file(RESPONSE))

    async def main() -> None:
        async with openai.AsyncClient(api_key="k", base_url=fake.url) as c:
            for _ in range(2):
                assert await collect(await c.chat(model="gpt-4o", messages=MSGS, stream=True)) == expected_text()
                assert (await c.chat(model="gpt-4o", messages=MSGS)).choices[0].message.content

    asyncio.run(main())
    assert len(fake.received) == 4
    assert fake.connections == 1


@pytest.mark.parametrize("sync", [True, False])
def test_drain_after_the_terminator_is_bounded(fake: FakeProvider, sync: bool) -> None:
    junk = [b": " + b"x" * 1000 + b"\n\n"] * (DRAIN_BYTES // 1000 * 3)  # comments after [DONE]
    fake.queue(sse([*EVENTS, *junk]), Reply.file(RESPONSE))
    if sync:
        with openai.Client(api_key="k", base_url=fake.url) as c:
            assert text_of(c.chat(model="gpt-4o", messages=MSGS, stream=True)) == expected_text()
            assert c.chat(model="gpt-4o", messages=MSGS).choices[0].message.content
    else:

        async def main() -> None:
            async with openai.AsyncClient(api_key="k", base_url=fake.url) as c:
                assert await collect(await c.chat(model="gpt-4o", messages=MSGS, stream=True)) == expected_text()
                assert (await c.chat(model="gpt-4o", messages=MSGS)).choices[0].message.content

        asyncio.run(main())
    assert fake.connections == 2  # too much left after the terminator: that connection was closed


# ---------------------------------------------------------------------------- the transport over scripted HTTP

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter, int], Awaitable[None]]


async def read_request(reader: asyncio.StreamReader) -> tuple[list[bytes], bytes] | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    lines = head[:-4].split(b"\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(b":") for line in lines[1:])}
    if headers.get(b"transfer-encoding") == b"chunked":
        body = b""
        while True:
            size = int((await reader.readuntil(b"\r\n"))[:-2], 16)
            data = await reader.readexactly(size + 2)
            if not size:
                break
            body += data[:-2]
    else:
        body = await reader.readexactly(int(headers.get(b"content-length", b"0")))
    return lines, body


@contextlib.asynccontextmanager
async def scripted(handler: Handler) -> AsyncIterator[tuple[str, list[int]]]:
    """A raw HTTP server on 127.0.0.1 that runs ``handler(reader, writer, connection_number)``."""
    connections: list[int] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(len(connections))
        try:
            await handler(reader, writer, len(connections) - 1)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", connections
    finally:
        server.close()


def replies(*raw: bytes) -> Handler:
    """Answer the n-th request on a connection with ``raw[n]`` (the last one repeats)."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        n = 0
        while await read_request(reader) is not None:
            writer.write(raw[min(n, len(raw) - 1)])
            await writer.drain()
            n += 1

    return handler


async def fetch(url: str, client: httpx.AsyncClient | None = None, method: str = "GET", **kw: object) -> httpx.Response:
    if client is None:
        async with httpx.AsyncClient(transport=AsyncTransport()) as own:
            return await fetch(url, own, method, **kw)
    response = await client.request(method, url, **kw)  # type: ignore[arg-type]
    await response.aread()
    return response


def test_chunked_with_extensions_trailers_and_informational_head() -> None:
    raw = (
        b"HTTP/1.1 100 Continue\r\n\r\n"
        b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\n\r\n"
        b"5;ext=1\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\nx-trailer: 1\r\n\r\n"
    )

    async def main() -> tuple[httpx.Response, list[int]]:
        async with scripted(replies(raw)) as (url, conns), httpx.AsyncClient(transport=AsyncTransport()) as client:
            first = await fetch(url, client)
            second = await fetch(url, client)
            assert second.text == first.text
            return first, conns

    response, conns = asyncio.run(main())
    assert response.status_code == 200 and response.text == "hello world"
    assert response.reason_phrase == "OK" and response.http_version == "HTTP/1.1"
    assert len(conns) == 1  # reused


def test_bodies_framed_every_way() -> None:
    cases = {
        "length": (b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\nabc", "abc"),
        "bare_lf": (b"HTTP/1.1 200 OK\ncontent-length: 3\n\nabc", "abc"),
        "no_content": (b"HTTP/1.1 204 No Content\r\n\r\n", ""),
        "until_close": (b"HTTP/1.0 200 OK\r\n\r\nto the end", "to the end"),
        "connection_close": (b"HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 2\r\n\r\nok", "ok"),
    }
    for name, (raw, text) in cases.items():

        async def once(raw: bytes = raw) -> str:
            async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
                await read_request(reader)
                writer.write(raw)
                await writer.drain()
                if b"content-length" not in raw and b"204" not in raw:
                    return  # close: that ends the body
                await read_request(reader)  # wait for the client to go away

            async with scripted(handler) as (url, _):
                return (await fetch(url)).text

        assert asyncio.run(once()) == text, name


def test_head_request_has_no_body() -> None:
    async def main() -> httpx.Response:
        async with scripted(replies(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n")) as (url, _):
            return await fetch(url, method="HEAD")

    response = asyncio.run(main())  # type: ignore[arg-type]
    assert response.status_code == 200 and response.content == b""


@pytest.mark.parametrize(
    "raw",
    [
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\ncontent-length: 4\r\n\r\nabcd",
        b"HTTP/1.1 2000 Huh\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nbad header line\r\n\r\n",
        b"SPDY/3 200 OK\r\n\r\n",
    ],
)
def test_malformed_responses_are_protocol_errors(raw: bytes) -> None:
    async def main() -> None:
        async with scripted(replies(raw)) as (url, _):
            await fetch(url)

    with pytest.raises(httpx.RemoteProtocolError):
        asyncio.run(main())


def test_large_body_streams_with_backpressure_and_request_body_streams() -> None:
    size = 5 * 1024 * 1024

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        request = await read_request(reader)
        assert request is not None
        _, body = request
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\nx-upload: %d\r\n\r\n" % (size, len(body)))
        block = bytes(range(256)) * 256
        for _ in range(size // len(block)):
            writer.write(block)
            await writer.drain()

    async def upload() -> AsyncIterator[bytes]:
        for i in range(10):
            yield bytes([i]) * 1000

    async def main() -> tuple[int, int, int]:
        async with scripted(handler) as (url, _), httpx.AsyncClient(transport=AsyncTransport()) as client:
            req = client.build_request("POST", url, content=upload())
            response = await client.send(req, stream=True)
            pieces = 0
            total = 0
            async for piece in response.aiter_raw():
                pieces += 1
                total += len(piece)
            await response.aclose()
            return int(response.headers["x-upload"]), total, pieces

    uploaded, total, pieces = asyncio.run(main())
    assert uploaded == 10_000 and total == size and pieces > 1


def test_stale_pooled_connection_is_retried_once() -> None:
    ok = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        await read_request(reader)
        writer.write(ok)
        await writer.drain()
        await read_request(reader)  # a second request on this connection: hang up without answering

    async def main() -> tuple[list[str], int]:
        async with scripted(handler) as (url, conns), httpx.AsyncClient(transport=AsyncTransport()) as client:
            texts = [(await fetch(url, client)).text for _ in range(3)]
            return texts, len(conns)

    texts, n = asyncio.run(main())
    assert texts == ["ok", "ok", "ok"] and n == 3


def test_pool_limit_queues_requests_and_pool_timeout() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        while await read_request(reader) is not None:
            await asyncio.sleep(0.01)
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
            await writer.drain()

    async def main() -> tuple[list[str], int]:
        async with scripted(handler) as (url, conns):
            transport = AsyncTransport(limits=httpx.Limits(max_connections=2))
            async with httpx.AsyncClient(transport=transport) as client:
                texts = await asyncio.gather(*(client.get(url) for _ in range(6)))
                with pytest.raises(httpx.PoolTimeout):
                    await asyncio.gather(*(client.get(url, timeout=httpx.Timeout(5, pool=0.001)) for _ in range(6)))
            return [r.text for r in texts], len(conns)

    texts, n = asyncio.run(main())
    assert texts == ["ok"] * 6 and n == 2


def test_header_injection_is_refused() -> None:
    async def main() -> None:
        async with scripted(replies(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")) as (url, _):
            await fetch(url, headers={"x-bad": "a\r\nx-injected: 1"})

    with pytest.raises(httpx.LocalProtocolError):
        asyncio.run(main())


def test_closed_transport_refuses_requests() -> None:
    async def main() -> None:
        transport = AsyncTransport()
        await transport.aclose()
        await transport.handle_async_request(httpx.Request("GET", "http://127.0.0.1:9/"))

    with pytest.raises(RuntimeError, match="closed"):
        asyncio.run(main())


def test_chunked_body_of_many_sizes_and_splits() -> None:
    import random

    rng = random.Random(5)
    payload = bytes(rng.getrandbits(8) for _ in range(3 * 1024 * 1024))
    framed = bytearray()
    pos = 0
    while pos < len(payload):
        size = rng.choice([1, 7, 100, 4096, 70_000, 300_000])
        piece = payload[pos : pos + size]
        framed += b"%x%s\r\n" % (len(piece), b";x=y" if size == 7 else b"") + piece + b"\r\n"
        pos += size
    framed += b"0\r\n\r\n"
    raw = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n" + bytes(framed)

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        while await read_request(reader) is not None:
            i = 0
            while i < len(raw):
                step = rng.choice([1, 3, 500, 65_536, 1_000_000])
                writer.write(raw[i : i + step])
                i += step
                if step < 1000 and rng.random() < 0.01:
                    await writer.drain()
                    await asyncio.sleep(0)
            await writer.drain()

    async def main() -> tuple[bytes, bytes, int]:
        async with scripted(handler) as (url, conns), httpx.AsyncClient(transport=AsyncTransport()) as client:
            first = (await fetch(url, client)).content
            second = (await fetch(url, client)).content
            return first, second, len(conns)

    first, second, n = asyncio.run(main())
    assert first == payload and second == payload and n == 1


def test_request_asking_to_close_does_not_reuse_the_connection() -> None:
    ok = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"

    async def main() -> int:
        async with scripted(replies(ok)) as (url, conns), httpx.AsyncClient(transport=AsyncTransport()) as client:
            for _ in range(2):
                assert (await fetch(url, client, headers={"connection": "close"})).text == "ok"
            assert (await fetch(url, client)).text == "ok"
            assert (await fetch(url, client)).text == "ok"
            return len(conns)

    assert asyncio.run(main()) == 3


# ---------------------------------------------------------------------------- what the transport adds to llhttp's parsing


def test_head_larger_than_the_limit_is_a_protocol_error() -> None:
    from specgen_runtime.http1 import MAX_HEAD

    filler = b"x-filler: " + b"a" * 1000 + b"\r\n"  # valid lines: llhttp itself sets no limit
    raw = b"HTTP/1.1 200 OK\r\n" + filler * (MAX_HEAD // len(filler) + 2) + b"content-length: 0\r\n\r\n"

    async def main() -> None:
        async with scripted(replies(raw)) as (url, _):
            await fetch(url)

    with pytest.raises(httpx.RemoteProtocolError, match="too large"):
        asyncio.run(main())


def test_each_response_on_a_reused_connection_is_parsed_afresh() -> None:
    chunked = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nx-trailer: 1\r\n\r\n"
    plain = b"HTTP/1.1 201 Created\r\nx-second: 2\r\ncontent-length: 3\r\n\r\nnew"

    async def main() -> tuple[httpx.Response, httpx.Response, httpx.Response, int]:
        async with scripted(replies(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n", chunked, plain)) as (url, conns), \
                httpx.AsyncClient(transport=AsyncTransport()) as client:
            head = await fetch(url, client, method="HEAD")  # a head describing a body that is not sent
            first = await fetch(url, client)
            second = await fetch(url, client)
            return head, first, second, len(conns)

    head, first, second, n = asyncio.run(main())
    assert head.content == b"" and first.text == "ok" and second.text == "new"
    assert second.status_code == 201 and second.reason_phrase == "Created"
    assert [k for k, _ in second.headers.items()] == ["x-second", "content-length"]  # no trailer of the last one
    assert "x-trailer" not in first.headers  # trailers are not passed on
    assert n == 1


def test_bytes_after_a_response_close_its_connection() -> None:
    ok = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"

    async def main() -> tuple[list[str], int]:
        async with scripted(replies(ok + b"junk", ok + b"HTTP/1.1 200 OK\r\n", ok)) as (url, conns), \
                httpx.AsyncClient(transport=AsyncTransport()) as client:
            texts = [(await fetch(url, client)).text for _ in range(3)]
            return texts, len(conns)

    texts, n = asyncio.run(main())
    assert texts == ["ok", "ok", "ok"] and n == 3  # neither the junk nor the half response is taken for the next one


def test_switching_protocols_is_refused_and_http10_is_reported() -> None:
    switch = b"HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\n\r\n"

    async def refused() -> None:
        async with scripted(replies(switch)) as (url, _):
            await fetch(url)

    with pytest.raises(httpx.RemoteProtocolError, match="101"):
        asyncio.run(refused())

    async def old() -> tuple[httpx.Response, int]:
        async with scripted(replies(b"HTTP/1.0 200 OK\r\ncontent-length: 2\r\n\r\nok")) as (url, conns), \
                httpx.AsyncClient(transport=AsyncTransport()) as client:
            response = await fetch(url, client)
            assert (await fetch(url, client)).text == "ok"
            return response, len(conns)

    response, n = asyncio.run(old())
    assert response.http_version == "HTTP/1.0" and response.text == "ok"
    assert n == 2  # HTTP/1.0 without keep-alive: one connection per response


def test_reset_in_the_middle_of_a_body_is_a_transport_error() -> None:
    import struct

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nabc")
        await writer.drain()
        await asyncio.sleep(0.05)
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close sends a reset
        writer.transport.abort()

    async def main() -> None:
        async with scripted(handler) as (url, _):
            await fetch(url)

    with pytest.raises(httpx.TransportError):
        asyncio.run(main())


def test_clients_share_one_tls_context_unless_told_otherwise() -> None:
    import ssl

    from specgen_runtime.http import shared_ssl_context

    shared = shared_ssl_context()
    assert isinstance(shared, ssl.SSLContext) and shared.verify_mode == ssl.CERT_REQUIRED and shared.check_hostname
    with anthropic.Client(api_key="k") as a, openai.Client(api_key="k") as b:
        # httpx keeps the context on its connection pool
        assert a._http._transport._pool._ssl_context is shared  # type: ignore[attr-defined]
        assert b._http._transport._pool._ssl_context is shared  # type: ignore[attr-defined]
    assert AsyncTransport()._ssl_context() is shared
    own = ssl.create_default_context()
    assert AsyncTransport(verify=own)._ssl_context() is own  # a caller's context is used as given
    assert AsyncTransport(verify=False)._ssl_context() is not shared
