"""The LiteLLM reference snapshot and the LiteLLM capture helpers.

The first half needs no litellm (CI installs none): the serializer, the committed snapshot,
the CLI's error without litellm. The second half runs only where ``specgen[reference]`` is
installed (``pytest.importorskip("litellm")``).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from specgen.audit import LITELLM_MISSING, LiteLLMMissingError
from specgen.audit.reference import (
    SCHEMA_VERSION,
    build_snapshot,
    dumps,
    family_pattern,
    load_snapshot,
    pick_representative,
)
from specgen.cli import main

from conftest import FIXTURES, ROOT

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:litellm")  # pydantic 2.11 notices

SNAPSHOT = ROOT / "checklist" / "litellm_reference.json"
SPEC_PROVIDERS = ["anthropic", "deepseek", "gemini", "groq", "litellm_proxy", "ollama", "ollama_chat", "openai", "openrouter"]


# --------------------------------------------------------------------------- without litellm


def test_dumps_is_canonical() -> None:
    a = {"b": [3, 1], "a": {"y": 1, "x": {2, 1}}, "c": ("t",)}
    b = {"c": ["t"], "a": {"x": {1, 2}, "y": 1}, "b": [3, 1]}
    assert dumps(a) == dumps(b)
    text = dumps(a)
    assert text.endswith("}\n") and not text.endswith("\n\n")
    assert json.loads(text) == {"a": {"x": [1, 2], "y": 1}, "b": [3, 1], "c": ["t"]}
    assert dumps(json.loads(text)) == text


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), object(), b"bytes"])
def test_dumps_refuses_what_is_not_stable_json(bad: object) -> None:
    with pytest.raises((TypeError, ValueError)):
        dumps({"x": bad})


@pytest.mark.parametrize(
    ("name", "pattern"),
    [
        ("claude-3-5-sonnet-20240620", "claude-3*"),
        ("claude-sonnet-4-5", "claude-sonnet-4*"),
        ("gemini-2.5-flash", "gemini-2.5*"),
        ("gpt-4o-mini", "gpt-4o*"),
        ("o1", "o1"),
        ("deepseek-chat", "deepseek-chat"),
        ("anthropic/claude-3.5-sonnet", "anthropic/claude-3.5*"),
    ],
)
def test_family_pattern(name: str, pattern: str) -> None:
    assert family_pattern(name) == pattern


def test_representative_prefers_undated_stable_short_names() -> None:
    assert pick_representative(["claude-sonnet-4-5-20250929", "claude-sonnet-4-5", "claude-sonnet-4-5-preview"]) == "claude-sonnet-4-5"
    assert pick_representative(["gpt-4o-2024-08-06", "gpt-4o-mini", "gpt-4o"]) == "gpt-4o"
    assert pick_representative(["b-model", "a-model"]) == "a-model"


def _fake_litellm() -> ModuleType:
    """Just enough of litellm's surface for build_snapshot; provider "bad" raises."""
    import enum

    fake = ModuleType("litellm")
    fake.__file__ = None
    providers = enum.Enum("LlmProviders", {"GOOD": "good", "BAD": "bad"}, type=str)
    chat_params = {"good-1": ["temperature", "stream"], "good-2-20240101": ["stream"], "good-3": ["temperature", "stream"]}

    def get_supported_openai_params(model: str, custom_llm_provider: str, request_type: str = "chat_completion") -> list[str]:
        if custom_llm_provider == "bad":
            raise KeyError(model)
        return chat_params[model] if request_type == "chat_completion" else ["dimensions"]

    class ProviderConfigManager:
        @staticmethod
        def get_provider_chat_config(model: str, provider: Any) -> None:
            return None

        @staticmethod
        def get_provider_embedding_config(model: str, provider: Any) -> None:
            raise RuntimeError("no embedding config")

    fake.LlmProviders = providers
    fake.provider_list = list(providers)
    fake.models_by_provider = {"good": ["good-1", "good-2-20240101", "good-3"], "bad": ["bad-1"]}
    fake.model_cost = {
        "good-1": {"litellm_provider": "good", "mode": "chat", "supports_vision": True},
        "good-2-20240101": {"litellm_provider": "good", "mode": "chat"},
        "good-3": {"litellm_provider": "good", "mode": "chat", "supports_native_streaming": False},
        "good-embed": {"litellm_provider": "good", "mode": "embedding"},
        "bad-1": {"litellm_provider": "bad", "mode": "chat"},
    }
    fake.get_supported_openai_params = get_supported_openai_params
    fake.ProviderConfigManager = ProviderConfigManager
    return fake


