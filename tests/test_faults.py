"""Integration tests against a misbehaving server: the generated clients (sync and async) over a
fault-injecting loopback server (``tests/faultserver.py``, raw sockets on 127.0.0.1).

1. deeply nested JSON in a response, an error body, a stream frame → a typed error, never RecursionError
2. a ``Content-Encoding`` the body does not have → a typed error naming the provider, never a bare httpx one
3. the API key echoed back by the server (or held by a transport exception) is reachable from no error
4. caller input JSON (or HTTP) cannot carry → ``BadRequestError`` naming it, before any I/O
5. a sync stream returns at its terminator even when the chunked body never ends
6. Ollama's in-band stream error → the class (and retry flag) of the spec's error table
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
import types
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import httpx
import pytest
from faultserver import (
    FaultServer,
    Handler,
    Request,
    http_response,
    reply,
    reset,
    silent,
    streamed,
)

from specgen_providers import anthropic, ollama, openai
from specgen_runtime import errors as E

from conftest import fixture_path

KEY = "sk-test-SECRET-0123456789abcdefghij"
MSGS = [{"role": "user", "content": "Hello"}]
PROVIDERS: dict[str, types.ModuleType] = {"openai": openai, "anthropic": anthropic, "ollama": ollama}
MODEL = {"openai": "gpt-4o", "anthropic": "claude-sonnet-4-5", "ollama": "llama3.2"}
PATH = {"openai": "/v1/chat/completions", "anthropic": "/v1/messages", "ollama": "/api/chat"}
STREAM_TYPE = {"openai": "text/event-stream", "anthropic": "text/event-stream", "ollama": "application/x-ndjson"}
ALL = list(PROVIDERS)
SYNC = pytest.mark.parametrize("sync", [True, False], ids=["sync", "async"])


@pytest.fixture
def server() -> Iterator[FaultServer]:
    with FaultServer() as s:
        yield s
    assert not s.errors, f"the fault server's handlers raised: {s.errors!r}"


# ---------------------------------------------------------------------------- helpers


def base_url(provider: str, url: str) -> str:
    """What each provider's official SDK means by base_url: OpenAI's /v1 root, the others' host root."""
    return url + "/v1" if provider == "openai" else url


def stream_file(provider: str) -> bytes:
    name = "stream.ndjson" if provider == "ollama" else "stream.sse"
    return fixture_path(provider, "chat", name).read_bytes()


def stream_pieces(provider: str) -> list[bytes]:
    """The recorded stream, one event (SSE) or line (NDJSON) per piece."""
    data = stream_file(provider)
    if provider == "ollama":
        return [line + b"\n" for line in data.split(b"\n") if line.strip()]
    return [event + b"\n\n" for event in data.split(b"\n\n") if event.strip()]


def response_body(provider: str) -> bytes:
    return fixture_path(provider, "chat", "response.json").read_bytes()


def error_body(provider: str, message: str, **fields: Any) -> bytes:
    """An error body in the provider's own shape, with ``fields`` added to its error object."""
    if provider == "openai":
        return json.dumps({"error": {"message": message, "type": "invalid_request_error", "param": None, "code": None, **fields}}).encode()
    if provider == "anthropic":
        return json.dumps({"type": "error", "error": {"type": "invalid_request_error", "message": message, **fields}, "request_id": "req_1"}).encode()
    return json.dumps({"error": message, **fields}).encode()


def text_of(chunks: Iterable[Any]) -> str:
    return "".join(choice.delta.content or "" for chunk in chunks for choice in chunk.choices)


def expected_text(provider: str) -> str:
    """The text of the recorded stream, read by the sans-I/O parser."""
    return text_of(PROVIDERS[provider].chat.parse_stream([stream_file(provider)], model=MODEL[provider]))


def chat(provider: str, url: str, *, sync: bool, stream: bool = False, client: dict[str, Any] | None = None, **params: Any) -> Any:
    """One chat call through the generated Client or AsyncClient; a stream is read to its end."""
    mod = PROVIDERS[provider]
    kw: dict[str, Any] = {"api_key": KEY, "base_url": base_url(provider, url), "max_retries": 0, "timeout": 5.0, **(client or {})}
    params = {"model": MODEL[provider], "messages": MSGS, **params}
    if sync:
        with mod.Client(**kw) as c:
            return list(c.chat(stream=True, **params)) if stream else c.chat(**params)

    async def main() -> Any:
        async with mod.AsyncClient(**kw) as c:
            if not stream:
                return await c.chat(**params)
            return [chunk async for chunk in await c.chat(stream=True, **params)]

    async def bounded() -> Any:
        return await asyncio.wait_for(main(), 10)

    return asyncio.run(bounded())


