"""Gemini (nested shapes, path-templated URLs, api versions) and Ollama (NDJSON) over loopback HTTP."""

from __future__ import annotations

import asyncio
import json

import pytest

from specgen.conform.fake import FakeProvider, Reply
from specgen_providers import gemini, ollama
from specgen_runtime import errors as E

from conftest import fixture_path

MSGS = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Hello"},
    {"role": "assistant", "content": "Hi!"},
    {"role": "user", "content": [{"type": "text", "text": "What is this?"}, {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}]},
]


def test_gemini_request_shape(fake: FakeProvider) -> None:
    fake.queue(Reply.file(fixture_path("gemini", "chat", "response.json")))
    c = gemini.Client(api_key="AIza-secret", base_url=fake.url)
    c.chat(
        model="gemini/gemini-2.5-flash",
        messages=MSGS,
        temperature=0.3,
        max_tokens=100,
        stop=["x"],
        response_format={"type": "json_schema", "json_schema": {"name": "r", "schema": {"type": "object", "additionalProperties": False, "properties": {"a": {"type": "string"}}}}},
        tools=[{"type": "function", "function": {"name": "get_weather", "description": "d", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}],
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
    )
    req = fake.last
    assert req.path == "/v1beta/models/gemini-2.5-flash:generateContent"
    assert req.headers["x-goog-api-key"] == "AIza-secret"
    assert req.json() == {
        "systemInstruction": {"parts": [{"text": "Be brief."}]},
        "contents": [
            {"role": "user", "parts": [{"text": "Hello"}]},
            {"role": "model", "parts": [{"text": "Hi!"}]},
            {"role": "user", "parts": [{"text": "What is this?"}, {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}}]},
        ],
        "generationConfig": {
            "temperature": 0.3,
            "maxOutputTokens": 100,
            "stopSequences": ["x"],
            "responseMimeType": "application/json",
            "responseSchema": {"type": "object", "properties": {"a": {"type": "string"}}},
        },
        "tools": [{"functionDeclarations": [{"name": "get_weather", "description": "d", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}]}],
        "toolConfig": {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}},
    }


def test_gemini_api_version_override() -> None:
    req = gemini.chat.build_request({"model": "gemini-3-pro-preview", "messages": MSGS}, api_key="k")
    assert req.url.path == "/v1alpha/models/gemini-3-pro-preview:generateContent"
    req = gemini.chat.build_request({"model": "gemini-3-pro-preview", "messages": MSGS}, api_key="k", api_version="v1")
    assert req.url.path == "/v1/models/gemini-3-pro-preview:generateContent"