def test_build_snapshot_records_errors_instead_of_crashing() -> None:
    snapshot = build_snapshot(_fake_litellm())
    assert dumps(snapshot) == dumps(build_snapshot(_fake_litellm()))
    good, bad = snapshot["providers"]["good"], snapshot["providers"]["bad"]
    assert bad["modes"]["chat"]["params_error"] == "KeyError"
    assert bad["modes"]["chat"]["supported_openai_params"] is None
    chat = good["modes"]["chat"]
    assert chat["model_count"] == 3 and chat["representative_model"] == "good-1"
    assert chat["supported_openai_params"] == ["stream", "temperature"]
    assert chat["capabilities"] == {"vision": 1}
    assert [(f["representative_model"], f["model_count"]) for f in chat["families"]] == [("good-1", 2), ("good-2-20240101", 1)]
    assert chat["families"][1]["supported_openai_params"] == ["stream"]
    assert good["modes"]["embedding"]["params_error"] == "RuntimeError"
    assert snapshot["summary"] == {"providers": 2, "models": 5, "models_by_mode": {"chat": 4, "embedding": 1}}


def test_committed_snapshot_parses_and_has_the_expected_shape() -> None:
    data = load_snapshot(SNAPSHOT)
    text = SNAPSHOT.read_text(encoding="utf-8")
    assert dumps(data) == text, "the committed snapshot is not in canonical form; run `specgen reference sync`"
    assert len(text) < 1_000_000
    assert data["schema_version"] == SCHEMA_VERSION
    assert re.fullmatch(r"\d+\.\d+\.\d+\S*", data["litellm_version"])
    assert set(data) == {"generated_by", "litellm_version", "modes", "openai_params", "providers", "schema_version", "summary", "synced"}
    assert len(data["synced"]) == 10 and data["synced"][4] == "-"  # the day it was taken, YYYY-MM-DD
    assert {"chat", "embedding"} <= set(data["modes"])
    assert {"temperature", "max_tokens", "tools"} <= set(data["openai_params"]["chat"])
    assert data["summary"]["providers"] == len(data["providers"]) > 100
    for name in SPEC_PROVIDERS:
        provider = data["providers"][name]
        assert "chat_completions" in provider["endpoints"], name
        chat = provider["modes"]["chat"]
        assert isinstance(chat["model_count"], int)
        assert chat["supported_openai_params"] == sorted(chat["supported_openai_params"]), name
        assert "stream" in chat["supported_openai_params"], name
        assert chat["stream"]["param"] is True, name
        for family in chat.get("families", []):
            assert {"representative_model", "model_count", "patterns", "supported_openai_params"} <= set(family)
    anthropic_chat = data["providers"]["anthropic"]["modes"]["chat"]
    assert anthropic_chat["config_class"] == "AnthropicConfig"
    # the chat wire, by LiteLLM's config class hierarchy
    wires = {n: p["modes"]["chat"].get("wire") for n, p in data["providers"].items() if "chat" in p["modes"]}
    assert wires["anthropic"] == "anthropic" and wires["gemini"] == "gemini" and wires["ollama_chat"] == "ollama"
    assert wires["groq"] == wires["deepseek"] == wires["openrouter"] == "openai"
    assert wires["bedrock"] is None and wires["ollama"] is None  # Converse; Ollama's /api/generate
    assert {"max_tokens", "tools", "stop"} <= set(anthropic_chat["supported_openai_params"])
    assert "logprobs" not in anthropic_chat["supported_openai_params"]
    # the cost-map facts the audit compares with the specs' known models (chat and embedding models)
    sonnet = data["providers"]["anthropic"]["model_facts"]["claude-sonnet-4-5"]
    assert sonnet["max_input_tokens"] == 200000 and sonnet["input_cost_per_token"] == 0.000003
    assert {"cache_read_input_token_cost", "cache_creation_input_token_cost"} <= set(sonnet)
    # nothing machine- or time-specific
    assert not re.search(r"/(?:home|root|tmp|work|Users)/|site-packages|\b0x[0-9a-f]{6,}|\d{4}-\d{2}-\d{2}T\d{2}:", text)
    assert "NetworkBlockedError" not in text