def failure(fn: Callable[..., Any], *args: Any, **kw: Any) -> Exception:
    """The exception ``fn`` raises; the test fails when it returns."""
    try:
        result = fn(*args, **kw)
    except Exception as exc:
        return exc
    pytest.fail(f"no error raised; it returned {result!r:.300}")


def typed(err: BaseException, cls: type[E.LLMError], provider: str) -> E.LLMError:
    """``err`` is a ``cls`` naming ``provider``."""
    shown = f"{type(err).__module__}.{type(err).__name__}: {str(err)[:300]}"
    assert isinstance(err, cls), f"expected {cls.__name__}, got {shown}"
    assert err.provider == provider, shown
    assert provider in str(err), shown
    return err


# ---------------------------------------------------------------------------- 1. deep nesting (item 7)

DEPTH = 1000
DEEP: dict[str, bytes] = {
    "list": b"[" * DEPTH + b"]" * DEPTH,
    "object": b'{"a":' * DEPTH + b"1" + b"}" * DEPTH,
    "list_50k": b"[" * 50_000 + b"]" * 50_000,
}
DEEP_ERROR: dict[str, Callable[[str], bytes]] = {
    **{name: (lambda provider, body=body: body) for name, body in DEEP.items()},
    # a readable message beside a deeply nested field
    "wrapped": lambda provider: error_body(provider, "boom", detail="DEEP").replace(b'"DEEP"', DEEP["list"]),
}


@pytest.mark.parametrize("shape", list(DEEP))
@pytest.mark.parametrize("provider", ALL)
@SYNC
def test_deeply_nested_response_is_a_validation_error(server: FaultServer, provider: str, shape: str, sync: bool) -> None:
    server.queue(reply(http_response(200, DEEP[shape])))
    err = failure(chat, provider, server.url, sync=sync)
    typed(err, E.APIResponseValidationError, provider)


@pytest.mark.parametrize(("status", "cls"), [(400, E.BadRequestError), (500, E.InternalServerError)])
@pytest.mark.parametrize("shape", list(DEEP_ERROR))
@pytest.mark.parametrize("provider", ALL)
@SYNC
def test_deeply_nested_error_body_keeps_its_status_class(
    server: FaultServer, provider: str, shape: str, status: int, cls: type[E.LLMError], sync: bool
) -> None:
    body = DEEP_ERROR[shape](provider)
    server.queue(reply(http_response(status, body)))
    err = typed(failure(chat, provider, server.url, sync=sync), cls, provider)
    assert err.status_code == status


def deep_stream(provider: str, frame: bytes) -> list[bytes]:
    """The recorded stream with a deeply nested frame after its first event."""
    pieces = stream_pieces(provider)
    if provider == "ollama":
        bad = frame + b"\n"
    elif provider == "anthropic":
        bad = b"event: content_block_delta\ndata: " + frame + b"\n\n"
    else:
        bad = b"data: " + frame + b"\n\n"
    return [pieces[0], bad, *pieces[1:]]


@pytest.mark.parametrize("shape", list(DEEP))
@pytest.mark.parametrize("provider", ALL)
@SYNC
def test_deeply_nested_stream_frame_is_a_typed_error(server: FaultServer, provider: str, shape: str, sync: bool) -> None:
    server.queue(streamed(deep_stream(provider, DEEP[shape]), content_type=STREAM_TYPE[provider]))
    err = typed(failure(chat, provider, server.url, sync=sync, stream=True), E.LLMError, provider)
    assert type(err) is not E.LLMError, f"the base class, untyped: {err}"


# ---------------------------------------------------------------------------- 2. content-encoding mismatch (item 8)

# the encodings httpx decodes out of the box (br only with the optional brotli package installed:
# without it httpx hands the body on as it came, so a plain body labelled br is read as plain)
ENCODINGS = ["gzip", "deflate"]


