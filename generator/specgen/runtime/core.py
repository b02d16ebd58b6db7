"""Small helpers that generated adapters call on the hot path.

Everything here is plain Python over dicts: no spec is read at run time; the
generated module passes in the literals it was rendered with.
"""

from __future__ import annotations

import functools
import json
import os
import re
import time
import uuid
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import quote

from specgen.runtime.errors import (
    APIResponseValidationError,
    BadRequestError,
    LLMError,
    StreamInterruptedError,
    UnsupportedParamsError,
    register_secret,
    scrub,
)
from specgen.runtime.types import ChatCompletion, ChatCompletionChunk

if TYPE_CHECKING:  # adapters import httpx themselves; the spec checks (formats, via here) need not
    import httpx


class Decoder(Protocol):
    def feed(self, chunk: bytes) -> list[tuple[str, str]]: ...

    def close(self) -> list[tuple[str, str]]: ...


__all__ = [
    "EMULATED_STREAM",
    "MISSING",
    "StreamState",
    "UnsupportedValue",
    "check_enum",
    "check_range",
    "compile_patterns",
    "dumps",
    "emulated_chunks",
    "error_fields",
    "get_path",
    "json_body",
    "path_quote",
    "refuse",
    "request_model",
    "set_path",
    "take_model",
    "transform",
]


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


def compile_patterns(*patterns: str) -> re.Pattern[str]:
    """One regex for a list of shell-style model patterns (``claude*``)."""
    import fnmatch

    return re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in patterns))


def take_model(params: dict[str, Any], provider: str, prefix: str | None, own: tuple[str, ...] = ()) -> str:
    """The model, without the naming prefix (``groq/llama-3.3-70b`` → ``llama-3.3-70b``) unless it
    is one of ``own``, the provider's ids that begin with that prefix themselves."""
    model = params.pop("model", None)
    if not isinstance(model, str) or not model:
        raise BadRequestError("'model' is required and must be a non-empty string", provider=provider)
    if prefix and model.startswith(prefix) and model not in own:
        model = model[len(prefix) :]
    return model


@functools.lru_cache(maxsize=1024)
def url(text: str) -> httpx.URL:
    """``httpx.URL(text)``, remembered: an adapter sends to the same few URLs over and over, and
    parsing one is a good part of building an ``httpx.Request`` (a URL is immutable, so sharing is safe)."""
    import httpx

    return httpx.URL(text)


def path_quote(value: str) -> str:
    return quote(value, safe="")


def get_path(obj: Any, path: tuple[str, ...]) -> Any:
    """Follow ``path`` through nested dicts (and list indexes); ``None`` when any step is missing."""
    for key in path:
        if isinstance(obj, dict):
            obj = obj.get(key)
        elif isinstance(obj, list) and key.isdigit():
            i = int(key)
            obj = obj[i] if i < len(obj) else None
        else:
            return None
        if obj is None:
            return None
    return obj


def set_path(body: dict[str, Any], path: tuple[str, ...], value: Any, *, merge: bool = False) -> None:
    """Put ``value`` at a nested ``path`` of ``body``, creating the dicts on the way."""
    target = body
    for key in path[:-1]:
        nxt = target.get(key)
        if not isinstance(nxt, dict):
            nxt = target[key] = {}
        target = nxt
    last = path[-1]
    if merge and isinstance(value, dict):
        existing = target.get(last)
        if isinstance(existing, dict):
            existing.update(value)
            return
    target[last] = value


_URL_MODEL = re.compile(r"/models/([^/:]+)")


def request_model(response: httpx.Response) -> str:
    """The model a response answers, read from the request it came back for: the JSON body's
    ``model``, else a ``/models/<model>`` URL segment (Gemini); ``""`` when unknown. Used when
    the provider's response does not name its model."""
    try:
        request = response.request
        content = request.content
    except Exception:  # no request attached, or a streamed body not read
        return ""
    try:
        body = json.loads(content) if content else None
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("model"), str) and body["model"]:
        return str(body["model"])
    found = _URL_MODEL.search(request.url.path)
    return found.group(1) if found else ""


