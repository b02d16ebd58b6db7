"""OpenAI and the OpenAI-compatible specs (groq, openrouter, deepseek, litellm_proxy) over loopback HTTP."""

from __future__ import annotations

import asyncio
import json

import pytest

from specgen.conform.fake import FakeProvider, Reply
from specgen_providers import deepseek, groq, litellm_proxy, mistral, openai, openrouter
from specgen_runtime import errors as E

from conftest import fixture_path

MSGS = [{"role": "user", "content": "Hello"}]


def test_openai_non_streaming(fake: FakeProvider) -> None:
    fake.queue(Reply.file(fixture_path("openai", "chat", "response.json")))
    c = openai.Client(api_key="sk-secret-openai", base_url=fake.url + "/v1")
    r = c.chat(model="openai/gpt-4o", messages=MSGS, temperature=0.2, max_completion_tokens=50, seed=7)
    assert fake.last.path == "/v1/chat/completions"
    assert fake.last.headers["authorization"] == "Bearer sk-secret-openai"
    assert fake.last.json() == {"model": "gpt-4o", "messages": MSGS, "temperature": 0.2, "max_completion_tokens": 50, "seed": 7}
    data = json.loads(fixture_path("openai", "chat", "response.json").read_text())
    assert r.to_dict() == data  # OpenAI wire in, exact OpenAI wire out
    assert r.choices[0].message.content == data["choices"][0]["message"]["content"]


def test_openai_tools_response(fake: FakeProvider) -> None:
    fake.queue(Reply.file(fixture_path("openai", "chat", "response_tools.json")))
    r = openai.Client(api_key="k", base_url=fake.url).chat(model="gpt-4o", messages=MSGS, tools=[{"type": "function", "function": {"name": "f", "parameters": {}}}], tool_choice="auto")
    calls = r.choices[0].message.tool_calls
    assert calls and calls[0].function.name and r.choices[0].finish_reason == "tool_calls"


def test_openai_stream(fake: FakeProvider) -> None:
    raw = fixture_path("openai", "chat", "stream.sse").read_bytes()
    fake.queue(Reply.stream(raw, "text/event-stream", [raw[i : i + 5] for i in range(0, len(raw), 5)]))
    chunks = list(openai.Client(api_key="k", base_url=fake.url).chat(model="gpt-4o", messages=MSGS, stream=True, stream_options={"include_usage": True}))
    assert fake.last.json()["stream"] is True
    frames = [json.loads(line[6:]) for line in raw.decode().splitlines() if line.startswith("data: {")]
    assert [c.to_dict() for c in chunks] == frames
    assert chunks[-1].usage is not None


def test_openai_stream_tools(fake: FakeProvider) -> None:
    fake.queue(Reply.file(fixture_path("openai", "chat", "stream_tools.sse")))
    chunks = list(openai.Client(api_key="k", base_url=fake.url).chat(model="gpt-4o", messages=MSGS, stream=True))
    args = "".join(tc.function.arguments or "" for c in chunks for ch in c.choices for tc in ch.delta.tool_calls or ())
    json.loads(args)
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


def test_openai_stream_without_done_is_interrupted(fake: FakeProvider) -> None:
    raw = fixture_path("openai", "chat", "stream.sse").read_bytes()
    fake.queue(Reply.stream(raw.replace(b"data: [DONE]", b""), "text/event-stream"))
    with pytest.raises(E.StreamInterruptedError):
        list(openai.Client(api_key="k", base_url=fake.url).chat(model="gpt-4o", messages=MSGS, stream=True))


def test_openai_mid_stream_error(fake: FakeProvider) -> None:
    body = b'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}]}\n\ndata: {"error":{"message":"The server had an error","type":"server_error","code":"server_error"}}\n\n'
    fake.queue(Reply.stream(body, "text/event-stream"))
    with pytest.raises(E.InternalServerError, match="server had an error"):
        list(openai.Client(api_key="k", base_url=fake.url).chat(model="gpt-4o", messages=MSGS, stream=True))


@pytest.mark.parametrize(
    ("fixture", "status", "cls", "retryable"),
    [
        ("error_400_context.json", 400, E.ContextWindowExceededError, False),
        ("error_401.json", 401, E.AuthenticationError, False),
        ("error_429.json", 429, E.RateLimitError, True),
        ("error_429_insufficient_quota.json", 429, E.RateLimitError, False),
        ("error_500.json", 500, E.InternalServerError, True),
    ],
)
def test_openai_error_rows(fake: FakeProvider, fixture: str, status: int, cls: type[E.LLMError], retryable: bool) -> None:
    path = fixture_path("openai", "chat", fixture)
    fake.queue(*[Reply.file(path, status=status, headers={"retry-after-ms": "1"})] * 2)
    with pytest.raises(cls) as info:
        openai.Client(api_key="sk-secret-openai", base_url=fake.url, max_retries=1).chat(model="gpt-4o", messages=MSGS)
    assert type(info.value) is cls and info.value.status_code == status
    assert info.value.message == json.loads(path.read_text())["error"]["message"]
    assert len(fake.received) == (2 if retryable else 1)


