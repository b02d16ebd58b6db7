"""Anthropic adapter over a real loopback HTTP server, with the documented wire formats."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from specgen.conform.fake import FakeProvider, Reply
from specgen_providers import anthropic
from specgen_runtime import errors as E

from conftest import fixture_path

MSGS = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello"}]


def client(fake: FakeProvider, **kw: object) -> anthropic.Client:
    return anthropic.Client(api_key="sk-ant-secret-123", base_url=fake.url, backoff=0.0, **kw)  # type: ignore[arg-type]


def test_non_streaming_request_and_response(fake: FakeProvider) -> None:
    fake.queue(Reply.file(fixture_path("anthropic", "chat", "response.json")))
    r = client(fake).chat(model="anthropic/claude-sonnet-4-5", messages=MSGS, temperature=0.5, stop="END", user="u1")
    req = fake.last
    assert req.method == "POST" and req.path == "/v1/messages"
    assert req.headers["x-api-key"] == "sk-ant-secret-123"
    assert req.headers["anthropic-version"] == "2023-06-01"
    body = req.json()
    assert body == {
        "model": "claude-sonnet-4-5",
        "system": "Be brief.",
        "messages": [{"role": "user", "content": [{"type": "text", "text": "Hello"}]}],
        "max_tokens": 4096,
        "temperature": 0.5,
        "stop_sequences": ["END"],
        "metadata": {"user_id": "u1"},
    }
    data = json.loads(fixture_path("anthropic", "chat", "response.json").read_text())
    assert r.id == data["id"]
    assert r.object == "chat.completion"
    assert r.choices[0].message.content == data["content"][0]["text"]
    assert r.choices[0].finish_reason == "stop"
    assert r.usage is not None
    u = data["usage"]
    # OpenAI's prompt_tokens counts cached input too; Anthropic reports cache reads/writes apart
    prompt = u["input_tokens"] + u["cache_read_input_tokens"] + u["cache_creation_input_tokens"]
    assert r.usage.prompt_tokens == prompt
    assert r.usage.completion_tokens == u["output_tokens"]
    assert r.usage.total_tokens == prompt + u["output_tokens"]
    assert r.to_dict()["usage"]["prompt_tokens_details"] == {"cached_tokens": u["cache_read_input_tokens"]}
    assert r.to_dict()["choices"][0]["message"]["role"] == "assistant"


def test_tools_round_trip(fake: FakeProvider) -> None:
    fake.queue(Reply.file(fixture_path("anthropic", "chat", "response_tools.json")))
    tools = [{"type": "function", "function": {"name": "get_weather", "description": "Weather", "parameters": {"type": "object", "properties": {"location": {"type": "string"}}}}}]
    history = [
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": None, "tool_calls": [{"id": "toolu_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"location": "Paris"}'}}]},
        {"role": "tool", "tool_call_id": "toolu_1", "content": "15 degrees"},
    ]
    r = client(fake).chat(model="claude-sonnet-4-5", messages=history, tools=tools, tool_choice="required", parallel_tool_calls=False)
    body = fake.last.json()
    assert body["tools"] == [{"name": "get_weather", "description": "Weather", "input_schema": {"type": "object", "properties": {"location": {"type": "string"}}}}]
    assert body["tool_choice"] == {"type": "any", "disable_parallel_tool_use": True}
    assert body["messages"][1] == {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"location": "Paris"}}]}
    assert body["messages"][2] == {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "15 degrees"}]}
    data = json.loads(fixture_path("anthropic", "chat", "response_tools.json").read_text())
    tool_block = next(b for b in data["content"] if b["type"] == "tool_use")
    calls = r.choices[0].message.tool_calls
    assert calls is not None and calls[0].id == tool_block["id"]
    assert calls[0].function.name == tool_block["name"]
    assert json.loads(calls[0].function.arguments or "") == tool_block["input"]
    assert r.choices[0].finish_reason == "tool_calls"


def test_thinking_response(fake: FakeProvider) -> None:
    fake.queue(Reply.file(fixture_path("anthropic", "chat", "response_thinking.json")))
    r = client(fake).chat(model="claude-sonnet-4-5", messages=MSGS, reasoning_effort="low")
    assert fake.last.json()["thinking"] == {"type": "enabled", "budget_tokens": 1024}
    data = json.loads(fixture_path("anthropic", "chat", "response_thinking.json").read_text())
    thinking = next(b for b in data["content"] if b["type"] == "thinking")
    assert r.choices[0].message.reasoning_content == thinking["thinking"]
    assert r.choices[0].message.content


def _collect(chunks: list[anthropic.ChatCompletionChunk]) -> tuple[str, str, dict[int, dict[str, str]], list[str | None]]:
    text, thought, tools, finishes = "", "", {}, []
    for c in chunks:
        for ch in c.choices:
            d = ch.delta
            text += d.content or ""
            thought += d.reasoning_content or ""
            for tc in d.tool_calls or ():
                slot = tools.setdefault(tc.index or 0, {"id": "", "name": "", "arguments": ""})
                slot["id"] += tc.id or ""
                slot["name"] += tc.function.name or ""
                slot["arguments"] += tc.function.arguments or ""
            finishes.append(ch.finish_reason)
    return text, thought, tools, finishes


def _sse_events(name: str) -> list[dict]:
    raw = fixture_path("anthropic", "chat", name).read_text()
    return [json.loads(line[6:]) for line in raw.splitlines() if line.startswith("data: ")]


def test_stream_text(fake: FakeProvider) -> None:
    raw = fixture_path("anthropic", "chat", "stream.sse").read_bytes()
    fake.queue(Reply.stream(raw, "text/event-stream", [raw[i : i + 7] for i in range(0, len(raw), 7)]))
    chunks = list(client(fake).chat(model="claude-sonnet-4-5", messages=MSGS, stream=True))
    assert fake.last.json()["stream"] is True
    events = _sse_events("stream.sse")
    expected = "".join(e["delta"]["text"] for e in events if e["type"] == "content_block_delta")
    text, _, _, finishes = _collect(chunks)
    assert text == expected
    assert finishes[-1] == "stop"
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == events[-2]["usage"]["output_tokens"]
    assert chunks[0].id == events[0]["message"]["id"]


def test_stream_tools(fake: FakeProvider) -> None:
    fake.queue(Reply.file(fixture_path("anthropic", "chat", "stream_tools.sse")))
    chunks = list(client(fake).chat(model="claude-sonnet-4-5", messages=MSGS, stream=True))
    _, _, tools, finishes = _collect(chunks)
    events = _sse_events("stream_tools.sse")
    start = next(e for e in events if e["type"] == "content_block_start" and e["content_block"]["type"] == "tool_use")
    args = "".join(e["delta"]["partial_json"] for e in events if e["type"] == "content_block_delta" and e["delta"]["type"] == "input_json_delta")
    assert tools == {0: {"id": start["content_block"]["id"], "name": start["content_block"]["name"], "arguments": args}}
    json.loads(args)
    assert finishes[-1] == "tool_calls"


def test_stream_thinking(fake: FakeProvider) -> None:
    fake.queue(Reply.file(fixture_path("anthropic", "chat", "stream_thinking.sse")))
    chunks = list(client(fake).chat(model="claude-sonnet-4-5", messages=MSGS, stream=True, thinking={"type": "enabled", "budget_tokens": 2048}))
    _, thought, _, _ = _collect(chunks)
    events = _sse_events("stream_thinking.sse")
    assert thought == "".join(e["delta"]["thinking"] for e in events if e["type"] == "content_block_delta" and e["delta"]["type"] == "thinking_delta")


def test_stream_error_event_raises_typed_error(fake: FakeProvider) -> None:
    fake.queue(Reply.file(fixture_path("anthropic", "chat", "stream_error.sse")))
    it = client(fake).chat(model="claude-sonnet-4-5", messages=MSGS, stream=True)
    with pytest.raises(E.ServiceUnavailableError) as info:
        list(it)
    assert info.value.provider == "anthropic"
    assert info.value.message == "Overloaded"
    assert len(fake.received) == 1  # no retry once a stream has begun


def test_stream_cut_short(fake: FakeProvider) -> None:
    raw = fixture_path("anthropic", "chat", "stream.sse").read_bytes()
    cut = raw[: raw.index(b"event: message_delta")]
    fake.queue(Reply.stream(cut, "text/event-stream"))
    with pytest.raises(E.StreamInterruptedError):
        list(client(fake).chat(model="claude-sonnet-4-5", messages=MSGS, stream=True))


@pytest.mark.parametrize(
    ("fixture", "status", "cls", "retryable"),
    [
        ("error_400_context.json", 400, E.ContextWindowExceededError, False),
        ("error_401.json", 401, E.AuthenticationError, False),
        ("error_403.json", 403, E.PermissionDeniedError, False),
        ("error_404.json", 404, E.NotFoundError, False),
        ("error_429.json", 429, E.RateLimitError, True),
        ("error_500.json", 500, E.InternalServerError, True),
        ("error_529.json", 529, E.ServiceUnavailableError, True),
    ],
)
def test_error_rows(fake: FakeProvider, fixture: str, status: int, cls: type[E.LLMError], retryable: bool) -> None:
    path = fixture_path("anthropic", "chat", fixture)
    fake.queue(*[Reply.file(path, status=status, headers={"retry-after": "0"})] * 3)
    with pytest.raises(cls) as info:
        client(fake, max_retries=2).chat(model="claude-sonnet-4-5", messages=MSGS)
    err = info.value
    assert type(err) is cls
    assert err.status_code == status and err.provider == "anthropic" and err.model == "claude-sonnet-4-5"
    assert err.message == json.loads(path.read_text())["error"]["message"]
    assert len(fake.received) == (3 if retryable else 1)
    assert "sk-ant-secret-123" not in repr(err) + str(err)


def test_retry_then_success_honours_retry_after(fake: FakeProvider) -> None:
    fake.queue(
        Reply.file(fixture_path("anthropic", "chat", "error_529.json"), status=529, headers={"retry-after": "0.05"}),
        Reply.file(fixture_path("anthropic", "chat", "response.json")),
    )
    import time

    t0 = time.perf_counter()
    r = client(fake).chat(model="claude-sonnet-4-5", messages=MSGS)
    assert time.perf_counter() - t0 >= 0.05
    assert r.choices[0].finish_reason == "stop"
    assert len(fake.received) == 2


def test_unsupported_params() -> None:
    req = anthropic.chat.build_request({"model": "claude-sonnet-4-5", "messages": MSGS, "seed": 3, "n": 1, "stream_options": {"include_usage": True}}, api_key="k")
    body = json.loads(req.content)
    assert "seed" not in body and "n" not in body and "stream_options" not in body
    with pytest.raises(E.UnsupportedParamsError, match="logprobs"):
        anthropic.chat.build_request({"model": "m", "messages": MSGS, "logprobs": True}, api_key="k")
    with pytest.raises(E.UnsupportedParamsError, match="not one of"):
        anthropic.chat.build_request({"model": "m", "messages": MSGS, "n": 2}, api_key="k")
    with pytest.raises(E.UnsupportedParamsError, match="outside"):
        anthropic.chat.build_request({"model": "m", "messages": MSGS, "temperature": 1.5}, api_key="k")
    with pytest.raises(E.UnsupportedParamsError, match="made_up"):
        anthropic.chat.build_request({"model": "m", "messages": MSGS, "made_up": 1}, api_key="k")


def test_malformed_body_is_typed(fake: FakeProvider) -> None:
    fake.queue(Reply(200, b"<html>oops</html>", {"content-type": "text/html"}), Reply.json({"content": "nope"}))
    c = client(fake)
    with pytest.raises(E.APIResponseValidationError, match="not JSON"):
        c.chat(model="claude-sonnet-4-5", messages=MSGS)
    with pytest.raises(E.APIResponseValidationError) as info:
        c.chat(model="claude-sonnet-4-5", messages=MSGS)
    assert info.value.provider == "anthropic"


def test_async_stream_and_call(fake: FakeProvider) -> None:
    fake.queue(Reply.file(fixture_path("anthropic", "chat", "response.json")), Reply.file(fixture_path("anthropic", "chat", "stream.sse")))

    async def main() -> tuple[str | None, str]:
        async with anthropic.AsyncClient(api_key="k", base_url=fake.url) as c:
            r = await c.chat(model="claude-sonnet-4-5", messages=MSGS)
            text = ""
            async for chunk in await c.chat(model="claude-sonnet-4-5", messages=MSGS, stream=True):
                text += chunk.choices[0].delta.content or "" if chunk.choices else ""
            return r.choices[0].message.content, text

    content, text = asyncio.run(main())
    assert content and text


def test_async_retries(fake: FakeProvider) -> None:
    fake.queue(Reply.file(fixture_path("anthropic", "chat", "error_429.json"), status=429, headers={"retry-after": "0"}), Reply.file(fixture_path("anthropic", "chat", "response.json")))

    async def main() -> str | None:
        async with anthropic.AsyncClient(api_key="k", base_url=fake.url) as c:
            return (await c.chat(model="claude-sonnet-4-5", messages=MSGS)).choices[0].finish_reason

    assert asyncio.run(main()) == "stop"
    assert len(fake.received) == 2


def test_missing_key_is_auth_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    with pytest.raises(E.AuthenticationError, match="ANTHROPIC_API_KEY"):
        anthropic.chat.build_request({"model": "m", "messages": MSGS})


def test_connection_refused_is_typed() -> None:
    c = anthropic.Client(api_key="k", base_url="http://127.0.0.1:9", max_retries=1, backoff=0.0)
    with pytest.raises(E.APIConnectionError):
        c.chat(model="m", messages=MSGS)


@pytest.mark.parametrize("name", ["server_tools", "tool_search", "fetch_code", "mcp", "usage_cumulative"])
def test_stream_equals_unstreamed_message_and_server_tools_are_no_tool_calls(name: str) -> None:
    """Server-side blocks never become tool calls nor shift a client call's index (which counts
    client calls only, from 0); the stream accumulates to the unstreamed message, usage included."""
    body = fixture_path("anthropic", "chat", f"response_{name}.json").read_bytes()
    whole = anthropic.chat.parse_response(httpx.Response(200, content=body, request=httpx.Request("POST", "http://x/")))
    message = whole.to_dict()["choices"][0]["message"]
    chunks = [c.to_dict() for c in anthropic.chat.parse_stream([fixture_path("anthropic", "chat", f"stream_{name}.sse").read_bytes()])]
    content = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    calls: dict[int, dict[str, str]] = {}
    for c in chunks:
        for call in (c["choices"][0]["delta"].get("tool_calls") or ()) if c["choices"] else ():
            slot = calls.setdefault(call["index"], {"id": "", "name": "", "arguments": ""})
            slot["id"] = call.get("id") or slot["id"]
            slot["name"] = call["function"].get("name") or slot["name"]
            slot["arguments"] += call["function"].get("arguments") or ""
    assert sorted(calls) == list(range(len(calls)))  # client calls only, indexed from 0
    expected = [
        {"id": t["id"], "name": t["function"]["name"], "arguments": json.loads(t["function"]["arguments"])}
        for t in message.get("tool_calls") or ()
    ]
    got = [{**calls[i], "arguments": json.loads(calls[i]["arguments"] or "{}")} for i in sorted(calls)]
    assert got == expected
    assert all(not call["id"].startswith(("srvtoolu_", "mcptoolu_")) for call in got)
    assert content == (message["content"] or "")
    assert chunks[-1]["usage"] == whole.to_dict()["usage"]
    assert chunks[-1]["choices"][0]["finish_reason"] == whole.to_dict()["choices"][0]["finish_reason"]
    assert len({c["id"] for c in chunks}) == 1
