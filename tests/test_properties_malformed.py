"""Any malformed provider response raises a typed error naming the provider, never a KeyError.

For every built-in adapter and mode: random JSON, and every recorded response and stream (each
provider's own and, through ``extends``, its parent's; ``set:`` variants and loose fixture files
included) with one value anywhere in it (one frame's, for a stream) replaced by any JSON value or
removed, go through ``parse_response`` / ``parse_stream``.  Each either raises an
:class:`~specgen_runtime.errors.LLMError` whose ``provider`` is the adapter's, or gives a result
(every chunk of it, for a stream) whose every public attribute reads without raising and has the
type the view declares (:func:`read_everything`).  No other exception escapes.

Explicit wrong-shape bodies (a ``message`` that is a string, a ``usage`` that is a list …) raise
:class:`~specgen_runtime.errors.APIResponseValidationError` naming the provider, for every format,
streamed and unstreamed.
"""

from __future__ import annotations

import asyncio
import copy
import functools
import importlib
import json
import re
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from specgen.conform.transcripts import fixture_dirs, load
from specgen.spec.resolve import load_specs
from specgen_runtime.errors import APIResponseValidationError, LLMError
from specgen_runtime.types import (
    ChatCompletion,
    ChatCompletionChunk,
    EmbeddingResponse,
    Function,
    Message,
    TextCompletion,
    TextCompletionChunk,
    ToolCall,
    Usage,
)

from conftest import FIXTURES, ROOT, own_reading_providers

#: every built-in spec that reads answers with code of its own (conftest.own_reading_providers)
PROVIDERS = list(own_reading_providers())
OPENAI_FORMAT = ["deepseek", "groq", "litellm_proxy", "openai", "openrouter"]
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=10,
)
SETTINGS = settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))


def _module(name: str) -> ModuleType:
    return importlib.import_module(f"specgen_providers.{name}")


def _cases() -> list[tuple[str, str]]:
    out = []
    for name in PROVIDERS:
        module = _module(name)
        out += [(name, mode) for mode in ("chat", "embeddings", "completions") if hasattr(module, mode)]
    return out


def _stream_cases() -> list[tuple[str, str]]:
    """(provider, mode) of every streaming mode with a recorded stream (chat always has one)."""
    return [(n, m) for n, m in _cases() if m == "chat" or (m == "completions" and _recorded(n, m)[1])]


# ---------------------------------------------------------------------------------------------
# reading a result


def _is(value: Any, *types: type, what: str) -> Any:
    ok = isinstance(value, types) and not (isinstance(value, bool) and bool not in types)
    assert ok, f"{what} reads {value!r} ({type(value).__name__}), not {' | '.join(t.__name__ for t in types)}"
    return value


def _read_usage(usage: Usage | None, what: str) -> None:
    if usage is None:
        return
    _is(usage, Usage, what=what)
    for attr in ("prompt_tokens", "completion_tokens", "total_tokens"):
        _is(getattr(usage, attr), int, type(None), what=f"{what}.{attr}")
    _is(usage.to_dict(), dict, what=f"{what}.to_dict()")


def _read_message(message: Message, what: str) -> None:
    _is(message, Message, what=what)
    _is(message.role, str, what=f"{what}.role")
    for attr in ("content", "reasoning_content", "refusal"):
        _is(getattr(message, attr), str, type(None), what=f"{what}.{attr}")
    images = _is(message.images, list, type(None), what=f"{what}.images")
    for j, image in enumerate(images or ()):
        _is(image, dict, what=f"{what}.images[{j}]")
    calls = _is(message.tool_calls, list, type(None), what=f"{what}.tool_calls")
    for j, call in enumerate(calls or ()):
        w = f"{what}.tool_calls[{j}]"
        _is(call, ToolCall, what=w)
        _is(call.index, int, type(None), what=f"{w}.index")
        for attr in ("id", "type"):
            _is(getattr(call, attr), str, type(None), what=f"{w}.{attr}")
        function = _is(call.function, Function, what=f"{w}.function")
        for attr in ("name", "arguments"):
            _is(getattr(function, attr), str, type(None), what=f"{w}.function.{attr}")
        _is(function.to_dict(), dict, what=f"{w}.function.to_dict()")
        _is(call.to_dict(), dict, what=f"{w}.to_dict()")
    _is(message.to_dict(), dict, what=f"{what}.to_dict()")