def refuse(provider: str, model: str, name: str, why: str = "is not supported") -> UnsupportedParamsError:
    err = UnsupportedParamsError(
        f"parameter {name!r} {why} by {provider} for model {model!r}; "
        "remove it (or pass provider-specific fields through extra_body)",
        provider=provider,
        model=model,
        status_code=400,
    )
    err.param = name
    return err


class UnsupportedValue(ValueError):
    """Raised by a transform for a value the provider has no form for; the adapter turns it
    into an :class:`UnsupportedParamsError` naming the param (see :func:`transform`)."""


def transform(fn: Callable[[Any], Any], value: Any, provider: str, model: str, name: str) -> Any:
    """``fn(value)``; a value ``fn`` declares unsupported is refused as the param ``name``."""
    try:
        return fn(value)
    except UnsupportedValue as exc:
        shown = repr(value)
        shown = shown if len(shown) <= 80 else shown[:77] + "..."
        raise refuse(provider, model, name, f"= {shown}: {exc}; it is not supported") from None


def check_range(provider: str, model: str, name: str, value: Any, lo: float | None, hi: float | None) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise refuse(provider, model, name, f"must be a number, got {type(value).__name__}; it")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise refuse(provider, model, name, f"= {value!r} is outside [{lo}, {hi}] and")


def check_enum(provider: str, model: str, name: str, value: Any, allowed: tuple[Any, ...]) -> None:
    if value not in allowed:
        raise refuse(provider, model, name, f"= {value!r} is not one of {list(allowed)!r} and")


def dumps(body: Any) -> bytes:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def json_body(response: httpx.Response, provider: str, model: str | None = None) -> dict[str, Any]:
    """The response body as a JSON object, or a typed error naming the provider."""
    try:
        data = json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        snippet = scrub(response.content[:200].decode("utf-8", "replace"))
        raise APIResponseValidationError(
            f"response body is not JSON: {snippet!r}",
            provider=provider,
            model=model,
            status_code=response.status_code,
        ) from None
    if not isinstance(data, dict):
        raise APIResponseValidationError(
            f"response body is a JSON {type(data).__name__}, expected an object",
            provider=provider,
            model=model,
            status_code=response.status_code,
        )
    return data


def malformed(provider: str, model: str | None, exc: BaseException, what: str = "response") -> APIResponseValidationError:
    return APIResponseValidationError(
        f"malformed {what} from {provider}: {type(exc).__name__}: {exc}", provider=provider, model=model
    )


def error_fields(
    response: httpx.Response, message_paths: Iterable[tuple[str, ...]], code_paths: Iterable[tuple[str, ...]]
) -> tuple[Any, str, str | None]:
    """Body, message and code of an error response, whatever shape it has."""
    try:
        body: Any = json.loads(response.content) if response.content else None
    except (ValueError, UnicodeDecodeError):
        body = None
    return (body, *error_fields_of(body, response, message_paths, code_paths))


