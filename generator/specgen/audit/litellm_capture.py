"""Run LiteLLM without a network: see the request it sends, feed it a recorded response.

The differential oracle (``specgen conform --oracle litellm``) puts specgen's generated adapters
next to LiteLLM on the same inputs. This module is LiteLLM's half:

- :func:`capture_request` — the HTTP request ``litellm.completion`` / ``litellm.embedding``
  would send for an OpenAI-style call: method, URL, headers, JSON body;
- :func:`replay_response` — LiteLLM's OpenAI-shaped result for a recorded provider response
  (a JSON body, or SSE / NDJSON bytes for a stream): ``ModelResponse.model_dump()``, the list of
  ``chunk.model_dump()`` for a stream, ``EmbeddingResponse.model_dump()``; an error status
  raises LiteLLM's mapped exception (:func:`describe_error` makes it comparable).

How: while a call runs, ``httpx.HTTPTransport.handle_request`` is replaced, for every client in
the process, by a function that records the request and answers it from memory. Every sync
LiteLLM path for the providers below sends through an ``httpx.Client`` with that transport:
LiteLLM's own ``HTTPHandler`` (anthropic, gemini, ollama_chat, groq, openrouter, deepseek) and
the OpenAI SDK client (openai, litellm_proxy). A :func:`specgen.audit._offline.no_network`
guard is active at the same time, so anything that would bypass the transport fails with
:class:`~specgen.audit._offline.NetworkBlockedError` instead of reaching a network; ``api_base``
is never contacted and may be a placeholder (``http://127.0.0.1:9`` is the default for
``litellm_proxy``, which has no default base).

Calls are serialized (a module lock); the transport patch is process-wide while a call runs,
so do not run a capture concurrently with real httpx traffic in the same process. Only the
sync API (``litellm.completion`` / ``litellm.embedding``) is patched; ``acompletion`` is not.

Providers, as spelled in specgen specs -> LiteLLM model prefixes (:func:`litellm_model`):
openai, anthropic, gemini (Google AI Studio), ollama (``ollama_chat/`` for chat, LiteLLM's
``/api/chat`` route; ``ollama/`` for embeddings, ``/api/embed``), groq, openrouter, deepseek,
litellm_proxy.

Volatile fields the oracle must not compare: ``created`` (LiteLLM stamps the current time when
the provider sends none, e.g. anthropic), ``id`` when the provider sends none (ollama: a fresh
UUID per chunk), ``system_fingerprint`` defaults, and LiteLLM-only keys (``provider_specific_fields``,
``thinking_blocks``, ``images``...).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

import httpx

from specgen.audit._offline import NetworkBlockedError, no_network, quiet_litellm

__all__ = [
    "AUXILIARY_PATHS",
    "PLACEHOLDER_API_BASE",
    "PLACEHOLDER_API_KEY",
    "CapturedRequest",
    "Exchange",
    "NetworkBlockedError",
    "Reply",
    "capture_request",
    "describe_error",
    "litellm_model",
    "replay_response",
    "run_litellm",
]

PLACEHOLDER_API_KEY = "sk-specgen-placeholder"
#: discard port on loopback: never listened on, and never contacted anyway (the transport answers)
PLACEHOLDER_API_BASE = "http://127.0.0.1:9"

# specgen provider (spec name) -> LiteLLM provider prefix, per mode
_PREFIX: dict[str, dict[str, str]] = {
    "openai": {"chat": "openai", "embeddings": "openai"},
    "anthropic": {"chat": "anthropic"},
    "gemini": {"chat": "gemini", "embeddings": "gemini"},
    "ollama": {"chat": "ollama_chat", "embeddings": "ollama"},
    "groq": {"chat": "groq"},
    "openrouter": {"chat": "openrouter", "embeddings": "openrouter"},
    "deepseek": {"chat": "deepseek"},
    "litellm_proxy": {"chat": "litellm_proxy", "embeddings": "litellm_proxy"},
}

# providers LiteLLM cannot call without an api_base
_NEEDS_API_BASE = {"litellm_proxy"}

#: specgen providers the offline oracle does not put next to LiteLLM, and why: LiteLLM's route for
#: them first obtains a credential (an OAuth or IAM token, a Google or AWS identity, a device
#: login) or needs account settings that no stub here provides, so its side would fail before the
#: request the comparison is about
NOT_COMPARED: dict[str, str] = {
    "azure": "LiteLLM needs a resource endpoint and an Azure API version or Entra credential",
    "azure_ai": "LiteLLM needs the Foundry resource endpoint",
    "azure_ai_anthropic": "no LiteLLM provider of its own (azure_ai's Claude route)",
    "bedrock": "LiteLLM signs with an AWS identity (SigV4)",
    "bedrock_mantle": "LiteLLM signs with an AWS identity (SigV4) or needs a Bedrock API key endpoint",
    "sagemaker_chat": "LiteLLM signs with an AWS identity (SigV4) and needs an endpoint",
    "vertex_ai": "LiteLLM fetches a Google access token (service account or ADC)",
    "vertex_ai_anthropic": "LiteLLM fetches a Google access token (service account or ADC)",
    "watsonx": "LiteLLM exchanges the key for an IBM IAM token first",
    "gigachat": "LiteLLM exchanges the credentials for an OAuth token first",
    "github_copilot": "LiteLLM needs an interactive GitHub device login",
    "cloudflare": "LiteLLM needs the account id of a Cloudflare account",
    "ragflow": "LiteLLM takes the chat id from the model name; ours is a client keyword",
}

_lock = threading.RLock()


def litellm_model(provider: str, model: str, mode: str = "chat") -> str:
    """The LiteLLM model string for a specgen provider and a model id:
    ``litellm_model("ollama", "llama3.2")`` -> ``"ollama_chat/llama3.2"``.

    ``mode`` is a specgen mode (``chat`` | ``embeddings``). A provider or mode not in the table
    falls back to ``"<provider>/<model>"``.
    """
    prefix = _PREFIX.get(provider, {}).get(mode, provider)
    return f"{prefix}/{model}"


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class CapturedRequest:
    """One HTTP request as LiteLLM sent it.

    ``headers`` keeps every header httpx would send (names lower-cased), including the
    placeholder credential and ``host``/``content-length``/``user-agent``; ``body`` is the parsed
    JSON body (None when there is none or it is not JSON), ``content`` the raw bytes.
    """

    method: str
    url: str
    headers: dict[str, str]
    body: Any
    content: bytes

    @property
    def path(self) -> str:
        return urlsplit(self.url).path

    @property
    def query(self) -> str:
        return urlsplit(self.url).query


@dataclass(frozen=True)
class Reply:
    """What the patched transport answers. ``body`` is sent as is; ``chunks``, when given,
    are yielded one by one instead (a stream split at arbitrary points)."""

    status: int = 200
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    chunks: tuple[bytes, ...] | None = None

    @classmethod
    def of(
        cls,
        body: bytes | str | Mapping[str, Any] | list[Any] | Path,
        *,
        status: int = 200,
        content_type: str | None = None,
        headers: Mapping[str, str] | None = None,
        chunks: Iterable[bytes] | None = None,
    ) -> Reply:
        """A reply from a fixture file, bytes, text or JSON data; the content type is guessed
        from a file's suffix (``.sse`` -> ``text/event-stream``, ``.ndjson`` ->
        ``application/x-ndjson``, else JSON) unless given."""
        guessed = "application/json"
        if isinstance(body, Path):
            guessed = {".sse": "text/event-stream", ".ndjson": "application/x-ndjson"}.get(body.suffix, guessed)
            raw = body.read_bytes()
        elif isinstance(body, bytes):
            raw = body
        elif isinstance(body, str):
            raw = body.encode()
        else:
            raw = json.dumps(body).encode()
        hdrs = {"content-type": content_type or guessed, **(headers or {})}
        return cls(status, raw, hdrs, tuple(chunks) if chunks is not None else None)

    def response(self, request: httpx.Request) -> httpx.Response:
        stream = _Pieces(self.chunks if self.chunks is not None else (self.body,))
        return httpx.Response(self.status, headers=dict(self.headers), stream=stream, request=request)


class _Pieces(httpx.SyncByteStream):
    def __init__(self, pieces: Iterable[bytes]) -> None:
        self._pieces = tuple(pieces)

    def __iter__(self) -> Iterator[bytes]:
        yield from self._pieces


NOT_FOUND = Reply.of({"error": "not found (specgen capture: auxiliary request)"}, status=404)

#: Requests LiteLLM sends besides the call itself, answered with a 404 (LiteLLM then falls back
#: to its static model info): Ollama ``POST /api/show`` model-info lookups, sent before the
#: call for a model its cost map does not know, and after a stream for cost tracking.
AUXILIARY_PATHS: tuple[str, ...] = ("/api/show",)


def is_auxiliary(request: CapturedRequest) -> bool:
    return request.path.endswith(AUXILIARY_PATHS)


@dataclass
class Exchange:
    """Everything one LiteLLM call did: the requests it sent (in order), and either its
    ``result`` (LiteLLM's return value, streams consumed into a list of chunks) or the
    ``error`` it raised."""

    requests: list[CapturedRequest] = field(default_factory=list)
    result: Any = None
    error: BaseException | None = None
    network_attempts: list[str] = field(default_factory=list)

    @property
    def call_requests(self) -> list[CapturedRequest]:
        """The requests that are the call itself (retries included), not auxiliary lookups."""
        return [r for r in self.requests if not is_auxiliary(r)]


# --------------------------------------------------------------------------- the transport patch


def _capture(request: httpx.Request) -> CapturedRequest:
    content = request.read()
    try:
        body = json.loads(content) if content else None
    except ValueError:
        body = None
    headers = {k.lower(): v for k, v in request.headers.items()}
    return CapturedRequest(request.method, str(request.url), headers, body, content)


@contextmanager
def _patched_transport(responder: Callable[[CapturedRequest, httpx.Request], httpx.Response], log: list[CapturedRequest]) -> Iterator[None]:
    original = httpx.HTTPTransport.handle_request

    def handle_request(self: httpx.HTTPTransport, request: httpx.Request) -> httpx.Response:
        captured = _capture(request)
        log.append(captured)
        return responder(captured, request)

    httpx.HTTPTransport.handle_request = handle_request  # type: ignore[method-assign]
    try:
        yield
    finally:
        httpx.HTTPTransport.handle_request = original  # type: ignore[method-assign]


def _litellm() -> ModuleType:
    from specgen.audit.reference import import_litellm

    return import_litellm()


def _call_kwargs(model: str, params: Mapping[str, Any], api_key: str | None, api_base: str | None) -> dict[str, Any]:
    kwargs: dict[str, Any] = dict(params)
    kwargs["model"] = model
    if api_key is not None:
        kwargs.setdefault("api_key", api_key)
    if api_base is None and model.split("/", 1)[0] in _NEEDS_API_BASE:
        api_base = PLACEHOLDER_API_BASE
    if api_base is not None:
        kwargs.setdefault("api_base", api_base)
    # one request per call: no SDK or LiteLLM retries (they would also sleep)
    kwargs.setdefault("max_retries", 0)
    kwargs.setdefault("num_retries", 0)
    return kwargs


def run_litellm(
    model: str,
    params: Mapping[str, Any],
    reply: Reply | Callable[[CapturedRequest, httpx.Request], httpx.Response],
    *,
    mode: str = "chat",
    api_key: str | None = PLACEHOLDER_API_KEY,
    api_base: str | None = None,
) -> Exchange:
    """Call ``litellm.completion`` (``mode="chat"``) or ``litellm.embedding``
    (``mode="embeddings"``) with ``params`` and answer its HTTP requests from ``reply``.

    ``model`` is a LiteLLM model string (``"anthropic/claude-sonnet-4-5"``, see
    :func:`litellm_model`); ``params`` are the OpenAI-style keyword arguments (``messages``,
    ``tools``, ``max_tokens``, ``stream``, ``input`` for embeddings, ...) passed through
    unchanged; ``api_key``/``api_base`` are passed unless ``params`` has them (``api_base=None``:
    LiteLLM's default base URL, which is never contacted). ``max_retries``/``num_retries``
    default to 0.

    A :class:`Reply` answers every request of the call (retries included) except the
    auxiliary ones (:data:`AUXILIARY_PATHS`, e.g. LiteLLM's ollama ``/api/show`` model-info
    lookups), which get a 404. A callable gets each request and returns the ``httpx.Response``.

    Never raises LiteLLM's exceptions: they are in ``Exchange.error``. A stream is consumed
    inside the patch; ``result`` is then the list of chunks (LiteLLM objects, not dumped).
    """
    if mode not in ("chat", "embeddings"):
        raise ValueError(f"mode must be 'chat' or 'embeddings', not {mode!r}")
    ll = _litellm()
    call = ll.completion if mode == "chat" else ll.embedding
    kwargs = _call_kwargs(model, params, api_key, api_base)
    exchange = Exchange()

    responder: Callable[[CapturedRequest, httpx.Request], httpx.Response]
    if isinstance(reply, Reply):
        fixed = reply

        def answer(captured: CapturedRequest, request: httpx.Request) -> httpx.Response:
            return NOT_FOUND.response(request) if is_auxiliary(captured) else fixed.response(request)

        responder = answer
    else:
        responder = reply

    with _lock, no_network(exchange.network_attempts), quiet_litellm(ll), _patched_transport(responder, exchange.requests):
        # LiteLLM's OpenAI embedding path reads `max_retries or DEFAULT_MAX_RETRIES`, so 0 means 2
        # (and the OpenAI SDK sleeps between them); make the default 0 while the call runs
        saved_retries = getattr(ll, "DEFAULT_MAX_RETRIES", None)
        if saved_retries is not None:
            setattr(ll, "DEFAULT_MAX_RETRIES", 0)  # noqa: B010 - a module attribute mypy cannot see
        try:
            result = call(**kwargs)
            if mode == "chat" and kwargs.get("stream"):
                result = list(result)  # consumed while the transport is still patched
            exchange.result = result
        except Exception as exc:
            exchange.error = exc
        finally:
            if saved_retries is not None:
                setattr(ll, "DEFAULT_MAX_RETRIES", saved_retries)  # noqa: B010
    return exchange


# --------------------------------------------------------------------------- the two entry points


def capture_request(
    model: str,
    params: Mapping[str, Any],
    *,
    mode: str = "chat",
    api_key: str | None = PLACEHOLDER_API_KEY,
    api_base: str | None = None,
    reply: Reply | None = None,
) -> CapturedRequest:
    """The HTTP request LiteLLM sends for this call: the first one that is not an auxiliary
    lookup (see :func:`run_litellm` for the arguments and :data:`AUXILIARY_PATHS`). The transport answers it with ``reply`` (default: a 400 error body, which ends
    the call at once; LiteLLM's resulting exception is discarded).

    Raises LiteLLM's exception when the call failed before sending anything (e.g.
    ``litellm.UnsupportedParamsError`` for a param the provider does not take without
    ``drop_params``: that is LiteLLM's answer, not a capture failure), and
    :class:`NetworkBlockedError` if it tried to reach the network around the transport.
    """
    answer = reply or Reply.of(
        {"error": {"message": "specgen capture: request recorded", "type": "invalid_request_error"}}, status=400
    )
    exchange = run_litellm(model, params, answer, mode=mode, api_key=api_key, api_base=api_base)
    if exchange.call_requests:
        return exchange.call_requests[0]
    if exchange.error is not None:
        raise exchange.error
    raise RuntimeError(f"litellm sent no HTTP request for {model!r}")  # pragma: no cover


def replay_response(
    model: str,
    params: Mapping[str, Any],
    body: bytes | str | Mapping[str, Any] | list[Any] | Path,
    *,
    status: int = 200,
    content_type: str | None = None,
    headers: Mapping[str, str] | None = None,
    chunks: Iterable[bytes] | None = None,
    mode: str = "chat",
    api_key: str | None = PLACEHOLDER_API_KEY,
    api_base: str | None = None,
) -> dict[str, Any] | list[dict[str, Any]]:
    """LiteLLM's OpenAI-shaped result for a recorded provider response.

    ``body`` is a fixture path (``specs/fixtures/anthropic/chat/response.json``,
    ``.../stream.sse``, ``.../stream.ndjson``), raw bytes/text, or JSON data; the content type
    follows the file suffix unless ``content_type`` is given; ``chunks`` splits the body into
    pieces for a stream. ``params`` must say ``stream=True`` for a stream body.

    Returns ``response.model_dump()`` (``ModelResponse`` / ``EmbeddingResponse``), or for a
    stream the list of ``chunk.model_dump()`` in order. With an error ``status`` (or an error
    event in a stream) LiteLLM's exception is raised (``litellm.RateLimitError``...); see
    :func:`describe_error`.
    """
    reply = Reply.of(body, status=status, content_type=content_type, headers=headers, chunks=chunks)
    exchange = run_litellm(model, params, reply, mode=mode, api_key=api_key, api_base=api_base)
    if exchange.error is not None:
        raise exchange.error
    result = exchange.result
    if isinstance(result, list):
        return [_dump(chunk) for chunk in result]
    return _dump(result)


def _dump(obj: Any) -> dict[str, Any]:
    if hasattr(obj, "model_dump"):
        dumped: dict[str, Any] = obj.model_dump()
        return dumped
    if isinstance(obj, Mapping):
        return dict(obj)
    raise TypeError(f"unexpected LiteLLM result {type(obj).__name__}")


def describe_error(exc: BaseException) -> dict[str, Any]:
    """A comparable view of a LiteLLM exception: ``type`` (its class name, e.g.
    ``RateLimitError``; LiteLLM's names match specgen's), the OpenAI-compatible ``status_code``,
    the ``llm_provider`` it blames, and the ``message`` (LiteLLM prefixes it, e.g.
    ``"litellm.RateLimitError: AnthropicException - ..."``)."""
    return {
        "type": type(exc).__name__,
        "status_code": getattr(exc, "status_code", None),
        "llm_provider": getattr(exc, "llm_provider", None),
        "message": str(getattr(exc, "message", exc)),
    }
