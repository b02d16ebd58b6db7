"""``Client.list_models()`` / ``AsyncClient.list_models()``: each spec's ``models.discovery`` over a
real loopback server, with the providers' documented list bodies (``specs/fixtures/<p>/models/``)."""

from __future__ import annotations

import asyncio

import pytest

from specgen.conform.fake import FakeProvider, Reply
from specgen_providers import anthropic, gemini, groq, ollama, openai
from specgen_runtime import errors as E

from conftest import fixture_path


def _serve(fake: FakeProvider, provider: str) -> None:
    fake.queue(Reply.file(fixture_path(provider, "models", "response.json")))


def test_openai_lists_and_merges_known_models(fake: FakeProvider) -> None:
    _serve(fake, "openai")
    models = openai.Client(api_key="sk-x", base_url=fake.url + "/v1").list_models()
    assert fake.last.method == "GET" and fake.last.path == "/v1/models"
    assert fake.last.headers["authorization"] == "Bearer sk-x"
    by_id = {m["id"]: m for m in models}
    assert set(by_id) == {"gpt-4o", "o3", "gpt-4.1-nano"} and all(m["listed"] for m in models)
    # what the spec knows (context window, prices) joins what the provider lists
    assert by_id["gpt-4o"]["known"] is True and by_id["gpt-4o"]["context_window"] == openai.MODELS["gpt-4o"]["context_window"]
    assert by_id["gpt-4o"]["owned_by"] == "system" and by_id["gpt-4o"]["created"] == 1715367049
    assert "known" not in by_id["gpt-4.1-nano"]


def test_gemini_strips_models_prefix_and_reads_limits(fake: FakeProvider) -> None:
    _serve(fake, "gemini")
    models = gemini.Client(api_key="g-key", base_url=fake.url).list_models()
    assert fake.last.path == "/v1beta/models"
    first = models[0]
    assert first["id"] == "gemini-2.5-flash" and first["display_name"] == "Gemini 2.5 Flash"
    assert first["context_window"] == 1048576 and first["max_output"] == 65536


def test_ollama_and_anthropic_and_an_inherited_discovery(fake: FakeProvider) -> None:
    _serve(fake, "ollama")
    assert [m["id"] for m in ollama.Client(base_url=fake.url).list_models()] == ["gemma3"]
    assert fake.last.path == "/api/tags"
    _serve(fake, "anthropic")
    listed = anthropic.Client(api_key="a-key", base_url=fake.url).list_models()
    assert fake.last.path == "/v1/models" and fake.last.headers["x-api-key"] == "a-key"
    assert listed[1]["id"] == "claude-haiku-4-5" and listed[1]["known"] is True and listed[1]["display_name"] == "Claude Haiku 4.5"
    _serve(fake, "openai")  # groq extends openai: the same list shape at its own base URL
    assert len(groq.Client(api_key="k", base_url=fake.url).list_models()) == 3


def test_async_list_models_and_typed_errors(fake: FakeProvider) -> None:
    _serve(fake, "openai")

    async def run() -> list[str]:
        async with openai.AsyncClient(api_key="k", base_url=fake.url) as c:
            return [m["id"] for m in await c.list_models()]

    assert asyncio.run(run()) == ["gpt-4o", "o3", "gpt-4.1-nano"]
    fake.queue(Reply.json({"object": "list", "data": "not a list"}))
    with pytest.raises(E.APIResponseValidationError) as caught:
        openai.Client(api_key="k", base_url=fake.url, max_retries=0).list_models()
    assert caught.value.provider == "openai"
    fake.queue(Reply.file(fixture_path("openai", "chat", "error_401.json"), status=401))
    with pytest.raises(E.AuthenticationError):
        openai.Client(api_key="k", base_url=fake.url, max_retries=0).list_models()