def test_gemini_tool_result_round_trip() -> None:
    history = [
        {"role": "user", "content": "Weather?"},
        {"role": "assistant", "content": None, "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}]},
        {"role": "tool", "tool_call_id": "c1", "content": '{"temp": 15}'},
    ]
    body = json.loads(gemini.chat.build_request({"model": "gemini-2.5-flash", "messages": history}, api_key="k").content)
    assert body["contents"][1] == {"role": "model", "parts": [{"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}}]}
    assert body["contents"][2] == {"role": "user", "parts": [{"functionResponse": {"name": "get_weather", "response": {"temp": 15}}}]}


def test_gemini_thought_signature_round_trip(fake: FakeProvider) -> None:
    """Gemini 3 needs a function call's thoughtSignature back on the next turn."""
    fake.queue(Reply.file(fixture_path("gemini", "chat", "response_tools.json")))
    r = gemini.Client(api_key="k", base_url=fake.url).chat(model="gemini-3-pro-preview", messages=MSGS[1:2])
    data = json.loads(fixture_path("gemini", "chat", "response_tools.json").read_text())
    signature = data["candidates"][0]["content"]["parts"][0]["thoughtSignature"]
    call = r.to_dict()["choices"][0]["message"]["tool_calls"][0]
    assert call["extra_content"] == {"google": {"thought_signature": signature}}
    history = [*MSGS[1:2], r.to_dict()["choices"][0]["message"], {"role": "tool", "tool_call_id": call["id"], "content": "15C"}]
    body = json.loads(gemini.chat.build_request({"model": "gemini-3-pro-preview", "messages": history}, api_key="k").content)
    assert body["contents"][1]["parts"] == [
        {"functionCall": {"name": "get_current_weather", "args": {"location": "Boston, MA"}}, "thoughtSignature": signature}
    ]
    assert body["contents"][2]["parts"][0]["functionResponse"]["name"] == "get_current_weather"


@pytest.mark.parametrize(
    ("fixture", "finish"),
    [("response.json", "stop"), ("response_max_tokens.json", "length"), ("response_safety.json", "content_filter"), ("response_tools.json", "tool_calls")],
)
def test_gemini_responses(fake: FakeProvider, fixture: str, finish: str) -> None:
    fake.queue(Reply.file(fixture_path("gemini", "chat", fixture)))
    r = gemini.Client(api_key="k", base_url=fake.url).chat(model="gemini-2.5-flash", messages=MSGS)
    data = json.loads(fixture_path("gemini", "chat", fixture).read_text())
    assert r.choices[0].finish_reason == finish
    assert r.usage is not None and r.usage.prompt_tokens == data["usageMetadata"]["promptTokenCount"]
    assert r.usage.total_tokens == data["usageMetadata"]["totalTokenCount"]
    assert r.model == data.get("modelVersion", "")
    parts = (data["candidates"][0].get("content") or {}).get("parts") or []
    texts = "".join(p["text"] for p in parts if "text" in p and not p.get("thought"))
    assert (r.choices[0].message.content or "") == texts
    calls = [p["functionCall"] for p in parts if "functionCall" in p]
    got = r.choices[0].message.tool_calls or []
    assert [(c.function.name, json.loads(c.function.arguments or "")) for c in got] == [(c["name"], c["args"]) for c in calls]


def test_gemini_image_output(fake: FakeProvider) -> None:
    """modalities [text, image] asks an image model for pictures; they come back as data URLs."""
    fake.queue(Reply.file(fixture_path("gemini", "chat", "response_image.json")))
    client = gemini.Client(api_key="k", base_url=fake.url)
    r = client.chat(model="gemini-2.5-flash-image", messages=[{"role": "user", "content": "A cat"}], modalities=["text", "image"])
    assert fake.last.json()["generationConfig"] == {"responseModalities": ["TEXT", "IMAGE"]}
    message = r.choices[0].message
    assert message.content == "Here is a picture of a cat wearing a tiny wizard hat."
    images = message.images
    assert images is not None and len(images) == 1 and images[0]["type"] == "image_url"
    assert images[0]["image_url"]["url"].startswith("data:image/png;base64,iVBORw0KGgo")
    with pytest.raises(E.UnsupportedParamsError) as err:
        client.chat(model="gemini-2.5-flash", messages=[{"role": "user", "content": "hi"}], modalities=["text", "audio"])
    assert err.value.param == "modalities"
    # the same image in a stream arrives in the delta
    body = json.dumps(json.loads(fixture_path("gemini", "chat", "response_image.json").read_text()))
    fake.queue(Reply.stream(f"data: {body}\r\n\r\n".encode(), "text/event-stream", None))
    chunks = list(client.chat(model="gemini-2.5-flash-image", messages=[{"role": "user", "content": "A cat"}], modalities=["text", "image"], stream=True))
    assert [c.choices[0].delta.images for c in chunks if c.choices and c.choices[0].delta.images] == [images]


def test_gemini_stream(fake: FakeProvider) -> None:
    raw = fixture_path("gemini", "chat", "stream.sse").read_bytes()
    fake.queue(Reply.stream(raw, "text/event-stream", [raw[i : i + 3] for i in range(0, len(raw), 3)]))
    chunks = list(gemini.Client(api_key="k", base_url=fake.url).chat(model="gemini-2.5-flash", messages=MSGS, stream=True))
    req = fake.last
    assert req.path == "/v1beta/models/gemini-2.5-flash:streamGenerateContent" and req.query == {"alt": ["sse"]}
    frames = [json.loads(line[6:]) for line in raw.decode().splitlines() if line.startswith("data: ")]
    expected = "".join(p.get("text", "") for f in frames for c in f["candidates"] for p in c.get("content", {}).get("parts", []))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == expected
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert chunks[-1].usage is not None


def test_gemini_stream_tools_finish_is_tool_calls(fake: FakeProvider) -> None:
    fake.queue(Reply.file(fixture_path("gemini", "chat", "stream_tools.sse")))
    chunks = list(gemini.Client(api_key="k", base_url=fake.url).chat(model="gemini-2.5-flash", messages=MSGS, stream=True))
    calls = [tc for c in chunks for ch in c.choices for tc in ch.delta.tool_calls or ()]
    assert calls and calls[0].index == 0 and calls[0].function.name == "get_current_weather"
    assert [ch.finish_reason for c in chunks for ch in c.choices if ch.finish_reason] == ["tool_calls"]


def test_gemini_stream_error_in_200(fake: FakeProvider) -> None:
    body = b'data: {"candidates": [{"content": {"parts": [{"text": "Hi"}],"role": "model"},"index": 0}]}\r\n\r\ndata: {"error": {"code": 503, "message": "The model is overloaded.", "status": "UNAVAILABLE"}}\r\n\r\n'
    fake.queue(Reply.stream(body, "text/event-stream"))
    with pytest.raises(E.ServiceUnavailableError, match="overloaded"):
        list(gemini.Client(api_key="k", base_url=fake.url).chat(model="gemini-2.5-flash", messages=MSGS, stream=True))


@pytest.mark.parametrize(
    ("fixture", "status", "cls"),
    [
        ("error_400.json", 400, E.BadRequestError),
        ("error_400_context.json", 400, E.ContextWindowExceededError),
        ("error_400_apikey.json", 400, E.AuthenticationError),
        ("error_403.json", 403, E.PermissionDeniedError),
        ("error_404.json", 404, E.NotFoundError),
        ("error_429.json", 429, E.RateLimitError),
        ("error_500.json", 500, E.InternalServerError),
        ("error_503.json", 503, E.ServiceUnavailableError),
    ],
)
def test_gemini_error_rows(fake: FakeProvider, fixture: str, status: int, cls: type[E.LLMError]) -> None:
    path = fixture_path("gemini", "chat", fixture)
    fake.queue(*[Reply.file(path, status=status, headers={"retry-after": "0"})] * 2)
    with pytest.raises(cls) as info:
        gemini.Client(api_key="AIza-secret", base_url=fake.url, max_retries=1).chat(model="gemini-2.5-flash", messages=MSGS)
    assert type(info.value) is cls
    body = json.loads(path.read_text())
    assert info.value.message == body["error"]["message"] and info.value.code == body["error"]["status"]
    assert len(fake.received) == (2 if info.value.retryable else 1)
    assert info.value.retryable == (status in (429, 500, 503))


def test_gemini_embeddings(fake: FakeProvider) -> None:
    fake.queue(Reply.file(fixture_path("gemini", "embeddings", "response_batch.json")))
    r = gemini.Client(api_key="k", base_url=fake.url).embeddings(model="gemini-embedding-001", input=["a", "b"], dimensions=8)
    assert fake.last.path == "/v1beta/models/gemini-embedding-001:batchEmbedContents"
    assert fake.last.json() == {
        "requests": [
            {"model": "models/gemini-embedding-001", "content": {"parts": [{"text": "a"}]}, "outputDimensionality": 8},
            {"model": "models/gemini-embedding-001", "content": {"parts": [{"text": "b"}]}, "outputDimensionality": 8},
        ]
    }
    data = json.loads(fixture_path("gemini", "embeddings", "response_batch.json").read_text())
    assert [e.embedding for e in r.data] == [e["values"] for e in data["embeddings"]]


def test_ollama_request_and_response(fake: FakeProvider) -> None:
    fake.queue(Reply.file(fixture_path("ollama", "chat", "response.json")))
    r = ollama.Client(base_url=fake.url).chat(model="ollama/llama3.2", messages=MSGS, temperature=0.1, max_tokens=20, stop="x", response_format={"type": "json_object"})
    req = fake.last
    assert req.path == "/api/chat" and "authorization" not in req.headers
    assert req.json() == {
        "model": "llama3.2",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hello"},
            {"role": "assistant", "content": "Hi!"},
            {"role": "user", "content": "What is this?", "images": ["iVBORw0KGgo="]},
        ],
        "options": {"temperature": 0.1, "num_predict": 20, "stop": ["x"]},
        "format": "json",
        "stream": False,
    }
    data = json.loads(fixture_path("ollama", "chat", "response.json").read_text())
    assert r.choices[0].message.content == data["message"]["content"]
    assert r.choices[0].finish_reason == "stop"
    assert r.usage is not None and r.usage.prompt_tokens == data["prompt_eval_count"] and r.usage.completion_tokens == data["eval_count"]


def test_ollama_tools_and_thinking(fake: FakeProvider) -> None:
    fake.queue(Reply.file(fixture_path("ollama", "chat", "response_tools.json")), Reply.file(fixture_path("ollama", "chat", "response_thinking.json")))
    c = ollama.Client(base_url=fake.url)
    r = c.chat(model="llama3.2", messages=MSGS, tools=[{"type": "function", "function": {"name": "get_weather", "parameters": {}}}])
    data = json.loads(fixture_path("ollama", "chat", "response_tools.json").read_text())
    call = data["message"]["tool_calls"][0]["function"]
    got = r.choices[0].message.tool_calls
    assert got and got[0].function.name == call["name"] and json.loads(got[0].function.arguments or "") == call["arguments"]
    assert r.choices[0].finish_reason == "tool_calls"
    r = c.chat(model="qwen3", messages=MSGS, reasoning_effort="high")
    assert fake.last.json()["think"] == "high"
    thinking = json.loads(fixture_path("ollama", "chat", "response_thinking.json").read_text())["message"]["thinking"]
    assert r.choices[0].message.reasoning_content == thinking


def test_ollama_stream(fake: FakeProvider) -> None:
    raw = fixture_path("ollama", "chat", "stream.ndjson").read_bytes()
    fake.queue(Reply.stream(raw, "application/x-ndjson", [raw[i : i + 11] for i in range(0, len(raw), 11)]))
    chunks = list(ollama.Client(base_url=fake.url).chat(model="llama3.2", messages=MSGS, stream=True))
    assert fake.last.json()["stream"] is True
    lines = [json.loads(line) for line in raw.decode().splitlines() if line.strip()]
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "".join(x["message"]["content"] for x in lines)
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == lines[-1]["eval_count"]


def test_ollama_stream_tools(fake: FakeProvider) -> None:
    fake.queue(Reply.file(fixture_path("ollama", "chat", "stream_tools.ndjson")))
    chunks = list(ollama.Client(base_url=fake.url).chat(model="llama3.2", messages=MSGS, stream=True))
    calls = [tc for c in chunks for ch in c.choices for tc in ch.delta.tool_calls or ()]
    assert calls and calls[0].index == 0 and calls[0].function.name == "get_weather"
    assert [ch.finish_reason for c in chunks for ch in c.choices if ch.finish_reason] == ["tool_calls"]


def test_ollama_stream_error_line(fake: FakeProvider) -> None:
    fake.queue(Reply.file(fixture_path("ollama", "chat", "stream_error.ndjson")))
    with pytest.raises(E.LLMError, match="error was encountered") as info:
        list(ollama.Client(base_url=fake.url).chat(model="llama3.2", messages=MSGS, stream=True))
    assert info.value.provider == "ollama"


def test_ollama_stream_cut_short(fake: FakeProvider) -> None:
    raw = fixture_path("ollama", "chat", "stream.ndjson").read_bytes()
    fake.queue(Reply.stream(b"\n".join(raw.splitlines()[:-1]) + b"\n", "application/x-ndjson"))
    with pytest.raises(E.StreamInterruptedError):
        list(ollama.Client(base_url=fake.url).chat(model="llama3.2", messages=MSGS, stream=True))


@pytest.mark.parametrize(("fixture", "status", "cls"), [("error_404.json", 404, E.NotFoundError), ("error_400.json", 400, E.BadRequestError)])
def test_ollama_error_rows(fake: FakeProvider, fixture: str, status: int, cls: type[E.LLMError]) -> None:
    path = fixture_path("ollama", "chat", fixture)
    fake.queue(Reply.file(path, status=status))
    with pytest.raises(cls) as info:
        ollama.Client(base_url=fake.url).chat(model="llama3.2", messages=MSGS)
    assert info.value.message == json.loads(path.read_text())["error"]


@pytest.mark.parametrize(("status", "cls"), [(429, E.RateLimitError), (500, E.InternalServerError), (503, E.ServiceUnavailableError)])
def test_ollama_retryable_rows(fake: FakeProvider, status: int, cls: type[E.LLMError]) -> None:
    fake.queue(Reply.json({"error": "busy"}, status=status, headers={"retry-after": "0"}), Reply.file(fixture_path("ollama", "chat", "response.json")))
    assert ollama.Client(base_url=fake.url).chat(model="llama3.2", messages=MSGS).choices[0].finish_reason == "stop"
    fake.reset()
    fake.queue(Reply.json({"error": "busy"}, status=status))
    with pytest.raises(cls):
        ollama.Client(base_url=fake.url, max_retries=0).chat(model="llama3.2", messages=MSGS)


def test_ollama_embeddings(fake: FakeProvider) -> None:
    fake.queue(Reply.file(fixture_path("ollama", "embeddings", "response.json")))
    r = ollama.Client(base_url=fake.url).embeddings(model="all-minilm", input=["a", "b"])
    assert fake.last.path == "/api/embed" and fake.last.json() == {"input": ["a", "b"], "model": "all-minilm"}
    data = json.loads(fixture_path("ollama", "embeddings", "response.json").read_text())
    assert [e.embedding for e in r.data] == data["embeddings"]
    assert r.usage is not None and r.usage.prompt_tokens == data["prompt_eval_count"]


def test_async_gemini_and_ollama_streams(fake: FakeProvider) -> None:
    fake.queue(Reply.file(fixture_path("gemini", "chat", "stream.sse")), Reply.file(fixture_path("ollama", "chat", "stream.ndjson")))

    async def main() -> tuple[str, str]:
        out = []
        for client in (gemini.AsyncClient(api_key="k", base_url=fake.url), ollama.AsyncClient(base_url=fake.url)):
            async with client as c:
                text = ""
                async for chunk in await c.chat(model="m", messages=MSGS, stream=True):
                    text += "".join(ch.delta.content or "" for ch in chunk.choices)
                out.append(text)
        return out[0], out[1]

    g, o = asyncio.run(main())
    assert g and o
