"""The bedrock adapter (Converse) end to end on a loopback server: requests, responses, event
streams split anywhere or corrupted, mid-stream exceptions as typed errors; and sagemaker_chat's
event stream of SSE payload parts."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from eventstream_util import encode, event
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from specgen.adapters import accumulate
from specgen.conform.fake import FakeProvider, Reply
from specgen_providers import bedrock, sagemaker_chat
from specgen_runtime import errors as E

from conftest import FIXTURES

KEY = "bedrock-api-key-for-tests"
EVENTSTREAM = "application/vnd.amazon.eventstream"
MODEL = "bedrock/anthropic.claude-sonnet-4-5-20250929-v1:0"
HI = [{"role": "user", "content": "Hi"}]


def _stream(fake: FakeProvider, data: bytes, pieces: list[bytes] | None = None, **params: Any) -> dict[str, Any]:
    fake.queue(Reply.stream(data, EVENTSTREAM, pieces))
    with bedrock.Client(KEY, base_url=fake.url) as client:
        chunks = [c.to_dict() for c in client.chat(model=MODEL, messages=HI, stream=True, **params)]
    return accumulate(chunks)


def _recorded(name: str) -> bytes:
    return (FIXTURES / "bedrock" / "chat" / name).read_bytes()


def _frames(name: str) -> list[str]:
    from specgen_runtime.streams import EventStreamDecoder

    return [data for _, data in EventStreamDecoder().feed(_recorded(name))]


def test_stream_with_tool_call_and_usage(fake: FakeProvider) -> None:
    acc = _stream(fake, _recorded("stream_tools.eventstream"))
    assert acc["finish_reason"] == "tool_calls"
    call = acc["tool_calls"][0]
    assert call["id"] == "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q"
    assert json.loads(call["function"]["arguments"]) == {"sign": "WZPZ"}
    assert acc["usage"]["total_tokens"] == 437


def test_padding_field_and_unknown_events_are_ignored(fake: FakeProvider) -> None:
    """ConverseStream pads each event with a "p" field; an event type not known yet adds nothing."""
    data = encode(
        [
            {"event": "messageStart", "payload": {"role": "assistant", "p": "abcdefgh"}},
            {"event": "contentBlockStart", "payload": {"contentBlockIndex": 0, "start": {"image": {}}, "p": "ab"}},
            {"event": "contentBlockDelta", "payload": {"contentBlockIndex": 1, "delta": {"text": "ok"}, "p": "abcdefghijk"}},
            {"event": "somethingNew", "payload": {"x": 1}},
            {"event": "messageStop", "payload": {"stopReason": "end_turn", "p": "a"}},
            {"event": "metadata", "payload": {"usage": {"inputTokens": 3, "outputTokens": 1, "totalTokens": 4}, "metrics": {"latencyMs": 1}, "p": "abc"}},
        ]
    )
    acc = _stream(fake, data)
    assert acc["content"] == "ok" and acc["finish_reason"] == "stop" and not acc.get("tool_calls")
    assert acc["usage"] == {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.integers(1, 400), max_size=8))
def test_frames_split_anywhere_over_http(cuts: list[int]) -> None:
    data = _recorded("stream_reasoning.eventstream")
    points = sorted({c for c in cuts if c < len(data)})
    pieces = [data[i:j] for i, j in zip([0, *points], [*points, len(data)], strict=True)]
    with FakeProvider() as fake:
        acc = _stream(fake, data, pieces)
    assert acc["content"] == "2 + 2 = 4"
    assert acc["reasoning_content"] == "The user asks for 2 + 2. That is 4."


@pytest.mark.parametrize("where", [9, 30, -2])
def test_a_corrupted_frame_is_a_typed_error(fake: FakeProvider, where: int) -> None:
    data = bytearray(_recorded("stream.eventstream"))
    second = len(event("messageStart", {"role": "assistant"}))
    index = second + where if where >= 0 else len(data) + where
    data[index] ^= 0xFF
    with pytest.raises(E.StreamInterruptedError, match=r"bad AWS event stream message|ended inside"):
        _stream(fake, bytes(data))


def test_a_stream_cut_inside_a_frame(fake: FakeProvider) -> None:
    data = _recorded("stream.eventstream")
    with pytest.raises(E.StreamInterruptedError):
        _stream(fake, data[:-7])


@pytest.mark.parametrize(
    ("name", "cls", "retryable"),
    [
        ("stream_error_throttling.eventstream", E.RateLimitError, True),
        ("stream_error_model.eventstream", E.InternalServerError, True),
        ("stream_error_validation.eventstream", E.ContextWindowExceededError, False),
        ("stream_error_validation_roles.eventstream", E.BadRequestError, False),
        ("stream_error_unavailable.eventstream", E.ServiceUnavailableError, True),
        ("stream_error_internal.eventstream", E.InternalServerError, True),
    ],
)
def test_mid_stream_exceptions(fake: FakeProvider, name: str, cls: type[E.LLMError], retryable: bool) -> None:
    with pytest.raises(cls) as info:
        _stream(fake, _recorded(name))
    assert info.value.retryable is retryable
    assert info.value.provider == "bedrock"
    assert info.value.code == json.loads(next(f for f in _frames(name) if "__type" in f))["__type"]  # its type is its code


def test_mid_stream_exception_async(fake: FakeProvider) -> None:
    fake.queue(Reply.stream(_recorded("stream_error_throttling.eventstream"), EVENTSTREAM))

    async def run() -> None:
        client = bedrock.AsyncClient(KEY, base_url=fake.url)
        try:
            stream = await client.chat(model=MODEL, messages=HI, stream=True)
            async for _ in stream:
                pass
        finally:
            await client.aclose()

    with pytest.raises(E.RateLimitError) as info:
        asyncio.run(run())
    assert info.value.code == "throttlingException"


def test_http_error_before_the_stream(fake: FakeProvider) -> None:
    fake.queue(Reply.json({"message": "Input is too long for requested model."}, status=400))
    with pytest.raises(E.ContextWindowExceededError):
        _stream(fake, b"")


def test_requests_take_region_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_REGION", "eu-west-3")
    monkeypatch.delenv("AWS_REGION_NAME", raising=False)
    request = bedrock.chat.build_request({"model": MODEL, "messages": HI}, api_key=KEY)
    assert str(request.url) == "https://bedrock-runtime.eu-west-3.amazonaws.com/model/anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse"
    monkeypatch.setenv("AWS_REGION_NAME", "us-east-1")  # LiteLLM's name first
    request = bedrock.chat.build_request({"model": MODEL, "messages": HI}, api_key=KEY)
    assert request.url.host == "bedrock-runtime.us-east-1.amazonaws.com"
    assert request.headers["authorization"] == f"Bearer {KEY}"


def test_a_region_that_is_not_a_host_part_is_refused() -> None:
    with pytest.raises(E.BadRequestError, match="host-name part"):
        bedrock.chat.build_request({"model": MODEL, "messages": HI, "region": "evil.com/x"}, api_key=KEY)


def test_message_conversion() -> None:
    request = bedrock.chat.build_request(
        {
            "model": MODEL,
            "messages": [
                {"role": "system", "content": [{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}]},
                {"role": "user", "content": "Weather?"},
                {"role": "assistant", "content": "Let me check.", "tool_calls": [{"id": "t1", "type": "function", "function": {"name": "weather", "arguments": '{"city":"Paris"}'}}]},
                {"role": "tool", "tool_call_id": "t1", "content": "18C"},
                {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "s3://bucket/cat.jpg"}}]},
            ],
            "tool_choice": "none",
        },
        api_key=KEY,
    )
    body = json.loads(request.content)
    assert body["system"] == [{"text": "Be brief."}, {"cachePoint": {"type": "default"}}]
    assert [m["role"] for m in body["messages"]] == ["user", "assistant", "user"]
    assert body["messages"][2]["content"] == [
        {"toolResult": {"toolUseId": "t1", "content": [{"text": "18C"}]}},
        {"image": {"format": "jpeg", "source": {"s3Location": {"uri": "s3://bucket/cat.jpg"}}}},
    ]
    # tool history with no tools declared: the tools used are declared, no choice sent ("none")
    assert body["toolConfig"] == {"tools": [{"toolSpec": {"name": "weather", "inputSchema": {"json": {"type": "object"}}}}]}
    assert "model" not in body


def test_an_image_url_to_fetch_is_refused() -> None:
    with pytest.raises(E.BadRequestError, match="data URLs or s3"):
        bedrock.chat.build_request({"model": MODEL, "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://x/y.png"}}]}]}, api_key=KEY)


@pytest.mark.parametrize("body", [{"output": []}, {"output": {"message": {"content": {}}}}, {"output": {"message": {"content": [{"text": 5}]}}}])
def test_malformed_responses_are_typed(fake: FakeProvider, body: Any) -> None:
    fake.queue(Reply.json(body))
    with bedrock.Client(KEY, base_url=fake.url) as client, pytest.raises(E.APIResponseValidationError) as info:
        client.chat(model=MODEL, messages=HI)
    assert info.value.provider == "bedrock"


def test_response_model_is_the_requested_one(fake: FakeProvider) -> None:
    fake.queue(Reply.json((FIXTURES / "bedrock/chat/response.json").read_bytes()))
    with bedrock.Client(KEY, base_url=fake.url) as client:
        r = client.chat(model="bedrock/arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.amazon.nova-lite-v1:0", messages=HI)
    assert r.model == "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.amazon.nova-lite-v1:0"


def test_embeddings_titan_and_cohere(fake: FakeProvider) -> None:
    fake.queue(Reply.json((FIXTURES / "bedrock/embeddings/response.json").read_bytes()))
    fake.queue(Reply.json((FIXTURES / "bedrock/embeddings/response_cohere.json").read_bytes()))
    with bedrock.Client(KEY, base_url=fake.url) as client:
        titan = client.embeddings(model="bedrock/amazon.titan-embed-text-v2:0", input="hello")
        cohere = client.embeddings(model="bedrock/cohere.embed-english-v3", input=["hello world", "goodbye"], input_type="search_query")
    assert fake.received[0].json() == {"inputText": "hello"}
    assert fake.received[1].json() == {"texts": ["hello world", "goodbye"], "input_type": "search_query"}
    assert len(titan.data) == 1 and titan.usage.prompt_tokens == 6
    assert [d.index for d in cohere.data] == [0, 1]


def test_sagemaker_stream_of_payload_parts(fake: FakeProvider) -> None:
    data = (FIXTURES / "sagemaker_chat/chat/stream.eventstream").read_bytes()
    fake.queue(Reply.stream(data, EVENTSTREAM, [data[i : i + 37] for i in range(0, len(data), 37)]))
    with sagemaker_chat.Client(KEY, base_url=fake.url) as client:
        chunks = [c.to_dict() for c in client.chat(model="sagemaker_chat/my-llama-endpoint", messages=HI, stream=True)]
    assert accumulate(chunks)["content"] == "Hello! How can I help?"
    assert fake.last.path == "/endpoints/my-llama-endpoint/invocations-response-stream"


def test_sagemaker_model_stream_error(fake: FakeProvider) -> None:
    fake.queue(Reply.stream((FIXTURES / "sagemaker_chat/chat/stream_error_model.eventstream").read_bytes(), EVENTSTREAM))
    with sagemaker_chat.Client(KEY, base_url=fake.url) as client, pytest.raises(E.InternalServerError) as info:
        list(client.chat(model="sagemaker_chat/my-llama-endpoint", messages=HI, stream=True))
    assert info.value.code == "ModelStreamError"
    assert "returned an error while streaming" in info.value.message


def test_titan_takes_one_text_per_call() -> None:
    one = bedrock.embeddings.build_request({"model": "bedrock/amazon.titan-embed-text-v2:0", "input": ["only"]}, api_key=KEY)
    assert json.loads(one.content) == {"inputText": "only"}
    with pytest.raises(E.UnsupportedParamsError, match="one text per call"):
        bedrock.embeddings.build_request({"model": "bedrock/amazon.titan-embed-text-v2:0", "input": ["a", "b"]}, api_key=KEY)