def read_everything(result: Any) -> None:
    """Read every public attribute of a result, recursively; any exception, or a value of another
    type than the view declares, fails the test."""
    _is(result.to_dict(), dict, what="to_dict()")
    if isinstance(result, EmbeddingResponse):
        _is(result.model, str, what="model")
        _read_usage(result.usage, "usage")
        for i, item in enumerate(_is(result.data, list, what="data")):
            _is(item.index, int, what=f"data[{i}].index")
            for k, x in enumerate(_is(item.embedding, list, what=f"data[{i}].embedding")):
                _is(x, float, int, what=f"data[{i}].embedding[{k}]")
            _is(item.to_dict(), dict, what=f"data[{i}].to_dict()")
        return
    if isinstance(result, TextCompletion | TextCompletionChunk):
        _is(result.id, str, what="id")
        _is(result.created, int, what="created")
        _is(result.model, str, what="model")
        _read_usage(result.usage, "usage")
        for i, choice in enumerate(_is(result.choices, list, what="choices")):
            _is(choice.index, int, what=f"choices[{i}].index")
            _is(choice.text, str, what=f"choices[{i}].text")
            _is(choice.logprobs, dict, type(None), what=f"choices[{i}].logprobs")
            _is(choice.finish_reason, str, type(None), what=f"choices[{i}].finish_reason")
            _is(choice.to_dict(), dict, what=f"choices[{i}].to_dict()")
        return
    _is(result, ChatCompletion, ChatCompletionChunk, what="result")
    _is(result.id, str, what="id")
    _is(result.object, str, what="object")
    _is(result.created, int, what="created")
    _is(result.model, str, what="model")
    _read_usage(result.usage, "usage")
    for i, choice in enumerate(_is(result.choices, list, what="choices")):
        _is(choice.index, int, what=f"choices[{i}].index")
        _is(choice.finish_reason, str, type(None), what=f"choices[{i}].finish_reason")
        if isinstance(result, ChatCompletion):
            _read_message(choice.message, f"choices[{i}].message")
        else:
            _read_message(choice.delta, f"choices[{i}].delta")
        _is(choice.to_dict(), dict, what=f"choices[{i}].to_dict()")


def _parses_or_raises_typed(name: str, results: Callable[[], Iterable[Any]]) -> None:
    """Every result ``results()`` yields reads whole, or what it raises is an LLMError naming ``name``."""
    try:
        for result in results():
            read_everything(result)
    except LLMError as exc:
        assert exc.provider == name, f"{type(exc).__name__} names {exc.provider!r}, not {name!r}"


def _response(name: str, mode: str, body: bytes) -> Callable[[], list[Any]]:
    request = httpx.Request("POST", "https://provider.invalid/")
    response = httpx.Response(200, content=body, headers={"content-type": "application/json"}, request=request)
    return lambda: [getattr(_module(name), mode).parse_response(response)]


def _stream(name: str, body: bytes, mode: str = "chat") -> Callable[[], Iterable[Any]]:
    return lambda: getattr(_module(name), mode).parse_stream([body], model="m")


def _results(kind: str, name: str, mode: str, body: bytes) -> Callable[[], Iterable[Any]]:
    return _response(name, mode, body) if kind == "response" else _stream(name, body, mode)


# ---------------------------------------------------------------------------------------------
# the recorded bodies


class Body:
    """A recorded response body (its repr, in a falsifying example, is its name)."""

    def __init__(self, label: str, value: Any) -> None:
        self.label, self.value = label, value

    def __repr__(self) -> str:
        return f"Body({self.label!r})"


