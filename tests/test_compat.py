"""LiteLLM's smaller helpers, as ``import specgen_providers as litellm`` code calls them."""

from __future__ import annotations

import pytest

import specgen_providers as litellm
from specgen.conform.fake import FakeProvider, Reply

from conftest import fixture_path

RESPONSE = fixture_path("openai", "chat", "response.json")


def test_stream_chunk_builder_adds_a_stream_up_to_its_completion() -> None:
    chunks = [
        {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 7, "model": "m", "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Hel"}}]},
        {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 7, "model": "m", "choices": [{"index": 0, "delta": {"content": "lo", "reasoning_content": "hm"}}]},
        {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 7, "model": "m", "choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "id": "call_1", "type": "function", "function": {"name": "get", "arguments": '{"a"'}}]}}]},
        {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 7, "model": "m", "choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": ": 1}"}}]}, "finish_reason": "tool_calls"}]},
        {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 7, "model": "m", "choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}},
    ]
    r = litellm.stream_chunk_builder(chunks, messages=[{"role": "user", "content": "hi"}])
    assert r is not None and r.id == "chatcmpl-1" and r.model == "m"
    message = r.choices[0].message
    assert message.content == "Hello" and message.reasoning_content == "hm"
    assert message.tool_calls is not None and message.tool_calls[0].function.arguments == '{"a": 1}' and message.tool_calls[0].id == "call_1"
    assert r.choices[0].finish_reason == "tool_calls" and r.usage is not None and r.usage.total_tokens == 7
    assert litellm.stream_chunk_builder([]) is None


def test_validate_environment_and_supported_params_come_from_the_spec(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GROQ_API_KEY", raising=False)
    assert litellm.validate_environment("groq/llama-3.3-70b-versatile") == {"keys_in_environment": False, "missing_keys": ["GROQ_API_KEY"]}
    monkeypatch.setenv("GROQ_API_KEY", "k")
    assert litellm.validate_environment("groq/llama-3.3-70b-versatile")["keys_in_environment"] is True
    params = litellm.get_supported_openai_params("groq/llama-3.3-70b-versatile")
    assert params is not None and "temperature" in params and "tools" in params
    assert "logit_bias" not in params and "model" not in params  # groq.yaml refuses logit_bias
    assert "dimensions" in (litellm.get_supported_openai_params("text-embedding-3-small", custom_llm_provider="openai", request_type="embeddings") or [])
    assert litellm.get_supported_openai_params("deepseek/deepseek-chat", request_type="embeddings") is None
    assert "anthropic" in litellm.provider_list and "nano_gpt" in litellm.provider_list and "ai21_chat" in litellm.provider_list


def test_module_level_key_retries_and_timeout_are_the_calls_defaults(fake: FakeProvider, monkeypatch: pytest.MonkeyPatch) -> None:
    """``litellm.api_key``, ``litellm.num_retries`` and ``litellm.request_timeout`` (LiteLLM's
    module-level settings) are used when a call gives none; a call's own values win."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setattr(litellm, "api_key", "sk-module-level")
    monkeypatch.setattr(litellm, "num_retries", 1)
    monkeypatch.setattr(litellm, "request_timeout", 5.0)
    msgs = [{"role": "user", "content": "Hello"}]
    fake.queue(Reply.json({"error": {"message": "busy"}}, status=503), Reply.file(RESPONSE))
    r = litellm.completion(model="openai/gpt-4o", messages=msgs, api_base=fake.url)
    assert r.choices[0].message.content and len(fake.received) == 2  # one retry, from num_retries
    assert fake.received[-1].headers["authorization"] == "Bearer sk-module-level"
    fake.queue(Reply.file(RESPONSE))
    litellm.completion(model="openai/gpt-4o", messages=msgs, api_base=fake.url, api_key="sk-call")
    assert fake.received[-1].headers["authorization"] == "Bearer sk-call"
    client = litellm.completion.__self__.client("openai", api_base=fake.url)
    assert client.timeout == 5.0 and client.max_retries == 1
