"""Every result of every adapter is what OpenAI's own Python types accept.

For each built-in provider and mode, every recorded response and stream the provider's transcripts
name (its own and, through ``extends``, its parent's, ``set:`` variants included; entries that must
raise are left out) and every other ``response*.json`` / ``stream*.sse`` / ``stream*.ndjson`` in its
fixture folders goes through the adapter's sans-I/O functions.  ``to_dict()`` of the response (and
of every chunk, streamed whole and split into small pieces) must validate against the official
``openai`` package's ``ChatCompletion`` / ``ChatCompletionChunk`` / ``CreateEmbeddingResponse`` /
``Completion`` (legacy text completions, whose chunks are ``Completion`` objects too);
a response and every chunk also carry a non-empty ``id``, shared by all chunks of one stream.
A provider's value outside OpenAI's set for an OpenAI field (Groq's ``service_tier: "on_demand"``)
is not passed through in that field.
"""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from openai.types import Completion, CreateEmbeddingResponse
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from pydantic import ValidationError

from specgen.conform.transcripts import fixture_dirs, load
from specgen.spec.resolve import load_specs
from specgen_runtime.core import EMULATED_STREAM, emulated_chunks
from specgen_runtime.errors import LLMError

from conftest import FIXTURES, ROOT, own_reading_providers

#: every built-in spec that reads answers with code of its own (conftest.own_reading_providers)
PROVIDERS = list(own_reading_providers())
MODES = ("chat", "embeddings", "completions")
LOOSE = ("response*.json", "stream*.sse", "stream*.ndjson")
#: embeddings providers whose responses carry no token counts (Gemini's embedContent and
#: batchEmbedContents; Cohere Embed on Bedrock InvokeModel): their results have no usage (README,
#: "The public contract")
NO_EMBEDDING_USAGE = {"gemini", "bedrock"}  # bedrock: Cohere Embed through InvokeModel


@dataclass(frozen=True)
class Recorded:
    provider: str
    mode: str
    kind: str  # "response" | "stream"
    name: str  # the transcript entry, or the loose file as <provider>/<file>
    file: Path
    body: bytes

    @property
    def id(self) -> str:
        return f"{self.provider}/{self.mode}/{self.kind}/{self.name}"


def _module(name: str) -> ModuleType:
    return importlib.import_module(f"specgen_providers.{name}")


def _collect() -> list[Recorded]:
    specs = {s.name: s for s in load_specs(ROOT / "specs", only=PROVIDERS)}
    out: list[Recorded] = []
    for name in PROVIDERS:
        module, sources = _module(name), specs[name].sources
        for mode in MODES:
            if not hasattr(module, mode):
                continue
            referenced: set[Path] = set()
            for src in sources:  # every file any folder of the chain names (an overridden or removed one too)
                referenced |= {t.file.resolve() for t in load([src], mode) if t.file is not None}
            for t in load(sources, mode):
                if t.kind not in ("responses", "streams") or t.raises:
                    continue
                assert t.file is not None
                kind = "response" if t.kind == "responses" else "stream"
                out.append(Recorded(name, mode, kind, t.name, t.file, t.body()))
            for folder, _shown in fixture_dirs(sources, mode):
                for pattern in LOOSE:
                    for path in sorted(folder.glob(pattern)):
                        if path.resolve() in referenced:
                            continue
                        kind = "response" if path.suffix == ".json" else "stream"
                        owner = path.parent.parent.name
                        out.append(Recorded(name, mode, kind, f"{owner}/{path.name}", path, path.read_bytes()))
    return out


CASES = _collect()
RESPONSES = [c for c in CASES if c.kind == "response"]
STREAMS = [c for c in CASES if c.kind == "stream"]


def _parse_response(case: Recorded) -> Any:
    request = httpx.Request("POST", "http://x/")
    response = httpx.Response(200, content=case.body, headers={"content-type": "application/json"}, request=request)
    return getattr(_module(case.provider), case.mode).parse_response(response)


def _pieces(body: bytes, size: int) -> list[bytes]:
    return [body[i : i + size] for i in range(0, len(body), size)]


def _validate(model: Any, data: dict[str, Any], what: str) -> None:
    try:
        model.model_validate(data)
    except ValidationError as exc:
        raise AssertionError(f"{what} is not a valid openai {model.__name__}:\n{exc}\n{json.dumps(data, indent=1)[:3000]}") from None


def _check_chunks(chunks: list[dict[str, Any]], what: str, mode: str = "chat") -> None:
    assert chunks, f"{what}: the stream gave no chunks"
    for i, chunk in enumerate(chunks):
        if mode == "completions":
            # a text-completion chunk is a Completion whose finish_reason is null until the last
            # (as OpenAI streams them; the type, made for whole responses, requires one)
            whole = {**chunk, "choices": [{**c, "finish_reason": c.get("finish_reason") or "stop"} for c in chunk["choices"]]}
            _validate(Completion, whole, f"{what} chunk {i}")
        else:
            _validate(ChatCompletionChunk, chunk, f"{what} chunk {i}")
        assert isinstance(chunk.get("id"), str) and chunk["id"], f"{what} chunk {i} has no id: {chunk.get('id')!r}"
    ids = {c["id"] for c in chunks}
    assert len(ids) == 1, f"{what}: the chunks of one stream carry different ids {sorted(ids)}"


def test_every_fixture_is_collected() -> None:
    """The collection is not silently empty or partial: each provider and mode it serves contributes."""
    seen = {(c.provider, c.mode, c.kind) for c in CASES}
    for name in PROVIDERS:
        module = _module(name)
        if hasattr(module, "chat"):
            assert (name, "chat", "response") in seen and (name, "chat", "stream") in seen, name
        if hasattr(module, "completions"):
            assert (name, "completions", "response") in seen, name
        if hasattr(module, "embeddings"):
            assert (name, "embeddings", "response") in seen, name
    on_disk = {p.resolve() for p in FIXTURES.glob("*/*/*") if p.parent.name in MODES and any(p.match(g) for g in LOOSE)}
    assert on_disk - {c.file.resolve() for c in CASES} <= {
        p.resolve() for p in on_disk if "error" in p.name  # the streams that must raise
    }