class Stream:
    """A recorded stream and where each frame's JSON data is in its text."""

    def __init__(self, label: str, text: str, payloads: tuple[tuple[int, int, Any], ...]) -> None:
        self.label, self.text = label, text
        self.payloads = payloads  # (start, end, JSON value) of each frame's data

    def __repr__(self) -> str:
        return f"Stream({self.label!r})"

    def with_payload(self, i: int, value: Any) -> bytes:
        start, end, _ = self.payloads[i]
        return (self.text[:start] + json.dumps(value) + self.text[end:]).encode()


def _stream_of(label: str, text: str, ndjson: bool) -> Stream:
    pattern = r"^([^\r\n]*\S[^\r\n]*)" if ndjson else r"^data: ?([^\r\n]*)"
    payloads = []
    for m in re.finditer(pattern, text, re.MULTILINE):
        try:
            value = json.loads(m.group(1))
        except ValueError:
            continue  # [DONE], a comment
        payloads.append((m.start(1), m.end(1), value))
    return Stream(label, text, tuple(payloads))


class EventStream(Stream):
    """A recorded AWS event stream, as the events it encodes (``*.events.json`` beside it): a frame's
    JSON is an event's payload, or a ``data:`` line of the SSE text an event carries as bytes
    (SageMaker); a changed frame is encoded again, with good checksums."""

    def __init__(self, label: str, events: list[dict[str, Any]]) -> None:
        payloads: list[tuple[int, int, Any]] = []
        self.where: list[tuple[int, int, int] | None] = []  # per payload: (event, start, end) in its bytes
        for i, item in enumerate(events):
            if isinstance(item.get("payload"), dict):
                payloads.append((i, -1, item["payload"]))
                self.where.append(None)
            for m in re.finditer(r"^data: ?([^\r\n]*)", str(item.get("bytes") or ""), re.MULTILINE):
                try:
                    value = json.loads(m.group(1))
                except ValueError:
                    continue
                payloads.append((i, m.start(1), value))
                self.where.append((i, m.start(1), m.end(1)))
        super().__init__(label, "", tuple(payloads))
        self.events = events

    def with_payload(self, i: int, value: Any) -> bytes:
        from eventstream_util import encode

        events = copy.deepcopy(self.events)
        where = self.where[i]
        if where is None:
            events[self.payloads[i][0]]["payload"] = value
        else:
            k, start, end = where
            text = events[k]["bytes"]
            events[k]["bytes"] = text[:start] + json.dumps(value) + text[end:]
        return encode(events)


def _event_stream_of(label: str, path: Path) -> EventStream:
    source = path.with_name(path.name.removesuffix(".eventstream") + ".events.json")
    return EventStream(label, json.loads(source.read_text())["events"])


@functools.cache
def _sources() -> dict[str, list[Path]]:
    return {s.name: s.sources for s in load_specs(ROOT / "specs", only=PROVIDERS)}


@functools.cache
def _recorded(name: str, mode: str) -> tuple[list[Body], list[Stream]]:
    """Every recorded response body and stream an adapter's mode runs: its transcripts' (the parent's
    through ``extends``, ``set:`` variants, and the ones that must raise) and the loose files."""
    sources = _sources()[name]
    responses: list[Body] = []
    streams: list[Stream] = []
    seen: set[Path] = set()
    for t in load(sources, mode):
        if t.kind not in ("responses", "streams") or t.file is None:
            continue
        if not t.set:
            seen.add(t.file.resolve())
        if t.kind == "responses":
            responses.append(Body(t.name, json.loads(t.body())))
        elif t.file.suffix == ".eventstream":
            streams.append(_event_stream_of(t.name, t.file))
        else:
            streams.append(_stream_of(t.name, t.frames_text(), t.file.suffix == ".ndjson"))
    for folder, _ in fixture_dirs(sources, mode):
        for path in sorted(folder.glob("*")):
            if path.resolve() in seen:
                continue
            if path.match("response*.json"):
                responses.append(Body(path.name, json.loads(path.read_bytes())))
            elif path.match("stream*.sse") or path.match("stream*.ndjson"):
                streams.append(_stream_of(path.name, path.read_text(), path.suffix == ".ndjson"))
            elif path.match("stream*.eventstream"):
                streams.append(_event_stream_of(path.name, path))
    return responses, streams