def encoding_handler(provider: str, kind: str, encoding: str) -> Handler:
    """A body that is not compressed, announced as ``encoding``."""
    headers = {"content-encoding": encoding}
    if kind == "call":
        return reply(http_response(200, response_body(provider), headers=headers))
    if kind == "stream":
        return streamed(stream_pieces(provider), content_type=STREAM_TYPE[provider], headers=headers)
    return reply(http_response(400, error_body(provider, "bad request"), headers=headers))


@pytest.mark.parametrize("kind", ["call", "stream", "error_call", "error_stream"])
@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("provider", ALL)
@SYNC
def test_content_encoding_mismatch_is_a_typed_error(
    server: FaultServer, provider: str, encoding: str, kind: str, sync: bool
) -> None:
    server.queue(encoding_handler(provider, kind, encoding))
    err = failure(chat, provider, server.url, sync=sync, stream=kind.endswith("stream"))
    assert not isinstance(err, httpx.HTTPError), f"a bare httpx error: {type(err).__name__}: {err}"
    typed(err, E.LLMError, provider)


# ---------------------------------------------------------------------------- 3. secrets (item 11)


def secret_leaks(root: object, key: str = KEY) -> list[str]:
    """Every place under ``root`` (an error, and all it links to) where ``key`` or a piece of it shows."""
    found: list[str] = []
    seen: set[int] = set()
    pieces = {key[i : i + 12] for i in range(len(key) - 11)}
    prefixes = [key[:n] for n in range(len(key) - 1, 3, -1)]
    skip = (type, types.ModuleType, types.FunctionType, types.MethodType, types.BuiltinFunctionType)

    def text(s: str, where: str) -> None:
        if key in s:
            found.append(f"{where}: holds the key")
        elif any(piece in s for piece in pieces):
            found.append(f"{where}: holds a piece of the key")
        else:
            end = s.rstrip(" \t\r\n'\")]}>.,;:")
            for prefix in prefixes:
                if end.endswith(prefix):
                    found.append(f"{where}: ends in the key's first {len(prefix)} characters")
                    break

    def shown(fn: Callable[[Any], str], obj: object, where: str) -> None:
        try:
            text(fn(obj), where)
        except Exception as exc:
            found.append(f"{where}: {fn.__name__}() raised {type(exc).__name__}")

    def attr(obj: object, name: str) -> Any:
        try:
            return getattr(obj, name, None)
        except Exception:  # httpx raises RuntimeError for a request/response not attached
            return None

    def walk(obj: object, where: str, depth: int) -> None:
        if isinstance(obj, str):
            text(obj, where)
            return
        if isinstance(obj, bytes | bytearray | memoryview):
            text(bytes(obj).decode("latin-1"), where)
            return
        if obj is None or isinstance(obj, bool | int | float | complex) or depth > 14 or id(obj) in seen:
            return
        seen.add(id(obj))
        if isinstance(obj, BaseException):
            shown(str, obj, f"str({where})")
            shown(repr, obj, f"repr({where})")
            for name in ("request", "response", "message", "body", "code"):
                walk(attr(obj, name), f"{where}.{name}", depth + 1)
            walk(obj.args, f"{where}.args", depth + 1)
            walk(dict(vars(obj)), f"vars({where})", depth + 1)
            walk(obj.__cause__, f"{where}.__cause__", depth + 1)
            walk(obj.__context__, f"{where}.__context__", depth + 1)
        elif isinstance(obj, dict):
            for k, v in obj.items():
                walk(k, f"{where} key {k!r}", depth + 1)
                walk(v, f"{where}[{k!r}]", depth + 1)
        elif isinstance(obj, list | tuple | set | frozenset):
            for i, v in enumerate(obj):
                walk(v, f"{where}[{i}]", depth + 1)
        elif isinstance(obj, httpx.Headers):
            walk(obj.raw, f"{where}", depth + 1)
        elif isinstance(obj, httpx.Request):
            walk(str(obj.url), f"{where}.url", depth + 1)
            walk(obj.headers, f"{where}.headers", depth + 1)
            walk(attr(obj, "content"), f"{where}.content", depth + 1)
        elif isinstance(obj, httpx.Response):
            walk(obj.headers, f"{where}.headers", depth + 1)
            walk(attr(obj, "content"), f"{where}.content", depth + 1)
            walk(attr(obj, "request"), f"{where}.request", depth + 1)
        elif not isinstance(obj, skip):
            shown(repr, obj, f"repr({where})")
            state = getattr(obj, "__dict__", None)
            if isinstance(state, dict) and depth < 8:
                walk(dict(state), f"vars({where})", depth + 1)

    walk(root, "err", 0)
    return found