@pytest.mark.parametrize("case", RESPONSES, ids=[c.id for c in RESPONSES])
def test_response_validates_as_openai_type(case: Recorded) -> None:
    result = _parse_response(case)
    data = result.to_dict()
    if case.mode == "embeddings":
        if "usage" not in data and case.provider in NO_EMBEDDING_USAGE:
            # OpenAI's type requires usage; these providers report none, and no count is made up:
            # the rest of the response must still be OpenAI's
            data = {**data, "usage": {"prompt_tokens": 0, "total_tokens": 0}}
        _validate(CreateEmbeddingResponse, data, case.id)
        return
    _validate(Completion if case.mode == "completions" else ChatCompletion, data, case.id)
    assert isinstance(data.get("id"), str) and data["id"], f"{case.id} has no id: {data.get('id')!r}"


@pytest.mark.parametrize("case", STREAMS, ids=[c.id for c in STREAMS])
def test_stream_chunks_validate_as_openai_type(case: Recorded) -> None:
    parse = getattr(_module(case.provider), case.mode).parse_stream
    whole = [c.to_dict() for c in parse([case.body])]
    _check_chunks(whole, case.id, case.mode)
    for size in (1, 7):
        split = [c.to_dict() for c in parse(_pieces(case.body, size))]
        _check_chunks(split, f"{case.id} (split every {size} bytes)", case.mode)
        assert len(split) == len(whole), f"{case.id}: split every {size} bytes gives {len(split)} chunks, whole {len(whole)}"


def _emulating(name: str) -> bool:
    """Whether the adapter replays some requests' responses as chunks (``stream.emulate_when``)."""
    params = {
        "model": "m",
        "messages": [{"role": "user", "content": "hi"}],
        "response_format": {"type": "json_object"},
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    try:
        request = _module(name).chat.build_request(params, api_key="k")
    except LLMError:  # a provider with no JSON mode (Anthropic refuses json_object)
        return False
    return EMULATED_STREAM in request.extensions


EMULATED = [c for c in RESPONSES if c.mode == "chat" and _emulating(c.provider)]


def test_groq_json_mode_streams_are_emulated() -> None:
    """The README's example of ``stream.emulate_when``, so that the emulated cases are not vacuous."""
    assert {c.provider for c in EMULATED} >= {"groq"}


@pytest.mark.parametrize("case", EMULATED, ids=[c.id for c in EMULATED])
def test_emulated_stream_chunks_validate_as_openai_type(case: Recorded) -> None:
    chunks = [c.to_dict() for c in emulated_chunks(_parse_response(case), include_usage=True)]
    _check_chunks(chunks, f"{case.id} (emulated stream)")


# Groq answers with service_tier "on_demand" (its standard tier), a value outside the Literal of
# OpenAI's ChatCompletion.service_tier.  Groq's recorded bodies are OpenAI's, so it is put in here.
GROQ_TIER = "on_demand"


def test_groq_on_demand_service_tier_is_not_passed_through_as_openai_field() -> None:
    body = json.loads((FIXTURES / "openai" / "chat" / "response.json").read_bytes())
    body["service_tier"] = GROQ_TIER
    case = Recorded("groq", "chat", "response", "service_tier_on_demand", Path(), json.dumps(body).encode())
    data = _parse_response(case).to_dict()
    assert data.get("service_tier") != GROQ_TIER
    _validate(ChatCompletion, data, case.id)


def test_groq_on_demand_service_tier_is_not_passed_through_in_chunks() -> None:
    text = (FIXTURES / "openai" / "chat" / "stream.sse").read_text()
    frames = []
    for block in text.split("\n\n"):
        lines = []
        for line in block.split("\n"):
            if line.startswith("data: {"):
                frame = json.loads(line[len("data: ") :])
                frame["service_tier"] = GROQ_TIER
                line = "data: " + json.dumps(frame)
            lines.append(line)
        frames.append("\n".join(lines))
    body = "\n\n".join(frames)
    assert body.count(GROQ_TIER) >= 2, "the recorded stream has no data frames to set service_tier in"
    chunks = [c.to_dict() for c in _module("groq").chat.parse_stream([body.encode()])]
    assert all(c.get("service_tier") != GROQ_TIER for c in chunks)
    _check_chunks(chunks, "groq/chat/stream/service_tier_on_demand")


def test_reasoning_under_its_other_name_is_also_reasoning_content() -> None:
    """vLLM, OpenRouter and Cerebras send the reasoning text as ``reasoning``: every result also
    has it as ``reasoning_content`` (where callers read it), and a provider's own
    ``reasoning_content`` is never overwritten."""
    from specgen_runtime.shape import check_chunk, check_completion

    out = check_completion({"choices": [{"message": {"content": "9.8", "reasoning": "0.80 > 0.11"}, "finish_reason": "stop"}]}, "p")
    assert out["choices"][0]["message"]["reasoning_content"] == "0.80 > 0.11"
    both = check_completion({"choices": [{"message": {"content": "x", "reasoning": "a", "reasoning_content": "b"}, "finish_reason": "stop"}]}, "p")
    assert both["choices"][0]["message"]["reasoning_content"] == "b"
    chunk = check_chunk({"choices": [{"delta": {"reasoning": "th"}}]}, "p", "m", "id-1", 0)
    assert chunk["choices"][0]["delta"]["reasoning_content"] == "th"