def test_cli_reference_without_litellm(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "litellm", None)  # `import litellm` raises ImportError
    out = tmp_path / "ref.json"
    assert main(["reference", "sync", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "install specgen[reference]" in err
    assert not out.exists()


def test_capture_without_litellm(monkeypatch: pytest.MonkeyPatch) -> None:
    from specgen.audit.litellm_capture import capture_request

    monkeypatch.setitem(sys.modules, "litellm", None)
    with pytest.raises(LiteLLMMissingError, match=re.escape(LITELLM_MISSING)):
        capture_request("openai/gpt-4o", {"messages": [{"role": "user", "content": "hi"}]})


def test_litellm_model_names() -> None:
    from specgen.audit.litellm_capture import litellm_model

    assert litellm_model("ollama", "llama3.2") == "ollama_chat/llama3.2"
    assert litellm_model("ollama", "all-minilm", "embeddings") == "ollama/all-minilm"
    assert litellm_model("gemini", "gemini-2.5-flash") == "gemini/gemini-2.5-flash"
    assert litellm_model("openrouter", "openai/gpt-4o") == "openrouter/openai/gpt-4o"


# --------------------------------------------------------------------------- with litellm

_GUARDED_SYNC = textwrap.dedent(
    """
    import socket, sys
    attempts = []
    def connect(self, address):
        attempts.append(repr(address))
        raise OSError("test guard: connect blocked")
    def getaddrinfo(host, *a, **k):
        attempts.append(repr(host))
        raise OSError("test guard: DNS blocked")
    socket.socket.connect = connect
    socket.getaddrinfo = getaddrinfo
    from specgen.audit.reference import sync
    log = []
    sync(sys.argv[1], network_log=log)   # imports litellm under the guard
    print("ATTEMPTS", attempts + log)
    """
)


@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    """Two syncs: one in a fresh process under a socket guard (PYTHONHASHSEED=1), one in
    this process (another hash seed)."""
    pytest.importorskip("litellm")
    from specgen.audit.reference import sync

    tmp = tmp_path_factory.mktemp("reference")
    first, second = tmp / "first.json", tmp / "second.json"
    env = dict(os.environ, PYTHONHASHSEED="1")
    proc = subprocess.run(
        [sys.executable, "-c", _GUARDED_SYNC, str(first)], capture_output=True, text=True, env=env, timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    sync(second)
    return first, second, proc.stdout


def test_sync_is_offline(synced: tuple[Path, Path, str]) -> None:
    _, _, stdout = synced
    assert "ATTEMPTS []" in stdout, stdout


def test_two_syncs_are_byte_identical(synced: tuple[Path, Path, str]) -> None:
    first, second, _ = synced
    assert first.read_bytes() == second.read_bytes()


def test_committed_snapshot_matches_the_installed_litellm(synced: tuple[Path, Path, str]) -> None:
    first, _, _ = synced
    fresh = json.loads(first.read_text(encoding="utf-8"))
    committed = load_snapshot(SNAPSHOT)
    if fresh["litellm_version"] != committed["litellm_version"]:
        pytest.skip(f"installed litellm {fresh['litellm_version']} is not the snapshot's {committed['litellm_version']}")
    # the same content; only the day it was taken may differ
    assert {**fresh, "synced": None} == {**committed, "synced": None}, "run `specgen reference sync` and commit the snapshot"


def test_cli_reference_sync(tmp_path: Path, synced: tuple[Path, Path, str], capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "nested" / "ref.json"
    assert main(["reference", "sync", "--out", str(out)]) == 0
    assert out.read_bytes() == synced[1].read_bytes()
    assert "providers" in capsys.readouterr().out


# -- capture

MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]


@pytest.fixture(scope="module")
def capture() -> Any:
    pytest.importorskip("litellm")
    from specgen.audit import litellm_capture

    return litellm_capture


def test_capture_openai(capture: Any) -> None:
    req = capture.capture_request("openai/gpt-4o", {"messages": MESSAGES, "max_tokens": 10, "temperature": 0.2})
    assert (req.method, req.url) == ("POST", "https://api.openai.com/v1/chat/completions")
    assert req.headers["authorization"] == f"Bearer {capture.PLACEHOLDER_API_KEY}"
    assert req.body == {"model": "gpt-4o", "messages": MESSAGES, "max_tokens": 10, "temperature": 0.2}


def test_capture_anthropic(capture: Any) -> None:
    req = capture.capture_request(
        "anthropic/claude-sonnet-4-5",
        {"messages": MESSAGES, "max_tokens": 100, "stop": "END"},
        api_base="http://127.0.0.1:9",
    )
    assert req.method == "POST"
    assert req.url.endswith("/v1/messages") and req.url.startswith("http://127.0.0.1:9")
    assert req.headers["x-api-key"] == capture.PLACEHOLDER_API_KEY
    assert req.headers["anthropic-version"]
    assert req.body["max_tokens"] == 100
    assert req.body["stop_sequences"] == ["END"]
    assert req.body["system"] == [{"type": "text", "text": "Be brief."}]  # extracted from messages
    assert [m["role"] for m in req.body["messages"]] == ["user"]


@pytest.mark.parametrize(
    ("provider", "model", "path"),
    [
        ("openai", "gpt-4o", "/v1/chat/completions"),
        ("anthropic", "claude-sonnet-4-5", "/v1/messages"),
        ("gemini", "gemini-2.5-flash", "/v1beta/models/gemini-2.5-flash:generateContent"),
        ("ollama", "llama3.2", "/api/chat"),
        ("groq", "llama-3.1-8b-instant", "/openai/v1/chat/completions"),
        ("openrouter", "openai/gpt-4o", "/api/v1/chat/completions"),
        ("deepseek", "deepseek-chat", "/chat/completions"),
        ("litellm_proxy", "gpt-4o", "/chat/completions"),
    ],
)
def test_capture_every_spec_provider(capture: Any, provider: str, model: str, path: str) -> None:
    exchange = capture.run_litellm(
        capture.litellm_model(provider, model), {"messages": MESSAGES, "max_tokens": 5}, capture.Reply.of({}, status=400)
    )
    assert exchange.network_attempts == []
    req = exchange.call_requests[0]
    assert req.method == "POST" and req.path.endswith(path), req.url
    assert isinstance(req.body, dict)


def test_capture_embeddings(capture: Any) -> None:
    req = capture.capture_request("ollama/all-minilm", {"input": ["a", "b"]}, mode="embeddings")
    assert req.path == "/api/embed"
    assert req.body == {"model": "all-minilm", "input": ["a", "b"]}


def test_capture_raises_litellms_refusal(capture: Any) -> None:
    import litellm

    with pytest.raises(litellm.UnsupportedParamsError):
        capture.capture_request("anthropic/claude-sonnet-4-5", {"messages": MESSAGES, "logprobs": True})


def test_replay_anthropic_response(capture: Any) -> None:
    result = capture.replay_response(
        "anthropic/claude-sonnet-4-5", {"messages": MESSAGES}, FIXTURES / "anthropic" / "chat" / "response.json"
    )
    assert result["object"] == "chat.completion"
    assert result["choices"][0]["message"]["content"] == "Hi! My name is Claude."
    assert result["choices"][0]["finish_reason"] == "stop"
    assert result["usage"]["completion_tokens"] == 503


@pytest.mark.parametrize(
    ("model", "fixture"),
    [
        ("anthropic/claude-sonnet-4-5", "anthropic/chat/stream.sse"),
        ("openai/gpt-4o", "openai/chat/stream.sse"),
        ("gemini/gemini-2.5-flash", "gemini/chat/stream.sse"),
        ("ollama_chat/llama3.2", "ollama/chat/stream.ndjson"),
    ],
)
def test_replay_stream(capture: Any, model: str, fixture: str) -> None:
    data = (FIXTURES / fixture).read_bytes()
    whole = capture.replay_response(model, {"messages": MESSAGES, "stream": True}, FIXTURES / fixture)
    split = capture.replay_response(
        model, {"messages": MESSAGES, "stream": True}, FIXTURES / fixture, chunks=[data[i : i + 7] for i in range(0, len(data), 7)]
    )

    def text(chunks: list[dict[str, Any]]) -> str:
        return "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])

    assert all(c["object"] == "chat.completion.chunk" for c in whole)
    assert text(whole) and text(whole) == text(split)
    assert [c["choices"][0]["finish_reason"] for c in whole if c["choices"] and c["choices"][0]["finish_reason"]] == ["stop"]


def test_replay_error(capture: Any) -> None:
    import litellm

    with pytest.raises(litellm.RateLimitError) as info:
        capture.replay_response(
            "anthropic/claude-sonnet-4-5", {"messages": MESSAGES}, FIXTURES / "anthropic" / "chat" / "error_429.json", status=429
        )
    described = capture.describe_error(info.value)
    assert described["type"] == "RateLimitError" and described["status_code"] == 429
    assert "rate limit" in described["message"]