def assert_no_secret(err: BaseException) -> None:
    leaks = secret_leaks(err)
    assert not leaks, f"{type(err).__name__}: the API key is reachable:\n" + "\n".join(leaks)


class Leaky(Exception):
    """An exception with whatever attributes a test gives it (not an LLMError: nothing scrubs it)."""

    def __init__(self, message: str, **attrs: Any) -> None:
        super().__init__(message)
        self.__dict__.update(attrs)


def test_the_leak_finder_finds_leaks() -> None:
    """The walker itself: each way a key can hide is found, and a clean error passes."""
    assert secret_leaks(Leaky("bad", body={"error": {"message": "bad", "code": None}}, code="x")) == []
    assert secret_leaks(Leaky("x", body={"e": [{"f": (KEY,)}]}))  # deep in a body
    assert secret_leaks(Leaky("x", code=KEY[3:20]))  # a piece of it
    request = httpx.Request("POST", "http://127.0.0.1/", headers={"authorization": f"Bearer {KEY}"})
    hidden = Leaky("connection failed")
    hidden.__context__ = httpx.ConnectError("refused", request=request)
    assert any(leak.startswith("err.__context__.request.headers") for leak in secret_leaks(hidden))
    response = httpx.Response(401, content=b'{"error": "bad key %s"}' % KEY.encode(), request=httpx.Request("GET", "http://x/"))
    assert secret_leaks(Leaky("x", response=response))
    cut = secret_leaks(Leaky("x" * 10 + KEY[:6]))  # a message cut in the middle of the key
    assert cut and all(leak.endswith("ends in the key's first 6 characters") for leak in cut), cut


def key_of(request: Request) -> str:
    auth = request.headers.get("authorization", "")
    return auth.removeprefix("Bearer ") if auth else request.headers.get("x-api-key", "")


def echo(status: int, content_type: str, body: Callable[[str, str], bytes | str]) -> Callable[[str], Handler]:
    """A handler answering ``body(provider, key)``, with the key the request carried."""

    def make(provider: str) -> Handler:
        def raw(request: Request) -> bytes:
            data = body(provider, key_of(request))
            return http_response(status, data.encode() if isinstance(data, str) else data, content_type)

        return reply(raw)

    return make


def echo_stream(frame: Callable[[str, str], bytes]) -> Callable[[str], Handler]:
    """The recorded stream's first event, then ``frame(provider, key)`` (then nothing)."""

    def make(provider: str) -> Handler:
        def handler(conn: Any, request: Request) -> bool:
            return streamed([stream_pieces(provider)[0], frame(provider, key_of(request))], content_type=STREAM_TYPE[provider])(conn, request)

        return handler

    return make


def sse_or_line(provider: str, data: bytes, event: bytes = b"content_block_delta") -> bytes:
    if provider == "ollama":
        return data + b"\n"
    if provider == "anthropic":
        return b"event: " + event + b"\ndata: " + data + b"\n\n"
    return b"data: " + data + b"\n\n"


def stream_error_event(provider: str, key: str) -> bytes:
    if provider == "openai":
        obj: dict[str, Any] = {"error": {"message": f"API key {key} was revoked", "type": "invalid_request_error", "param": key, "code": "invalid_api_key"}}
    elif provider == "anthropic":
        obj = {"type": "error", "error": {"type": "authentication_error", "message": f"invalid x-api-key {key}"}}
    else:
        obj = {"error": f"invalid key {key}"}
    return sse_or_line(provider, json.dumps(obj).encode(), b"error")