def error_fields_of(
    body: Any,
    response: httpx.Response | None,
    message_paths: Iterable[tuple[str, ...]],
    code_paths: Iterable[tuple[str, ...]],
) -> tuple[str, str | None]:
    message: str | None = None
    for path in message_paths:
        value = get_path(body, path)
        if isinstance(value, str) and value:
            message = value
            break
    if message is None:
        if response is not None:
            message = response.content[:500].decode("utf-8", "replace").strip() or (
                response.reason_phrase or f"HTTP {response.status_code}"
            )
        else:
            message = json.dumps(body)[:500] if body is not None else "unknown error"
    code: str | None = None
    for path in code_paths:
        value = get_path(body, path)
        if isinstance(value, str | int) and not isinstance(value, bool):
            code = str(value)
            break
    return message, code


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``Retry-After`` (seconds or an HTTP date)."""
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - time.time())


def register_key(api_key: str | None) -> None:
    register_secret(api_key)


class StreamState:
    """What a stream handler remembers between events; builds OpenAI chunk dicts."""

    __slots__ = (
        "created",
        "done",
        "finished",
        "id",
        "model",
        "provider",
        "role_sent",
        "tool_ids",
        "usage",
    )

    def __init__(self, provider: str, model: str | None = None) -> None:
        self.provider = provider
        self.model = model or ""
        self.id = ""
        self.created = int(time.time())
        self.role_sent = False
        self.done = False  # the protocol's terminator was seen
        self.finished = False  # a finish_reason was delivered
        self.tool_ids: dict[Any, int] = {}
        self.usage: dict[str, Any] = {}

    def load(self, data: str) -> dict[str, Any]:
        try:
            obj = json.loads(data)
        except ValueError:
            raise StreamInterruptedError(
                f"stream frame is not JSON: {scrub(data[:200])!r}", provider=self.provider, model=self.model
            ) from None
        if not isinstance(obj, dict):
            raise StreamInterruptedError(
                f"stream frame is a JSON {type(obj).__name__}, expected an object",
                provider=self.provider,
                model=self.model,
            )
        return obj

    def tool_index(self, key: Any) -> int:
        """The OpenAI ``tool_calls[].index`` for a provider's own block/call key."""
        index = self.tool_ids.get(key)
        if index is None:
            index = self.tool_ids[key] = len(self.tool_ids)
        return index

    def emit(self, delta: dict[str, Any], finish_reason: str | None = None, usage: dict[str, Any] | None = None) -> ChatCompletionChunk:
        if not self.role_sent:
            delta["role"] = "assistant"
            self.role_sent = True
        if finish_reason is not None:
            self.finished = True
        chunk: dict[str, Any] = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
        }
        if usage:
            chunk["usage"] = self.merge_usage(usage)
        return ChatCompletionChunk(chunk)

    def emit_choices(self, choices: list[dict[str, Any]], usage: dict[str, Any] | None = None) -> ChatCompletionChunk | None:
        if not choices and not usage:
            return None
        for choice in choices:
            if choice.get("finish_reason") is not None:
                self.finished = True
        if choices and not self.role_sent:
            choices[0]["delta"]["role"] = "assistant"
            self.role_sent = True
        chunk: dict[str, Any] = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": choices,
        }
        if usage:
            chunk["usage"] = self.merge_usage(usage)
        return ChatCompletionChunk(chunk)

    def merge_usage(self, usage: dict[str, Any]) -> dict[str, Any]:
        self.usage.update(usage)
        merged = dict(self.usage)
        finish_usage(merged)
        return merged

    def check_complete(self, terminator_declared: bool) -> None:
        """Raise when the stream ended before its terminator (or, lacking one, before a finish)."""
        if self.done or (self.finished and not terminator_declared):
            return
        raise StreamInterruptedError(
            "stream ended before it was complete (connection closed early?)",
            provider=self.provider,
            model=self.model,
        )


#: ``httpx.Request.extensions`` key of a request the adapter sends unstreamed although the caller
#: asked for a stream (``stream.emulate_when``); its value says ``{"include_usage": bool}``. The
#: provider answers with one JSON body: read it with ``parse_response``, then :func:`emulated_chunks`.
EMULATED_STREAM = "specgen_emulated_stream"


def emulated_chunks(completion: ChatCompletion, include_usage: bool = False) -> list[ChatCompletionChunk]:
    """A whole ``chat.completion`` replayed as the chunks a stream of it would have given: per
    choice one delta with the role, content, reasoning, refusal, images and tool calls, then one with its
    finish_reason; a last chunk with no choices carries the usage when ``include_usage``."""
    data = completion.to_dict()
    head = {k: data[k] for k in ("id", "created", "model", "system_fingerprint", "service_tier") if data.get(k) is not None}
    head["object"] = "chat.completion.chunk"
    out: list[ChatCompletionChunk] = []
    for choice in data.get("choices") or ():
        message = choice.get("message") or {}
        delta: dict[str, Any] = {"role": "assistant"}
        for key in ("content", "reasoning_content", "refusal", "images"):
            if message.get(key) is not None:
                delta[key] = message[key]
        calls = [{"index": i, **call} for i, call in enumerate(message.get("tool_calls") or ())]
        if calls:
            delta["tool_calls"] = calls
        index = choice.get("index", 0)
        first: dict[str, Any] = {"index": index, "delta": delta, "finish_reason": None}
        if choice.get("logprobs") is not None:
            first["logprobs"] = choice["logprobs"]
        out.append(ChatCompletionChunk({**head, "choices": [first]}))
        out.append(ChatCompletionChunk({**head, "choices": [{"index": index, "delta": {}, "finish_reason": choice.get("finish_reason")}]}))
    if include_usage and data.get("usage") is not None:
        out.append(ChatCompletionChunk({**head, "choices": [], "usage": data["usage"]}))
    return out