@pytest.mark.parametrize(("status", "cls"), [(403, E.PermissionDeniedError), (404, E.NotFoundError), (408, E.Timeout), (409, E.InternalServerError), (502, E.InternalServerError), (503, E.ServiceUnavailableError)])
def test_openai_status_rows(fake: FakeProvider, status: int, cls: type[E.LLMError]) -> None:
    fake.queue(Reply.json({"error": {"message": "x", "type": "t", "param": None, "code": None}}, status=status))
    with pytest.raises(cls):
        openai.Client(api_key="k", base_url=fake.url, max_retries=0).chat(model="gpt-4o", messages=MSGS)


def test_openai_embeddings(fake: FakeProvider) -> None:
    fake.queue(Reply.file(fixture_path("openai", "embeddings", "response.json")))
    r = openai.Client(api_key="k", base_url=fake.url).embeddings(model="text-embedding-3-small", input=["a", "b"], dimensions=5)
    assert fake.last.path == "/embeddings"
    assert fake.last.json() == {"dimensions": 5, "input": ["a", "b"], "model": "text-embedding-3-small"}
    assert r.to_dict()["data"] == json.loads(fixture_path("openai", "embeddings", "response.json").read_text())["data"]
    assert len(r.data) == 2 and r.usage is not None


def test_openai_async(fake: FakeProvider) -> None:
    fake.queue(Reply.file(fixture_path("openai", "chat", "response.json")), Reply.file(fixture_path("openai", "chat", "stream.sse")))

    async def main() -> tuple[str | None, int]:
        async with openai.AsyncClient(api_key="k", base_url=fake.url) as c:
            r = await c.chat(model="gpt-4o", messages=MSGS)
            n = 0
            async for _ in await c.chat(model="gpt-4o", messages=MSGS, stream=True):
                n += 1
            return r.choices[0].message.content, n

    content, n = asyncio.run(main())
    assert content and n > 2


def test_openai_refuses_unknown_params() -> None:
    with pytest.raises(E.UnsupportedParamsError, match="bogus"):
        openai.chat.build_request({"model": "gpt-4o", "messages": MSGS, "bogus": 1}, api_key="k")
    with pytest.raises(E.UnsupportedParamsError):
        openai.chat.build_request({"model": "gpt-4o", "messages": MSGS, "temperature": 3}, api_key="k")
    req = openai.chat.build_request({"model": "gpt-4o", "messages": MSGS, "extra_body": {"bogus": 1}}, api_key="k")
    assert json.loads(req.content)["bogus"] == 1