ECHOES: dict[str, Callable[[str], Handler]] = {
    "json_message": echo(401, "application/json", lambda p, k: error_body(p, f"Incorrect API key provided: {k}. You can find your API key at https://platform.openai.com/account/api-keys.")),
    "json_other_field": echo(400, "application/json", lambda p, k: error_body(p, "invalid request", param=k, echo={"authorization": f"Bearer {k}"})),
    "json_code": echo(400, "application/json", lambda p, k: error_body(p, "invalid request", code=k, type=k)),
    "text_body": echo(502, "text/plain", lambda p, k: f"upstream rejected the key {k}\n"),
    "html_body": echo(503, "text/html", lambda p, k: f"<html><body><h1>503</h1><p>key {k} is not allowed</p></body></html>"),
    "text_cut_at_500": echo(500, "text/plain", lambda p, k: "x" * 490 + k),
    "json_without_message_cut_at_500": echo(500, "application/json", lambda p, k: json.dumps({"detail": "x" * 480 + k})),
    "json_message_490": echo(400, "application/json", lambda p, k: error_body(p, "x" * 490 + k)),
    "unparseable_200": echo(200, "text/html", lambda p, k: "<html>" + "x" * 180 + k + "</html>"),
    "unparseable_200_cut": echo(200, "text/html", lambda p, k: "<html>" + "x" * 188 + k + "</html>"),
    "wrong_shape_200": echo(200, "application/json", lambda p, k: json.dumps({"id": k, "choices": k, "message": k, "content": k})),
    "stream_frame_not_json": echo_stream(lambda p, k: sse_or_line(p, b"x" * 180 + k.encode())),
    "stream_error_event": echo_stream(stream_error_event),
}


@pytest.mark.parametrize("case", list(ECHOES))
@pytest.mark.parametrize("provider", ALL)
@SYNC
def test_echoed_key_reaches_no_error(server: FaultServer, provider: str, case: str, sync: bool) -> None:
    server.queue(ECHOES[case](provider))
    err = failure(chat, provider, server.url, sync=sync, stream=case.startswith("stream"))
    assert [key_of(r) for r in server.requests] == [KEY]  # the server had the key to echo
    typed(err, E.LLMError, provider)
    assert_no_secret(err)


def closed_port() -> str:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.mark.parametrize(
    ("fault", "cls"),
    [("closed_port", E.APIConnectionError), ("reset", E.APIConnectionError), ("no_answer", E.Timeout)],
)
@pytest.mark.parametrize("provider", ALL)
@SYNC
def test_transport_errors_hold_no_key(
    server: FaultServer, provider: str, fault: str, cls: type[E.LLMError], sync: bool
) -> None:
    url = server.url
    if fault == "closed_port":
        url = closed_port()
    elif fault == "reset":
        server.queue(reset())
    else:
        server.queue(silent(30))
    err = failure(chat, provider, url, sync=sync, client={"timeout": 0.5})
    typed(err, cls, provider)
    assert_no_secret(err)
    if fault != "closed_port":
        assert len(server.requests) == 1 and key_of(server.requests[0]) == KEY


# ---------------------------------------------------------------------------- 4. caller input checked before any I/O (item 12)

NAN, INF = float("nan"), float("inf")
UNENCODABLE: list[tuple[str, dict[str, Any], str]] = [
    ("temperature_object", {"temperature": object()}, "temperature"),
    ("temperature_set", {"temperature": {0.5}}, "temperature"),
    ("temperature_bytes", {"temperature": b"0.5"}, "temperature"),
    ("temperature_nan", {"temperature": NAN}, "temperature"),
    ("temperature_inf", {"temperature": INF}, "temperature"),
    ("temperature_minus_inf", {"temperature": -INF}, "temperature"),
    ("extra_body_object", {"extra_body": {"x": object()}}, "extra_body"),
    ("extra_body_set", {"extra_body": {"x": {1, 2}}}, "extra_body"),
    ("extra_body_bytes", {"extra_body": {"x": b"raw"}}, "extra_body"),
    ("extra_body_nested_nan", {"extra_body": {"a": {"b": [1, NAN]}}}, "extra_body"),
    ("extra_body_nested_inf", {"extra_body": {"a": [{"b": INF}]}}, "extra_body"),
    ("extra_body_minus_inf", {"extra_body": {"a": -INF}}, "extra_body"),
    ("content_object", {"messages": [{"role": "user", "content": object()}]}, "messages"),
    ("content_set", {"messages": [{"role": "user", "content": {"Hello"}}]}, "messages"),
    ("content_bytes", {"messages": [{"role": "user", "content": b"Hello"}]}, "messages"),
    ("content_nan", {"messages": [{"role": "user", "content": [{"type": "text", "text": "Hi", "x": NAN}]}]}, "messages"),
    ("header_int", {"extra_headers": {"x-trace-id": 1}}, "x-trace-id"),
    ("header_none", {"extra_headers": {"x-trace-id": None}}, "x-trace-id"),
    ("header_bytes", {"extra_headers": {"x-trace-id": b"abc"}}, "x-trace-id"),
    ("header_dict", {"extra_headers": {"x-trace-id": {"a": 1}}}, "x-trace-id"),
]
OPENAI_ONLY: list[tuple[str, dict[str, Any], str]] = [
    ("metadata_object", {"metadata": {"k": object()}}, "metadata"),
    ("metadata_set", {"metadata": {"tags": {"a", "b"}}}, "metadata"),
    ("metadata_bytes", {"metadata": {"k": b"v"}}, "metadata"),
    ("metadata_nan", {"metadata": {"k": NAN}}, "metadata"),
    ("seed_inf", {"seed": INF}, "seed"),
]
INPUT_CASES = [
    pytest.param(provider, params, name, id=f"{provider}-{case}")
    for provider in ALL
    for case, params, name in UNENCODABLE + (OPENAI_ONLY if provider == "openai" else [])
]
# through the clients: every case as a call, and OpenAI's as a stream too
CLIENT_CASES = [
    pytest.param(provider, params, name, stream, id=f"{provider}-{case}-{'stream' if stream else 'call'}")
    for provider in ALL
    for case, params, name in UNENCODABLE + (OPENAI_ONLY if provider == "openai" else [])
    for stream in ([False, True] if provider == "openai" else [False])
]


