"""Small helpers that generated adapters call on the hot path.

Everything here is plain Python over dicts: no spec is read at run time; the
generated module passes in the literals it was rendered with.
"""

from __future__ import annotations

import copy
import functools
import json
import os
import re
import time
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Protocol, TypeVar
from urllib.parse import quote, unquote

from specgen_runtime.errors import (
    APIResponseValidationError,
    BadRequestError,
    LLMError,
    StreamInterruptedError,
    UnsupportedParamsError,
    register_secret,
    scrub_cut,
)
from specgen_runtime.shape import (
    check_chunk,
    check_completion,
    check_embeddings,
    check_text_completion,
    new_id,
)
from specgen_runtime.types import (
    ChatCompletion,
    ChatCompletionChunk,
    EmbeddingResponse,
    ModelInfo,
    TextCompletion,
    TextCompletionChunk,
)

if TYPE_CHECKING:  # adapters import httpx themselves; the spec checks (formats, via here) need not
    import httpx


class Decoder(Protocol):
    def feed(self, chunk: bytes) -> list[tuple[str, str]]: ...

    def close(self) -> list[tuple[str, str]]: ...


__all__ = [
    "EMULATED_STREAM",
    "MISSING",
    "Decoder",
    "Handler",
    "StreamState",
    "UnsupportedValue",
    "add_body",
    "add_headers",
    "arun_stream",
    "as_error",
    "check_enum",
    "check_range",
    "compile_patterns",
    "completion",
    "dumps",
    "embeddings_result",
    "emulated_chunks",
    "encode",
    "env",
    "error_fields",
    "error_fields_of",
    "fill_base_url",
    "finish_reason",
    "finish_usage",
    "get_path",
    "invalid_params",
    "json_body",
    "make_request",
    "malformed",
    "map_field",
    "map_value",
    "model_list",
    "new_id",
    "now",
    "path_quote",
    "read_path",
    "refuse",
    "register_key",
    "request_model",
    "retry_after",
    "run_stream",
    "set_path",
    "str_at",
    "take_model",
    "text_chunk",
    "text_completion",
    "transform",
    "url",
    "usage_from",
    "vectors",
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


def take_model(
    params: dict[str, Any], provider: str, prefix: str | None, own: tuple[str, ...] = ()
) -> str:
    """The model, without the naming prefix (``groq/llama-3.3-70b`` → ``llama-3.3-70b``) unless it
    is one of ``own``, the provider's ids that begin with that prefix themselves."""
    model = params.pop("model", None)
    if not isinstance(model, str) or not model:
        raise BadRequestError(
            "'model' is required and must be a non-empty string", provider=provider
        )
    if prefix and model.startswith(prefix) and model not in own:
        model = model[len(prefix) :]
    return model


@functools.lru_cache(maxsize=1024)
def url(text: str) -> httpx.URL:
    """``httpx.URL(text)``, remembered: an adapter sends to the same few URLs over and over, and
    parsing one is a good part of building an ``httpx.Request`` (a URL is immutable, so sharing is safe)."""
    import httpx

    return httpx.URL(text)


_HOST_PART = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?")


def fill_base_url(url: str, values: Mapping[str, str], provider: str) -> str:
    """A base URL's ``{name}`` variables filled in (``https://{resource}.openai.azure.com``); a value
    must be a host-name part (letters, digits, dots, hyphens), so no value can redirect the call."""
    for name, value in values.items():
        if not _HOST_PART.fullmatch(value):
            raise BadRequestError(
                f"{name} {value!r} is not a valid host-name part for the base URL",
                provider=provider,
            )
        url = url.replace("{" + name + "}", value)
    return url


def path_quote(value: str) -> str:
    """A value percent-encoded into one path segment. ``@`` stays as it is: RFC 3986 allows it in a
    segment, and model versions carry it (Vertex AI's ``claude-sonnet-4-5@20250929``)."""
    return quote(value, safe="@")


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


def read_path(obj: Any, path: tuple[str, ...]) -> Any:
    """:func:`get_path` for reading a provider's response: ``None`` when a step is missing, but a
    ``TypeError`` (a malformed response) when a step is there with the wrong type (``usage`` a list
    where the spec reads ``usage.input_tokens``)."""
    for i, key in enumerate(path):
        if isinstance(obj, dict):
            obj = obj.get(key)
        elif isinstance(obj, list) and key.isdigit():
            n = int(key)
            obj = obj[n] if n < len(obj) else None
        else:
            raise TypeError(f"{'.'.join(path[:i]) or 'the body'} is a {type(obj).__name__}")
        if obj is None:
            return None
    return obj


def str_at(obj: Any, path: tuple[str, ...]) -> str | None:
    """The string at ``path`` (an id, a model name); None when absent; a wrong type is malformed."""
    value = read_path(obj, path)
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise TypeError(f"{'.'.join(path)} is a {type(value).__name__}, not a string")


def model_list(
    data: Any,
    items: tuple[str, ...],
    id_path: tuple[str, ...],
    id_prefix: str,
    fields: tuple[tuple[str, tuple[str, ...]], ...],
    known: Mapping[str, ModelInfo],
) -> list[ModelInfo]:
    """A discovery response's models, each merged with what the spec knows of it (the spec's
    facts first: prices and limits the provider's list does not give)."""
    found = read_path(data, items)
    if not isinstance(found, list):
        raise TypeError(f"{'.'.join(items)} is a {type(found).__name__}, not a list of models")
    out: list[ModelInfo] = []
    for item in found:
        model_id = (
            str_at(item, id_path)
            if isinstance(item, dict)
            else item
            if isinstance(item, str)
            else None
        )
        if not model_id:
            raise TypeError("a listed model has no id")
        if id_prefix and model_id.startswith(id_prefix):
            model_id = model_id[len(id_prefix) :]
        info: dict[str, Any] = {"id": model_id, "listed": True}
        for name, path in fields:
            value = read_path(item, path) if isinstance(item, dict) else None
            if value is not None:
                info[name] = value
        spec = known.get(model_id)
        if spec is not None:
            info.update(spec)
            info["known"] = True
        out.append(info)  # type: ignore[arg-type]
    return out


def vectors(data: Any, paths: tuple[tuple[str, ...], ...]) -> list[dict[str, Any]]:
    """OpenAI embeddings ``data`` from the first of ``paths`` present in a response: a list of
    vectors (Cohere's ``embeddings.float``) or of objects with an ``embedding``."""
    for path in paths:
        found = read_path(data, path)
        if found is None:
            continue
        if not isinstance(found, list):
            raise TypeError(f"{'.'.join(path)} is a {type(found).__name__}, not a list of vectors")
        return [
            {
                "object": "embedding",
                "index": i,
                "embedding": v.get("embedding") if isinstance(v, dict) else v,
            }
            for i, v in enumerate(found)
        ]
    raise KeyError(" or ".join(".".join(p) for p in paths))


def set_path(
    body: dict[str, Any], path: tuple[str, ...], value: Any, *, merge: bool = False
) -> None:
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


_URL_MODEL = re.compile(r"/models?/([^/:?]+)")


def request_model(response: httpx.Response) -> str:
    """The model a response answers, read from the request it came back for: the JSON body's
    ``model``, else a ``/models/<model>`` (Gemini) or ``/model/<model>`` (Bedrock, percent-decoded)
    URL segment; ``""`` when unknown. Used when
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
    # the raw path: a model id may hold a percent-encoded ":" or "/" (Bedrock's
    # /model/anthropic.claude-3-haiku-20240307-v1%3A0/converse)
    found = _URL_MODEL.search(request.url.raw_path.decode("ascii", "replace"))
    return unquote(found.group(1)) if found else ""


def refuse(
    provider: str, model: str, name: str, why: str = "is not supported", droppable: bool = True
) -> UnsupportedParamsError:
    """The error for a refused param; ``droppable``: ``drop_params`` may leave it out instead
    (not so for a value out of range or outside the spec's enum)."""
    err = UnsupportedParamsError(
        f"parameter {name!r} {why} by {provider} for model {model!r}; "
        "remove it (or pass provider-specific fields through extra_body)",
        provider=provider,
        model=model,
        status_code=400,
    )
    err.param = name
    err.droppable = droppable
    return err


class UnsupportedValue(ValueError):
    """Raised by a transform for a value the provider has no form for; the adapter turns it
    into an :class:`UnsupportedParamsError` naming the param (see :func:`transform`)."""


def transform(fn: Callable[[Any], Any], value: Any, provider: str, model: str, name: str) -> Any:
    """``fn(value)``; a value ``fn`` declares unsupported is refused as the param ``name``."""
    try:
        return fn(value)
    except UnsupportedValue as exc:
        why = str(exc)
    shown = repr(value)
    shown = shown if len(shown) <= 80 else shown[:77] + "..."
    raise refuse(provider, model, name, f"= {shown}: {why}; it is not supported")


def _same(a: Any, b: Any) -> bool:
    """Equal, and of the same kind (``True`` is not ``1``; a map's keys are written as strings, so
    ``"1"`` matches ``1``)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    return bool(a == b) or (isinstance(a, int | float) and isinstance(b, str) and str(a) == b)


def map_value(value: Any, pairs: tuple[tuple[Any, Any], ...]) -> Any:
    """A spec's value map (``values: {required: any}``): the provider's value for an OpenAI one
    (``MISSING`` for one mapped to null: send nothing); a value the map does not name passes
    unchanged."""
    if isinstance(value, dict | list):
        return value
    for openai_value, provider_value in pairs:
        if _same(value, openai_value):
            return MISSING if provider_value is None else provider_value
    return value


def map_field(value: Any, path: tuple[str, ...], pairs: tuple[tuple[Any, Any], ...]) -> Any:
    """A value map applied to a field inside an object value (``field_values: {type: {...}}``);
    the caller's object is copied, never changed."""
    if not isinstance(value, dict):
        return value
    inner = get_path(value, path)
    mapped = map_value(inner, pairs)
    if inner is None or mapped is inner:
        return value
    out = copy.deepcopy(value)
    if mapped is MISSING:  # mapped to null: the field is left out
        holder = get_path(out, path[:-1]) if len(path) > 1 else out
        if isinstance(holder, dict):
            holder.pop(path[-1], None)
        return out
    set_path(out, path, mapped)
    return out


def check_range(
    provider: str, model: str, name: str, value: Any, lo: float | None, hi: float | None
) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise refuse(
            provider, model, name, f"must be a number, got {type(value).__name__}; it", False
        )
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise refuse(provider, model, name, f"= {value!r} is outside [{lo}, {hi}] and", False)


def check_enum(provider: str, model: str, name: str, value: Any, allowed: tuple[Any, ...]) -> None:
    if value not in allowed:
        raise refuse(
            provider, model, name, f"= {value!r} is not one of {list(allowed)!r} and", False
        )


def dumps(body: Any) -> bytes:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode(
        "utf-8"
    )


def _unencodable(value: Any) -> str | None:
    """Why ``value`` cannot be sent as JSON, or None when it can."""
    try:
        json.dumps(value, allow_nan=False)
    except ValueError:
        return "is NaN or infinite somewhere (not valid JSON; providers reject it)"
    except TypeError as exc:
        return f"cannot be encoded as JSON ({exc})"
    except RecursionError:
        return "is nested too deeply to encode as JSON"
    return None


def invalid_params(
    what: str, exc: BaseException, provider: str, model: str | None
) -> BadRequestError:
    """The error for caller input (``what``: "'messages'", "chat params") that a wire format or a
    transform could not render."""
    if isinstance(exc, RecursionError):
        why = "a value is nested too deeply"
    else:
        why = str(exc) if not isinstance(exc, KeyError) else f"missing {exc}"
    return BadRequestError(f"invalid {what}: {why}", provider=provider, model=model)


def add_body(body: dict[str, Any], extra: Any, provider: str, model: str | None) -> None:
    """Merge a caller's ``extra_body`` into the request body (its fields win)."""
    if extra is None:
        return
    if not isinstance(extra, Mapping):
        raise BadRequestError(
            f"extra_body must be a mapping, got {type(extra).__name__}",
            provider=provider,
            model=model,
        )
    body.update(extra)


_PLAIN = (str, int, bool, type(None))


def encode(body: Any, params: Mapping[str, Any], provider: str, model: str | None) -> bytes:
    """The JSON bytes of a request body; a caller value JSON cannot carry (an object, a set, bytes,
    NaN or an infinity) is a :class:`BadRequestError` naming the param, before any I/O. Every
    param is checked, also one the wire format rewrites or drops (a NaN in a message part's
    unknown field), so that what a caller may send does not depend on the provider."""
    try:
        data = dumps(body)
        for name, value in params.items():
            if not isinstance(value, _PLAIN) and name != "extra_headers":
                json.dumps(value, allow_nan=False)
        return data
    except (TypeError, ValueError, RecursionError):
        pass
    named = (
        [(f"extra_body.{k}", v) for k, v in params["extra_body"].items()]
        if isinstance(params.get("extra_body"), Mapping)
        else []
    )
    named += [
        (name, value)
        for name, value in params.items()
        if name not in ("extra_headers", "extra_body")
    ]
    for name, value in named:
        why = _unencodable(value)
        if why:
            raise BadRequestError(f"parameter {name!r} {why}", provider=provider, model=model)
    raise BadRequestError(
        "the request body cannot be encoded as JSON", provider=provider, model=model
    )


_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_HEADER_BAD_VALUE = re.compile(r"[\r\n\x00]")


def add_headers(headers: dict[str, str], extra: Any, provider: str, model: str | None) -> None:
    """Merge a caller's ``extra_headers`` (names are case-insensitive; theirs win)."""
    if extra is None:
        return
    if not isinstance(extra, Mapping):
        raise BadRequestError(
            f"extra_headers must be a mapping of header names to strings, got {type(extra).__name__}",
            provider=provider,
            model=model,
        )
    for name, value in extra.items():
        if not isinstance(name, str) or not _HEADER_NAME.fullmatch(name):
            raise BadRequestError(
                f"extra_headers: {name!r} is not a valid header name",
                provider=provider,
                model=model,
            )
        if not isinstance(value, str):
            raise BadRequestError(
                f"extra_headers[{name!r}] must be a string, got {type(value).__name__}",
                provider=provider,
                model=model,
            )
        headers[name.lower()] = value


def _check_headers(headers: Mapping[str, str], provider: str, model: str | None) -> None:
    for name, value in headers.items():
        if not isinstance(value, str):
            raise BadRequestError(
                f"header {name!r} must be a string, got {type(value).__name__}",
                provider=provider,
                model=model,
            )
        if _HEADER_BAD_VALUE.search(value):
            # never the value: it may be the API key
            raise BadRequestError(
                f"header {name!r} contains a line break or NUL (an API key with a stray newline?)",
                provider=provider,
                model=model,
            )


def make_request(
    method: str,
    url_text: str,
    query: dict[str, str],
    headers: dict[str, str],
    content: bytes,
    provider: str,
    model: str | None,
    extensions: dict[str, Any] | None = None,
) -> httpx.Request:
    """The ``httpx.Request`` of an adapter call: headers checked, a bad URL a typed error."""
    import httpx

    _check_headers(headers, provider, model)
    try:
        target = url(url_text)
    except (httpx.InvalidURL, ValueError, TypeError):
        target = None
    if target is None or target.scheme not in ("http", "https") or not target.host:
        raise BadRequestError(
            "the base URL is not a valid http(s) URL (check base_url or its environment variable)",
            provider=provider,
            model=model,
        )
    return httpx.Request(
        method,
        target,
        params=query or None,
        headers=headers,
        content=content,
        extensions=extensions,
    )


def json_body(response: httpx.Response, provider: str, model: str | None = None) -> dict[str, Any]:
    """The response body as a JSON object, or a typed error naming the provider."""
    data: Any = _NOT_JSON
    why = "is not JSON"
    try:
        data = json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        pass
    except RecursionError:
        why = "is JSON nested too deeply to read"
    if data is _NOT_JSON:  # raised outside the handler: the error carries no context
        snippet = scrub_cut(response.content[:4096].decode("utf-8", "replace"), 200)
        raise APIResponseValidationError(
            f"response body {why}: {snippet!r}",
            provider=provider,
            model=model,
            status_code=response.status_code,
        )
    if not isinstance(data, dict):
        raise APIResponseValidationError(
            f"response body is a JSON {type(data).__name__}, expected an object",
            provider=provider,
            model=model,
            status_code=response.status_code,
        )
    return data


_NOT_JSON: Any = object()


def malformed(
    provider: str, model: str | None, exc: BaseException, what: str = "response"
) -> APIResponseValidationError:
    return APIResponseValidationError(
        f"malformed {what} from {provider}: {type(exc).__name__}: {scrub_cut(str(exc), 300)}",
        provider=provider,
        model=model,
    )


def completion(out: dict[str, Any], provider: str, model: str = "") -> ChatCompletion:
    """The checked ``ChatCompletion`` of an OpenAI dict (see :mod:`specgen_runtime.shape`)."""
    return ChatCompletion(check_completion(out, provider, model))


def embeddings_result(out: dict[str, Any], provider: str, model: str = "") -> EmbeddingResponse:
    return EmbeddingResponse(check_embeddings(out, provider, model))


def text_completion(out: dict[str, Any], provider: str, model: str = "") -> TextCompletion:
    """The checked ``TextCompletion`` of an OpenAI legacy ``text_completion`` dict."""
    return TextCompletion(check_text_completion(out, provider, model))


def text_chunk(state: StreamState, obj: dict[str, Any]) -> TextCompletionChunk:
    """One checked chunk of a streamed text completion: one id for the whole stream (the
    provider's first, else made up once); a choice with a finish reason finishes the stream."""
    if not state.id:
        rid = obj.get("id")
        state.id = rid if isinstance(rid, str) and rid else new_id("cmpl-")
    if isinstance(obj.get("model"), str) and obj["model"]:
        state.model = obj["model"]
    chunk = check_text_completion(obj, state.provider, state.model, state.id, state.created)
    if any(c.get("finish_reason") is not None for c in chunk["choices"]):
        state.finished = True
    return TextCompletionChunk(chunk)


def finish_reason(raw: Any, table: Mapping[str, str], default: str | None) -> str | None:
    """A provider's finish reason through the spec's map (``default`` for an unmapped one)."""
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise TypeError(f"finish reason is a {type(raw).__name__}, not a string")
    return table.get(raw, default if default is not None else raw)


def error_fields(
    response: httpx.Response,
    message_paths: Iterable[tuple[str, ...]],
    code_paths: Iterable[tuple[str, ...]],
) -> tuple[Any, str, str | None]:
    """Body, message and code of an error response, whatever shape it has."""
    body: Any = None
    try:
        body = json.loads(response.content) if response.content else None
    except (ValueError, UnicodeDecodeError, RecursionError):
        body = None
    return (body, *error_fields_of(body, response, message_paths, code_paths))


_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")


def _text_message(response: httpx.Response) -> str:
    """A readable message from a body that is not JSON: an HTML page's title (or its text), else the
    text itself; scrubbed before it is cut to 500 characters."""
    raw = response.content[:65536]
    head = raw.lstrip()[:1]
    if head == b"<":
        title = _TITLE.search(raw)
        text = (title.group(1) if title else raw).decode("utf-8", "replace")
        text = _SPACE.sub(" ", _TAG.sub(" ", text)).strip()
    else:
        text = raw.decode("utf-8", "replace").strip()
    return scrub_cut(text, 500) or response.reason_phrase or f"HTTP {response.status_code}"


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
            message = _text_message(response)
        elif body is not None:
            try:
                message = scrub_cut(json.dumps(body, default=str), 500)
            except (ValueError, TypeError, RecursionError):
                message = "unknown error"
        else:
            message = "unknown error"
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
    """What a stream handler remembers between events; builds checked OpenAI chunks."""

    __slots__ = (
        "acc",
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
        self.id = ""  # the provider's, from its first event that has one; else made up once
        self.created = int(time.time())
        self.role_sent = False
        self.done = False  # the protocol's terminator was seen
        self.finished = False  # a finish_reason was delivered
        self.tool_ids: dict[Any, int] = {}
        self.usage: dict[str, Any] = {}
        self.acc: dict[str, Any] = {}  # the response as accumulated from `response:` event actions

    def load(self, data: str) -> dict[str, Any]:
        obj: Any = _NOT_JSON
        why = "is not JSON"
        try:
            obj = json.loads(data)
        except ValueError:
            pass
        except RecursionError:
            why = "is JSON nested too deeply to read"
        if obj is _NOT_JSON:  # raised outside the handler: the error carries no context
            raise StreamInterruptedError(
                f"stream frame {why}: {scrub_cut(data[:4096], 200)!r}",
                provider=self.provider,
                model=self.model,
            )
        if not isinstance(obj, dict):
            raise StreamInterruptedError(
                f"stream frame is a JSON {type(obj).__name__}, expected an object",
                provider=self.provider,
                model=self.model,
            )
        return obj

    def tool_index(self, key: Any) -> int:
        """The OpenAI ``tool_calls[].index`` for a provider's own block/call key (a new call)."""
        index = self.tool_ids.get(key)
        if index is None:
            index = self.tool_ids[key] = len(self.tool_ids)
        return index

    def known_tool(self, key: Any) -> int | None:
        """The index of a call already started under ``key``; None for a key no call started
        (a continuation of a block that is not a client tool call, e.g. a server tool's input)."""
        return self.tool_ids.get(key)

    def chunk(self, obj: dict[str, Any]) -> ChatCompletionChunk:
        """A checked chunk: one id for the whole stream (the provider's, else made up once)."""
        if not self.id:
            rid = obj.get("id")
            self.id = rid if isinstance(rid, str) and rid else new_id()
        return ChatCompletionChunk(
            check_chunk(obj, self.provider, self.model, self.id, self.created)
        )

    def passthrough(self, obj: dict[str, Any]) -> ChatCompletionChunk:
        """A provider chunk that is already OpenAI's, checked."""
        chunk = self.chunk(obj)
        for choice in obj["choices"]:
            if choice.get("finish_reason") is not None:
                self.finished = True
        return chunk

    def emit(
        self,
        delta: dict[str, Any],
        finish_reason: str | None = None,
        usage: dict[str, Any] | None = None,
    ) -> ChatCompletionChunk:
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
        return self.chunk(chunk)

    def emit_choices(
        self, choices: list[dict[str, Any]], usage: dict[str, Any] | None = None
    ) -> ChatCompletionChunk | None:
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
        return self.chunk(chunk)

    def merge_usage(self, usage: dict[str, Any]) -> dict[str, Any]:
        self.usage.update(usage)
        merged = dict(self.usage)
        finish_usage(merged)
        return merged

    def absorb(self, piece: Any) -> dict[str, Any]:
        """Merge (part of) a response object into the accumulated response: the latest non-null
        value of each field wins (Anthropic's ``message_delta`` usage is cumulative and may repeat
        the input and cache counts of ``message_start``)."""
        if not isinstance(piece, dict):
            raise TypeError(f"a response object in the stream is a {type(piece).__name__}")
        _merge(self.acc, piece)
        return self.acc

    def message_delta(self, message: dict[str, Any], tool_keys: bool = True) -> dict[str, Any]:
        """The delta that delivers a whole (unstreamed-shape) message: its text, reasoning, images
        and tool calls, each call indexed after those this stream already started."""
        delta: dict[str, Any] = {}
        for key in ("content", "reasoning_content", "refusal", "images", "thinking_blocks"):
            if message.get(key) is not None:
                delta[key] = message[key]
        calls = message.get("tool_calls")
        if isinstance(calls, list) and calls:
            delta["tool_calls"] = [
                {**call, "index": self.tool_index(("message", len(self.tool_ids)))}
                if isinstance(call, dict)
                else call
                for call in calls
            ]
        return delta

    def check_complete(self, terminator_declared: bool) -> None:
        """Raise when the stream ended before its terminator (or, lacking one, before a finish)."""
        if self.done or (self.finished and not terminator_declared):
            return
        raise StreamInterruptedError(
            "stream ended before it was complete (connection closed early?)",
            provider=self.provider,
            model=self.model,
        )


def _merge(into: dict[str, Any], piece: dict[str, Any]) -> None:
    for key, value in piece.items():
        if value is None:
            continue
        before = into.get(key)
        if isinstance(value, dict) and isinstance(before, dict):
            _merge(before, value)
        else:
            into[key] = value


#: ``httpx.Request.extensions`` key of a request the adapter sends unstreamed although the caller
#: asked for a stream (``stream.emulate_when``); its value says ``{"include_usage": bool}``. The
#: provider answers with one JSON body: read it with ``parse_response``, then :func:`emulated_chunks`.
EMULATED_STREAM = "specgen_emulated_stream"


def emulated_chunks(
    completion: ChatCompletion, include_usage: bool = False
) -> list[ChatCompletionChunk]:
    """A whole ``chat.completion`` replayed as the chunks a stream of it would have given: per
    choice one delta with the role, content, reasoning, refusal, images and tool calls, then one with its
    finish_reason; a last chunk with no choices carries the usage when ``include_usage``."""
    data = completion.to_dict()
    head = {
        k: data[k]
        for k in ("id", "created", "model", "system_fingerprint", "service_tier")
        if data.get(k) is not None
    }
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
        out.append(
            ChatCompletionChunk(
                {
                    **head,
                    "choices": [
                        {"index": index, "delta": {}, "finish_reason": choice.get("finish_reason")}
                    ],
                }
            )
        )
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
        value = read_path(obj, path)
        if value is not None:
            key = tuple(name.split("."))
            before = get_path(usage, key)
            if (
                isinstance(before, int | float)
                and isinstance(value, int | float)
                and not isinstance(value, bool)
            ):
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


def now() -> int:
    return int(time.time())


_MALFORMED = (KeyError, TypeError, ValueError, IndexError, AttributeError, RecursionError)
Handler = Callable[[StreamState, str, str], "ChatCompletionChunk | None"]
#: what a stream handler makes of one frame: a chat chunk, or a text-completion chunk
_C = TypeVar("_C", ChatCompletionChunk, TextCompletionChunk)


def _decode_error(state: StreamState, exc: BaseException) -> StreamInterruptedError:
    return StreamInterruptedError(
        f"malformed stream from {state.provider}: {type(exc).__name__}: {scrub_cut(str(exc), 300)}",
        provider=state.provider,
        model=state.model,
    )


def run_stream(
    chunks: Iterable[bytes],
    decoder: Decoder,
    handler: Callable[[StreamState, str, str], _C | None],
    state: StreamState,
    terminated: bool,
) -> Iterator[_C]:
    """Feed ``chunks`` through ``decoder`` and ``handler``; stop at the terminator; check completeness."""
    problem: StreamInterruptedError | None = None
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
        problem = _decode_error(state, exc)
    if problem is not None:  # raised outside the handler: the error carries no context
        raise problem
    state.check_complete(terminated)


async def arun_stream(
    chunks: AsyncIterable[bytes],
    decoder: Decoder,
    handler: Callable[[StreamState, str, str], _C | None],
    state: StreamState,
    terminated: bool,
) -> AsyncIterator[_C]:
    """The async twin of :func:`run_stream`."""
    problem: StreamInterruptedError | None = None
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
        problem = _decode_error(state, exc)
    if problem is not None:
        raise problem
    state.check_complete(terminated)