def test_recorded_bodies_are_found() -> None:
    for name, mode in _cases():
        responses, streams = _recorded(name, mode)
        assert responses, f"{name} {mode}: no recorded response"
        if mode == "chat":
            assert streams and all(s.payloads for s in streams), f"{name}: no recorded stream, or one with no JSON frame"


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*prefix, i))
    return out


def _mutate(value: Any, path: tuple[Any, ...], new: Any, remove: bool = False) -> Any:
    if not path:
        return new
    data = copy.deepcopy(value)
    target = data
    for key in path[:-1]:
        target = target[key]
    if isinstance(target, dict):
        assert path[-1] in target, f"no {path[-1]!r} at {path[:-1]}"
    if remove:
        del target[path[-1]]
    else:
        target[path[-1]] = new
    return data


# ---------------------------------------------------------------------------------------------
# properties


@pytest.mark.parametrize(("name", "mode"), _cases())
@SETTINGS
@given(value=JSON)
def test_random_json_response(name: str, mode: str, value: Any) -> None:
    _parses_or_raises_typed(name, _response(name, mode, json.dumps(value).encode()))


@pytest.mark.parametrize(("name", "mode"), _cases())
@SETTINGS
@given(data=st.data(), new=JSON, remove=st.booleans())
def test_recorded_response_with_one_value_broken(name: str, mode: str, data: st.DataObject, new: Any, remove: bool) -> None:
    body = data.draw(st.sampled_from(_recorded(name, mode)[0]))
    path = data.draw(st.sampled_from(_paths(body.value)))
    broken = _mutate(body.value, path, new, remove and bool(path))
    _parses_or_raises_typed(name, _response(name, mode, json.dumps(broken).encode()))


@pytest.mark.parametrize(("name", "mode"), _stream_cases())
@settings(SETTINGS, max_examples=100)
@given(data=st.data(), new=JSON, remove=st.booleans())
def test_recorded_stream_with_one_value_in_one_frame_broken(name: str, mode: str, data: st.DataObject, new: Any, remove: bool) -> None:
    stream = data.draw(st.sampled_from(_recorded(name, mode)[1]))
    i = data.draw(st.integers(0, len(stream.payloads) - 1))
    frame = stream.payloads[i][2]
    path = data.draw(st.sampled_from(_paths(frame)))
    broken = _mutate(frame, path, new, remove and bool(path))
    _parses_or_raises_typed(name, _stream(name, stream.with_payload(i, broken), mode))


# ---------------------------------------------------------------------------------------------
# explicit wrong shapes: each raises APIResponseValidationError naming the provider


@dataclass(frozen=True)
class WrongShape:
    providers: tuple[str, ...]
    mode: str
    file: str  # under specs/fixtures/
    path: tuple[Any, ...]  # in the body, or in the first frame that has it
    value: Any

    def label(self, name: str) -> str:
        where = ".".join(str(k) for k in self.path) or "<body>"
        return f"{name}-{self.file}-{where}={json.dumps(self.value)}"


OPENAI_CHOICE = json.loads((FIXTURES / "openai/chat/response.json").read_text())["choices"][0]
OA = tuple(OPENAI_FORMAT)
OA_EMBED = ("litellm_proxy", "openai")