def refused(err: BaseException, provider: str, name: str) -> None:
    typed(err, E.BadRequestError, provider)
    assert name in err.message, f"the message does not name {name!r}: {err}"  # type: ignore[attr-defined]


@pytest.mark.parametrize(("provider", "params", "name"), INPUT_CASES)
def test_unencodable_input_is_refused_by_build_request(provider: str, params: dict[str, Any], name: str) -> None:
    mod = PROVIDERS[provider]
    call = {"model": MODEL[provider], "messages": MSGS, **params}
    err = failure(mod.chat.build_request, call, api_key=KEY, base_url=base_url(provider, "http://127.0.0.1:9"))
    refused(err, provider, name)


@pytest.mark.parametrize(("provider", "params", "name", "stream"), CLIENT_CASES)
@SYNC
def test_unencodable_input_is_refused_before_any_io(
    server: FaultServer, provider: str, params: dict[str, Any], name: str, stream: bool, sync: bool
) -> None:
    server.queue(reply(http_response(200, response_body(provider))))
    err = failure(chat, provider, server.url, sync=sync, stream=stream, **params)
    refused(err, provider, name)
    assert server.requests == [], f"a request was sent: {server.requests[0].body[:200]!r}"
    assert server.connections == 0


# ---------------------------------------------------------------------------- 5. sync stream terminator (item 13)

LIMIT = 2.5  # seconds: a stream whose terminator has arrived returns well before this