def finish_usage(usage: dict[str, Any]) -> dict[str, Any]:
    """Fill ``total_tokens`` when the provider gives only the parts."""
    if "total_tokens" not in usage:
        p, c = usage.get("prompt_tokens"), usage.get("completion_tokens")
        if isinstance(p, int) and isinstance(c, int):
            usage["total_tokens"] = p + c
    return usage


def usage_from(obj: Any, fields: tuple[tuple[str, tuple[str, ...]], ...]) -> dict[str, Any] | None:
    """OpenAI usage from ``(openai_field, provider_path)`` pairs; ``None`` when none is present.

    A field named more than once is the sum of its paths."""
    usage: dict[str, Any] = {}
    for name, path in fields:
        value = get_path(obj, path)
        if value is not None:
            key = tuple(name.split("."))
            before = get_path(usage, key)
            if isinstance(before, int | float) and isinstance(value, int | float) and not isinstance(value, bool):
                value = before + value
            set_path(usage, key, value)
    return finish_usage(usage) if usage else None


def as_error(exc: LLMError | BaseException) -> LLMError:
    return exc if isinstance(exc, LLMError) else LLMError(str(exc), provider="unknown")


def env(names: tuple[str, ...]) -> str | None:
    """The first non-empty environment variable of ``names``."""
    for name in names:
        value = os.environ.get(name)
        if value:
            return value
    return None


def new_id(prefix: str = "chatcmpl-") -> str:
    """An id for a result the provider gave none."""
    return prefix + uuid.uuid4().hex[:24]


def now() -> int:
    return int(time.time())


_MALFORMED = (KeyError, TypeError, ValueError, IndexError, AttributeError)
Handler = Callable[[StreamState, str, str], "ChatCompletionChunk | None"]


def _decode_error(state: StreamState, exc: BaseException) -> StreamInterruptedError:
    return StreamInterruptedError(
        f"malformed stream from {state.provider}: {type(exc).__name__}: {scrub(str(exc))}",
        provider=state.provider,
        model=state.model,
    )


def run_stream(
    chunks: Iterable[bytes], decoder: Decoder, handler: Handler, state: StreamState, terminated: bool
) -> Iterator[ChatCompletionChunk]:
    """Feed ``chunks`` through ``decoder`` and ``handler``; stop at the terminator; check completeness."""
    try:
        for raw in chunks:
            for event, data in decoder.feed(raw):
                chunk = handler(state, event, data)
                if chunk is not None:
                    yield chunk
                if state.done:
                    return
        for event, data in decoder.close():
            chunk = handler(state, event, data)
            if chunk is not None:
                yield chunk
            if state.done:
                return
    except LLMError:
        raise
    except _MALFORMED as exc:
        raise _decode_error(state, exc) from None
    state.check_complete(terminated)


async def arun_stream(
    chunks: AsyncIterable[bytes], decoder: Decoder, handler: Handler, state: StreamState, terminated: bool
) -> AsyncIterator[ChatCompletionChunk]:
    """The async twin of :func:`run_stream`."""
    try:
        async for raw in chunks:
            for event, data in decoder.feed(raw):
                chunk = handler(state, event, data)
                if chunk is not None:
                    yield chunk
                if state.done:
                    return
        for event, data in decoder.close():
            chunk = handler(state, event, data)
            if chunk is not None:
                yield chunk
            if state.done:
                return
    except LLMError:
        raise
    except _MALFORMED as exc:
        raise _decode_error(state, exc) from None
    state.check_complete(terminated)