@pytest.mark.parametrize(
    ("module", "base", "env"),
    [
        (groq, "https://api.groq.com/openai/v1", "GROQ_API_KEY"),
        (openrouter, "https://openrouter.ai/api/v1", "OPENROUTER_API_KEY"),
        (deepseek, "https://api.deepseek.com", "DEEPSEEK_API_KEY"),
    ],
)
def test_compatible_defaults(module, base: str, env: str, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv(env, "env-key-123")
    req = module.chat.build_request({"model": f"{module.PROVIDER}/some-model", "messages": MSGS})
    assert str(req.url) == base + "/chat/completions"
    assert req.headers["authorization"] == "Bearer env-key-123"
    assert json.loads(req.content)["model"] == "some-model"


@pytest.mark.parametrize("module", [groq, openrouter, deepseek, litellm_proxy])
def test_compatible_round_trip(fake: FakeProvider, module) -> None:  # type: ignore[no-untyped-def]
    fake.queue(Reply.file(fixture_path("openai", "chat", "response.json")), Reply.file(fixture_path("openai", "chat", "stream.sse")), Reply.file(fixture_path("openai", "chat", "error_429.json"), status=429, headers={"retry-after": "0"}))
    c = module.Client(api_key="k", base_url=fake.url, max_retries=0)
    assert c.chat(model="m", messages=MSGS).choices[0].message.content
    assert list(c.chat(model="m", messages=MSGS, stream=True))
    with pytest.raises(E.RateLimitError):
        c.chat(model="m", messages=MSGS)


def test_groq_quirks() -> None:
    with pytest.raises(E.UnsupportedParamsError):
        groq.chat.build_request({"model": "m", "messages": MSGS, "logprobs": True}, api_key="k")
    with pytest.raises(E.UnsupportedParamsError):
        groq.chat.build_request({"model": "m", "messages": MSGS, "n": 2}, api_key="k")
    assert not hasattr(groq, "embeddings")
    # the groq/ naming prefix is stripped, except from Groq's own groq/ ids (known models)
    sent = [json.loads(groq.chat.build_request({"model": m, "messages": MSGS}, api_key="k").content)["model"] for m in ("groq/llama-3.3-70b-versatile", "groq/compound", "groq/groq/compound-mini")]
    assert sent == ["llama-3.3-70b-versatile", "groq/compound", "groq/compound-mini"]


def test_groq_streams_json_mode_by_replaying_one_response(fake: FakeProvider) -> None:
    """Groq cannot stream JSON mode or structured outputs: the call goes out unstreamed and the
    one response comes back as the chunks a stream of it would have given."""
    data = json.loads(fixture_path("openai", "chat", "response_tools.json").read_text())
    data["usage"] = {"prompt_tokens": 12, "completion_tokens": 7, "total_tokens": 19}
    params = {"model": "llama-3.3-70b-versatile", "messages": [{"role": "user", "content": "Hi", "name": "ann"}], "response_format": {"type": "json_object"}, "stream_options": {"include_usage": True}}
    fake.queue(Reply.json(data))
    chunks = [c.to_dict() for c in groq.Client(api_key="k", base_url=fake.url).chat(stream=True, **params)]
    sent = fake.last.json()
    assert "stream" not in sent and "stream_options" not in sent and sent["response_format"] == {"type": "json_object"}
    assert sent["messages"] == [{"role": "user", "content": "Hi"}]  # Groq rejects messages[].name
    choice = data["choices"][0]
    calls = [{"index": i, **call} for i, call in enumerate(choice["message"]["tool_calls"])]
    assert [c["choices"] for c in chunks] == [
        [{"index": 0, "delta": {"role": "assistant", "tool_calls": calls}, "finish_reason": None}],
        [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}],
        [],
    ]
    assert all(c["object"] == "chat.completion.chunk" and c["id"] == data["id"] and c["model"] == data["model"] for c in chunks)
    assert chunks[-1]["usage"] == data["usage"] and all("usage" not in c for c in chunks[:-1])

    async def replay() -> list[dict[str, object]]:
        async with groq.AsyncClient(api_key="k", base_url=fake.url) as client:
            return [c.to_dict() async for c in await client.chat(stream=True, **params)]

    fake.queue(Reply.json(data))
    assert asyncio.run(replay()) == chunks
    # without include_usage no usage chunk; response_format text streams for real
    request = groq.chat.build_request({**params, "stream": True, "stream_options": None}, api_key="k")
    assert request.extensions["specgen_emulated_stream"] == {"include_usage": False}
    request = groq.chat.build_request({**params, "stream": True, "response_format": {"type": "text"}}, api_key="k")
    assert "specgen_emulated_stream" not in request.extensions and json.loads(request.content)["stream"] is True
    # an error answer is raised as such, before any chunk
    fake.queue(Reply.json({"error": {"message": "bad", "type": "invalid_request_error"}}, status=400))
    with pytest.raises(E.BadRequestError):
        groq.Client(api_key="k", base_url=fake.url, max_retries=0).chat(stream=True, **params)


def test_openrouter_routing_params() -> None:
    req = openrouter.chat.build_request({"model": "openrouter/anthropic/claude-sonnet-4.5", "messages": MSGS, "provider": {"order": ["anthropic"]}, "top_k": 5}, api_key="k")
    body = json.loads(req.content)
    assert body["model"] == "anthropic/claude-sonnet-4.5" and body["provider"] == {"order": ["anthropic"]} and body["top_k"] == 5


def test_litellm_proxy_env_and_prompt_cache_key(monkeypatch: pytest.MonkeyPatch) -> None:
    # LiteLLM's names for its proxy; an OpenAI key or base URL in the environment is not used
    monkeypatch.setenv("OPENAI_BASE_URL", "https://api.openai.example/v1/")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai")
    monkeypatch.setenv("LITELLM_PROXY_API_BASE", "https://proxy.example.com/v1/")
    monkeypatch.setenv("LITELLM_PROXY_API_KEY", "sk-proxy")
    for model in ("claude-haiku-4-5", "gemini-2-5-pro", "databricks-meta-llama"):
        req = litellm_proxy.chat.build_request({"model": model, "messages": MSGS, "prompt_cache_key": "s1", "store": True})
        body = json.loads(req.content)
        assert "prompt_cache_key" not in body and body["store"] is True
        assert str(req.url) == "https://proxy.example.com/v1/chat/completions"
        assert req.headers["authorization"] == "Bearer sk-proxy"
    req = litellm_proxy.chat.build_request({"model": "gpt-5.2", "messages": MSGS, "prompt_cache_key": "s1", "custom_backend_field": 1})
    body = json.loads(req.content)
    assert body["prompt_cache_key"] == "s1" and body["custom_backend_field"] == 1


def test_a_child_with_a_finish_map_keeps_its_chunks_id_and_model() -> None:
    """Mistral extends openai and maps finish reasons, so its stream is rebuilt, not passed through:
    each chunk still carries the provider's own id and model (inheritance never costs a field)."""
    raw = fixture_path("mistral", "chat", "stream.sse").read_bytes()
    frames = [json.loads(line[6:]) for line in raw.decode().splitlines() if line.startswith("data: {")]
    chunks = [c.to_dict() for c in mistral.chat.parse_stream([raw])]
    assert chunks and {c["id"] for c in chunks} == {frames[0]["id"]}
    assert {c["model"] for c in chunks} == {frames[0]["model"]}
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