WRONG_SHAPES = [
    # OpenAI format, unstreamed
    WrongShape(OA, "chat", "openai/chat/response.json", ("choices", 0, "message"), "Hello!"),
    WrongShape(OA, "chat", "openai/chat/response.json", ("choices", 0, "index"), "zero"),
    WrongShape(OA, "chat", "openai/chat/response.json", ("usage",), [19, 10, 29]),
    WrongShape(OA, "chat", "openai/chat/response.json", ("choices",), OPENAI_CHOICE),
    WrongShape(OA, "chat", "openai/chat/response.json", ("choices", 0), "Hello!"),
    WrongShape(OA, "chat", "openai/chat/response_tools.json", ("choices", 0, "message", "tool_calls"), "call_abc123"),
    WrongShape(OA, "chat", "openai/chat/response_tools.json", ("choices", 0, "message", "tool_calls", 0, "function"), ["get_current_weather"]),
    # OpenAI format, streamed
    WrongShape(OA, "chat", "openai/chat/stream.sse", ("choices", 0, "delta"), "Hello"),
    WrongShape(OA, "chat", "openai/chat/stream.sse", ("choices", 0, "index"), "zero"),
    WrongShape(OA, "chat", "openai/chat/stream.sse", ("usage",), [19, 10, 29]),
    WrongShape(OA, "chat", "openai/chat/stream.sse", ("choices",), {"index": 0, "delta": {"content": "Hello"}}),
    WrongShape(OA, "chat", "openai/chat/stream_tools.sse", ("choices", 0, "delta", "tool_calls"), "call_DdmO9pD3xa9XTPNJ32zg2hcA"),
    WrongShape(OA, "chat", "openai/chat/stream_tools.sse", ("choices", 0, "delta", "tool_calls", 0, "function"), ["get_weather"]),
    # Anthropic
    WrongShape(("anthropic",), "chat", "anthropic/chat/response.json", ("content",), "Hello!"),
    WrongShape(("anthropic",), "chat", "anthropic/chat/response.json", ("content", 0), "Hello!"),
    WrongShape(("anthropic",), "chat", "anthropic/chat/response.json", ("usage",), [2095, 503]),
    WrongShape(("anthropic",), "chat", "anthropic/chat/stream.sse", ("message",), "msg"),
    WrongShape(("anthropic",), "chat", "anthropic/chat/stream.sse", ("message", "usage"), [472, 2]),
    WrongShape(("anthropic",), "chat", "anthropic/chat/stream.sse", ("content_block",), "text"),
    WrongShape(("anthropic",), "chat", "anthropic/chat/stream.sse", ("delta",), "Okay"),
    WrongShape(("anthropic",), "chat", "anthropic/chat/stream.sse", ("usage",), [15]),
    # Gemini
    WrongShape(("gemini",), "chat", "gemini/chat/response.json", ("candidates", 0, "content", "parts"), {"text": "Hi"}),
    WrongShape(("gemini",), "chat", "gemini/chat/response.json", ("candidates", 0, "content"), "Hi"),
    WrongShape(("gemini",), "chat", "gemini/chat/response.json", ("usageMetadata",), [8, 12]),
    WrongShape(("gemini",), "chat", "gemini/chat/response.json", ("candidates",), {"content": {"parts": [{"text": "Hi"}]}}),
    WrongShape(("gemini",), "chat", "gemini/chat/stream.sse", ("candidates", 0, "content", "parts"), {"text": "Hi"}),
    WrongShape(("gemini",), "chat", "gemini/chat/stream.sse", ("usageMetadata",), [8, 12]),
    WrongShape(("gemini",), "chat", "gemini/chat/stream.sse", ("candidates", 0), "Hi"),
    # Ollama
    WrongShape(("ollama",), "chat", "ollama/chat/response.json", ("message",), "Hello!"),
    WrongShape(("ollama",), "chat", "ollama/chat/response_tools.json", ("message", "tool_calls"), "get_weather"),
    WrongShape(("ollama",), "chat", "ollama/chat/stream.ndjson", ("message",), "The"),
    WrongShape(("ollama",), "chat", "ollama/chat/stream_tools.ndjson", ("message", "tool_calls", 0, "function"), ["get_weather"]),
    # embeddings, every format
    WrongShape(OA_EMBED, "embeddings", "openai/embeddings/response.json", ("data",), {"index": 0, "embedding": [0.5]}),
    WrongShape(OA_EMBED, "embeddings", "openai/embeddings/response.json", ("data", 0), [0.0023064255]),
    WrongShape(OA_EMBED, "embeddings", "openai/embeddings/response.json", ("data", 0, "embedding"), "0.0023064255"),
    WrongShape(OA_EMBED, "embeddings", "openai/embeddings/response.json", ("usage",), [12, 12]),
    WrongShape(("gemini",), "embeddings", "gemini/embeddings/response_batch.json", ("embeddings", 0), [0.0023064255]),
    WrongShape(("gemini",), "embeddings", "gemini/embeddings/response_batch.json", ("embeddings", 0, "values"), "0.0023064255"),
    WrongShape(("ollama",), "embeddings", "ollama/embeddings/response.json", ("embeddings",), {"0": [0.010071029]}),
    WrongShape(("ollama",), "embeddings", "ollama/embeddings/response.json", ("embeddings", 0), "0.010071029"),
    WrongShape(("text_completion_openai",), "completions", "text_completion_openai/completions/response.json", ("choices", 0, "text"), ["This is"]),
    WrongShape(("text_completion_openai",), "completions", "text_completion_openai/completions/response.json", ("choices", 0, "index"), "zero"),
    WrongShape(("text_completion_openai",), "completions", "text_completion_openai/completions/response.json", ("usage",), [5, 7, 12]),
    WrongShape(("text_completion_openai",), "completions", "text_completion_openai/completions/stream.sse", ("choices", 0, "text"), 4),
    WrongShape(("text_completion_codestral",), "completions", "text_completion_codestral/completions/response.json", ("choices", 0, "message"), "def"),
]
EXPLICIT = [(name, shape) for shape in WRONG_SHAPES for name in shape.providers]


