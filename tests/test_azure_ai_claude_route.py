"""azure_ai routes Claude models to azure_ai_anthropic (the Messages wire at /anthropic/v1/messages of
the same resource), with the same key; other models stay on /models/chat/completions."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from specgen.adapters import built_adapters
from specgen.conform.fake import FakeProvider, Reply

from conftest import fixture_path

ROOT = Path(__file__).resolve().parents[1]
MSGS = [{"role": "user", "content": "Hi"}]


@pytest.fixture(scope="module")
def azure_ai() -> Iterator[ModuleType]:
    with built_adapters(ROOT / "specs", ["azure_ai", "azure_ai_anthropic"]) as built:
        yield {s.name: m for s, m in built}["azure_ai"]


def test_claude_goes_to_the_messages_route(fake: FakeProvider, azure_ai: ModuleType) -> None:
    fake.queue(Reply.file(fixture_path("anthropic", "chat", "response.json")), Reply.file(fixture_path("openai", "chat", "response.json")))
    with azure_ai.Client(api_key="foundry-key-0123", base_url=fake.url) as client:
        client.chat(model="azure_ai/claude-sonnet-4-5", messages=MSGS, max_tokens=64)
        client.chat(model="azure_ai/Phi-4", messages=MSGS)
    claude, phi = fake.received
    assert claude.path == "/anthropic/v1/messages" and claude.headers["x-api-key"] == "foundry-key-0123"
    assert claude.headers["anthropic-version"] == "2023-06-01" and claude.json()["model"] == "claude-sonnet-4-5"
    assert phi.path == "/models/chat/completions" and phi.query == {"api-version": ["2024-05-01-preview"]}
    assert phi.headers["api-key"] == "foundry-key-0123" and phi.json()["model"] == "Phi-4"