def run_bounded(fn: Callable[[], Any], wait: float) -> tuple[dict[str, Any], threading.Thread]:
    """Run ``fn`` on a thread for at most ``wait`` seconds; its result, error and run time land in the dict."""
    box: dict[str, Any] = {}

    def work() -> None:
        start = time.monotonic()
        try:
            box["result"] = fn()
        except BaseException as exc:
            box["error"] = exc
        box["elapsed"] = time.monotonic() - start

    thread = threading.Thread(target=work, name="faults-stream-reader", daemon=True)
    thread.start()
    thread.join(wait)
    return box, thread


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_sync_stream_returns_at_its_terminator_when_the_body_never_ends(server: FaultServer, provider: str) -> None:
    server.queue(streamed(stream_pieces(provider), last_chunk=False, hold_after=30))  # no 0\r\n\r\n, socket open
    client = PROVIDERS[provider].Client(api_key=KEY, base_url=base_url(provider, server.url), max_retries=0)  # default timeout
    started = time.monotonic()
    box, thread = run_bounded(lambda: list(client.chat(model=MODEL[provider], messages=MSGS, stream=True)), LIMIT + 0.5)
    try:
        assert not thread.is_alive(), (
            f"list(client.chat(stream=True)) still blocked after {time.monotonic() - started:.1f} s: "
            "it waits for the chunked body's end after the stream's terminator"
        )
        assert "error" not in box, f"{type(box.get('error')).__name__}: {box.get('error')}"
        assert box["elapsed"] < LIMIT
        assert text_of(box["result"]) == expected_text(provider)
        assert len(server.requests) == 1
    finally:
        server.stop()  # closes the held socket: a reader still blocked on it returns
        thread.join(5)
        client.close()


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_async_stream_returns_at_its_terminator_when_the_body_never_ends(server: FaultServer, provider: str) -> None:
    server.queue(streamed(stream_pieces(provider), last_chunk=False, hold_after=30))

    async def main() -> list[Any]:
        async with PROVIDERS[provider].AsyncClient(api_key=KEY, base_url=base_url(provider, server.url), max_retries=0) as c:
            return [chunk async for chunk in await c.chat(model=MODEL[provider], messages=MSGS, stream=True)]

    async def bounded() -> list[Any]:
        return await asyncio.wait_for(main(), LIMIT + 0.5)

    started = time.monotonic()
    chunks = asyncio.run(bounded())
    assert time.monotonic() - started < LIMIT
    assert text_of(chunks) == expected_text(provider)


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
@SYNC
def test_complete_streams_reuse_one_connection(server: FaultServer, provider: str, sync: bool) -> None:
    server.queue(streamed(stream_pieces(provider)))  # the whole body, then keep-alive; answers every request
    kw: dict[str, Any] = {"api_key": KEY, "base_url": base_url(provider, server.url), "max_retries": 0, "timeout": 5.0}
    params: dict[str, Any] = {"model": MODEL[provider], "messages": MSGS}
    if sync:
        with PROVIDERS[provider].Client(**kw) as c:
            texts = [text_of(c.chat(stream=True, **params)) for _ in range(2)]
    else:

        async def main() -> list[str]:
            async with PROVIDERS[provider].AsyncClient(**kw) as c:
                return [text_of([x async for x in await c.chat(stream=True, **params)]) for _ in range(2)]

        texts = asyncio.run(main())
    assert texts == [expected_text(provider)] * 2
    assert [r.path for r in server.requests] == [PATH[provider]] * 2
    assert server.connections == 1


# ---------------------------------------------------------------------------- 6. Ollama's in-band stream error (item 9)

OLLAMA_ERROR = b'{"error":"an error was encountered while running the model"}\n'


@SYNC
def test_ollama_in_band_error_is_mapped_by_the_spec_table(server: FaultServer, sync: bool) -> None:
    lines = [line + b"\n" for line in fixture_path("ollama", "chat", "stream_error.ndjson").read_bytes().split(b"\n") if line.strip()]
    server.queue(streamed([*lines[:2], OLLAMA_ERROR], content_type="application/x-ndjson"))
    got: list[Any] = []
    kw: dict[str, Any] = {"base_url": server.url, "max_retries": 0, "timeout": 5.0}

    def sync_read() -> None:
        with ollama.Client(**kw) as c:
            got.extend(c.chat(model="gemma4", messages=MSGS, stream=True))

    async def async_read() -> None:
        async with ollama.AsyncClient(**kw) as c:
            async for chunk in await c.chat(model="gemma4", messages=MSGS, stream=True):
                got.append(chunk)

    err = failure(sync_read) if sync else failure(lambda: asyncio.run(asyncio.wait_for(async_read(), 10)))
    assert type(err) is not E.LLMError, f"the base class, unmapped: {err!r}"
    typed(err, E.InternalServerError, "ollama")
    assert err.retryable is True  # type: ignore[attr-defined]
    assert "an error was encountered while running the model" in err.message  # type: ignore[attr-defined]
    assert text_of(got) == " Yes."  # the two lines before the error were delivered
    assert len(server.requests) == 1  # a stream is never retried once it has begun


def test_a_secret_inside_another_never_leaves_a_piece_of_the_longer() -> None:
    """Secrets are replaced longest first: a shorter registered secret inside (or overlapping) a
    longer one must not be replaced first and leave the rest of the longer in the text, whatever
    order the set of secrets iterates in (it changes with the hash seed)."""
    from specgen_runtime.errors import register_secret, scrub

    longer = "sk-live-ABCDEFGHIJ0123456789klmnop"
    for shorter in ("ABCDEFGH", "sk-live-", "0123456789", "mnop"):
        register_secret(shorter)
    register_secret(longer)
    out = scrub(f"key {longer} was revoked; {longer[:8]} alone too")
    assert longer[8:] not in out and "ABCDEFGHIJ" not in out and out.startswith("key *** was revoked")