def _has(value: Any, path: tuple[Any, ...]) -> bool:
    for key in path:
        in_dict = isinstance(value, dict) and key in value
        in_list = isinstance(value, list) and isinstance(key, int) and key < len(value)
        if not (in_dict or in_list):
            return False
        value = value[key]
    return True


def _wrong_body(shape: WrongShape) -> tuple[str, bytes]:
    """The fixture with the wrong shape put in (into the first frame that has the path, for a stream)."""
    path = FIXTURES / shape.file
    if path.suffix == ".json":
        return "response", json.dumps(_mutate(json.loads(path.read_text()), shape.path, shape.value)).encode()
    stream = _stream_of(path.name, path.read_text(), path.suffix == ".ndjson")
    i = next((i for i, (_, _, frame) in enumerate(stream.payloads) if _has(frame, shape.path)), None)
    assert i is not None, f"no frame of {shape.file} has {shape.path}"
    return "stream", stream.with_payload(i, _mutate(stream.payloads[i][2], shape.path, shape.value))


@pytest.mark.parametrize(("name", "shape"), EXPLICIT, ids=[shape.label(name) for name, shape in EXPLICIT])
def test_wrong_shape_raises_response_validation_error(name: str, shape: WrongShape) -> None:
    original = (FIXTURES / shape.file).read_bytes()
    kind, body = _wrong_body(shape)
    for result in _results(kind, name, shape.mode, original)():  # the fixture itself parses and reads
        read_everything(result)
    with pytest.raises(APIResponseValidationError) as caught:
        for result in _results(kind, name, shape.mode, body)():
            read_everything(result)
    assert caught.value.provider == name, f"{type(caught.value).__name__} names {caught.value.provider!r}"
    if kind == "stream":  # the async twin too
        with pytest.raises(APIResponseValidationError) as caught:
            asyncio.run(_read_async_stream(name, body, shape.mode))
        assert caught.value.provider == name, f"{type(caught.value).__name__} names {caught.value.provider!r}"


async def _read_async_stream(name: str, body: bytes, mode: str = "chat") -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield body

    async for chunk in getattr(_module(name), mode).aparse_stream(chunks(), model="m"):
        read_everything(chunk)
