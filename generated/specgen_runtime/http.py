"""The HTTP layer on top of the sans-I/O adapters: pooled sync and async clients.

Retries are bounded, back off exponentially with jitter, honour ``Retry-After``,
and happen only for errors the spec marks retryable (plus connection failures
and timeouts).  A stream is never retried once it has begun.

A stream stops at its terminator; what is left of the HTTP body (usually just
the last, empty chunk) is then read, up to :data:`DRAIN_BYTES` (and, async,
:data:`DRAIN_SECONDS`), so that the connection goes back to the pool.

:class:`AsyncClient` sends through :class:`specgen_runtime.transport.AsyncTransport`
(an asyncio HTTP/1.1 pool behind the httpx interface) unless it is given its own
``http_client``; ``asyncio`` and the transport are imported when one is created.
"""

from __future__ import annotations

import contextlib
import os
import random
import socket
import ssl
import threading
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import httpx

from specgen_runtime.core import EMULATED_STREAM, emulated_chunks, register_key
from specgen_runtime.errors import (
    APIConnectionError,
    APIResponseValidationError,
    LLMError,
    Timeout,
    scrub,
)
from specgen_runtime.modes import ChatMode, Mode
from specgen_runtime.types import ChatCompletionChunk

if TYPE_CHECKING:
    from specgen_runtime.auth import TokenSource
    from specgen_runtime.transport import AsyncTransport

__all__ = ["AsyncClient", "Client"]

T = TypeVar("T")

DEFAULT_TIMEOUT = httpx.Timeout(600.0, connect=10.0)
MAX_RETRY_AFTER = 60.0
DRAIN_BYTES = 64 * 1024  # after a stream's terminator, read at most this much more of its body
DRAIN_SECONDS = 1.0  # async only: and for at most this long


def _drain(chunks: Iterator[bytes], response: httpx.Response) -> None:
    """Read what is left of a finished stream's body so its connection can be reused: at most
    :data:`DRAIN_BYTES`, and for at most :data:`DRAIN_SECONDS`. A server that never ends the body
    would otherwise hold the caller until the read timeout (600 s by default); a watchdog shuts the
    socket at the deadline, which ends the read, and the connection is then closed, not pooled."""
    sock = _socket_of(response)
    token = _WATCHDOG.arm(DRAIN_SECONDS, sock) if sock is not None else None
    seen = 0
    try:
        for piece in chunks:
            seen += len(piece)
            if seen > DRAIN_BYTES:
                return
    except (httpx.TransportError, httpx.DecodingError):
        return
    finally:
        if token is not None:
            _WATCHDOG.disarm(token)


def _socket_of(response: httpx.Response) -> socket.socket | None:
    """The socket under a streamed response (httpx's default transport exposes it), else None."""
    stream = response.extensions.get("network_stream")
    get = getattr(stream, "get_extra_info", None)
    if get is None:
        return None
    try:
        sock = get("socket")
    except Exception:  # a transport of the caller's own: no watchdog, the byte bound still holds
        return None
    return sock if isinstance(sock, socket.socket) else None


class _Watchdog:
    """One daemon thread that shuts sockets whose deadline passed (cheaper than a timer thread per
    stream). Shutting a socket down makes a read blocked on it return at once."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._due: dict[int, tuple[float, socket.socket]] = {}
        self._next = 0
        self._thread: threading.Thread | None = None

    def arm(self, seconds: float, sock: socket.socket) -> int:
        with self._cond:
            self._next += 1
            token = self._next
            self._due[token] = (time.monotonic() + seconds, sock)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="specgen-stream-watchdog", daemon=True
                )
                self._thread.start()
            self._cond.notify()
            return token

    def disarm(self, token: int) -> None:
        with self._cond:
            self._due.pop(token, None)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._due:
                    if not self._cond.wait(timeout=30.0) and not self._due:
                        self._thread = None  # idle: let the thread end; the next arm starts another
                        return
                now = time.monotonic()
                expired = [t for t, (when, _) in self._due.items() if when <= now]
                socks = [self._due.pop(t)[1] for t in expired]
                if not socks:
                    self._cond.wait(timeout=min(when for when, _ in self._due.values()) - now)
                    continue
            for sock in socks:
                with contextlib.suppress(OSError):  # already closed: nothing to end
                    socket.socket.shutdown(
                        sock, socket.SHUT_RDWR
                    )  # the base method: TLS sockets too


_WATCHDOG = _Watchdog()


async def _adrain(chunks: AsyncIterator[bytes]) -> None:
    import asyncio

    seen = 0
    try:
        async with asyncio.timeout(DRAIN_SECONDS):
            async for piece in chunks:
                seen += len(piece)
                if seen > DRAIN_BYTES:
                    return
    except (TimeoutError, httpx.TransportError, httpx.DecodingError):
        return


_ssl_lock = threading.Lock()
_ssl_shared: ssl.SSLContext | None = None


def shared_ssl_context() -> ssl.SSLContext:
    """The TLS context every client of ours verifies with when the caller brings no client of
    their own: built once per process (building one loads the CA bundle, about 40 ms) the way
    httpx builds its default (certifi, or ``SSL_CERT_FILE``/``SSL_CERT_DIR`` as set at that
    moment), then shared; an ``SSLContext`` may serve many connections and threads."""
    global _ssl_shared
    with _ssl_lock:
        if _ssl_shared is None:
            _ssl_shared = httpx.create_ssl_context(verify=True, trust_env=True)
        return _ssl_shared


async def _replay(chunks: list[ChatCompletionChunk]) -> AsyncIterator[ChatCompletionChunk]:
    for chunk in chunks:
        yield chunk


def _proxied() -> bool:
    """Whether httpx would route some request through a proxy (``*_PROXY`` or the system's settings)."""
    import urllib.request

    proxies = urllib.request.getproxies()
    return any(proxies.get(scheme) for scheme in ("http", "https", "all"))


def _env(names: tuple[str, ...]) -> str | None:
    for name in names:
        value = os.environ.get(name)
        if value:
            return value
    return None


class _BaseClient:
    provider: ClassVar[str] = ""
    api_key_env: ClassVar[tuple[str, ...]] = ()
    base_url_env: ClassVar[tuple[str, ...]] = ()
    #: the spec's ``auth.token`` (the key is exchanged for an access token), or None
    token_spec: ClassVar[Mapping[str, Any] | None] = None

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        *,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int = 2,
        api_version: str | None = None,
        backoff: float = 0.5,
        token_url: str | None = None,
    ) -> None:
        self._api_key = api_key or _env(self.api_key_env)
        register_key(self._api_key)
        self._tokens: TokenSource | None = None
        if self.token_spec is not None:
            from specgen_runtime.auth import TokenSource

            self._tokens = TokenSource(self.provider, self.token_spec, self._api_key, token_url)
        self.base_url = base_url or _env(self.base_url_env)
        self.api_version = api_version
        self.max_retries = max(0, int(max_retries))
        self.backoff = backoff
        self.timeout = DEFAULT_TIMEOUT if timeout is None else timeout

    def _map_error(self, response: httpx.Response, model: str | None) -> LLMError:
        raise NotImplementedError  # generated subclasses map through the spec's error table

    def __repr__(self) -> str:  # never shows the key
        return f"{type(self).__name__}(provider={self.provider!r}, base_url={self.base_url!r})"

    #: values of the URL's template variables given to the constructor (``deployment=``)
    _path_values: Mapping[str, str] = {}

    def _build(self, mode: Mode[Any], params: Mapping[str, Any], key: str | None) -> httpx.Request:
        """The request, built with ``key``: the API key, or the access token it was exchanged for."""
        if self._path_values:  # the call's own values win over the client's
            params = {**self._path_values, **params}
        return mode.build_request(
            params, api_key=key, base_url=self.base_url, api_version=self.api_version
        )

    def _delay(self, attempt: int, error: LLMError) -> float:
        if error.retry_after is not None:
            return float(min(error.retry_after, MAX_RETRY_AFTER))
        base: float = min(self.backoff * float(2**attempt), 8.0)
        return base * (0.75 + random.random() / 2)

    def _transport_error(self, exc: httpx.HTTPError, model: str | None) -> LLMError:
        """The typed error for an httpx failure. Callers raise it outside their ``except`` block, so
        that the httpx exception (whose ``request`` holds the auth header) is not its context."""
        if isinstance(exc, httpx.TimeoutException):
            return Timeout(
                f"request timed out: {type(exc).__name__}", provider=self.provider, model=model
            )
        if isinstance(exc, httpx.DecodingError):
            return APIResponseValidationError(
                f"response body does not match its content-encoding: {scrub(str(exc))}",
                provider=self.provider,
                model=model,
            )
        if isinstance(exc, httpx.TransportError):
            return APIConnectionError(
                f"connection failed: {type(exc).__name__}: {scrub(str(exc))}",
                provider=self.provider,
                model=model,
            )
        return (
            APIConnectionError(  # any other httpx failure (a stream already read, a bad redirect)
                f"HTTP client error: {type(exc).__name__}: {scrub(str(exc))}",
                provider=self.provider,
                model=model,
                retryable=False,
            )
        )


def _model_of(params: Mapping[str, Any]) -> str | None:
    model = params.get("model")
    return model if isinstance(model, str) else None


class Client(_BaseClient):
    """A pooled synchronous client; generated adapters subclass it and add one method per mode."""

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        *,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int = 2,
        api_version: str | None = None,
        backoff: float = 0.5,
        http_client: httpx.Client | None = None,
        token_url: str | None = None,
    ) -> None:
        super().__init__(
            api_key,
            base_url,
            timeout=timeout,
            max_retries=max_retries,
            api_version=api_version,
            backoff=backoff,
            token_url=token_url,
        )
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client(timeout=self.timeout, verify=shared_ssl_context())

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self: T) -> T:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _send(self, request: httpx.Request, model: str | None, stream: bool) -> httpx.Response:
        attempt = 0
        while True:
            error = self._attempt(request, model, stream)
            if isinstance(error, httpx.Response):
                return error
            if error.retryable and attempt < self.max_retries:
                time.sleep(self._delay(attempt, error))
                attempt += 1
                continue
            raise error  # outside any handler: no httpx exception (or its request) in its context

    def _attempt(
        self, request: httpx.Request, model: str | None, stream: bool
    ) -> httpx.Response | LLMError:
        """One try: the successful response, or the typed error it ended in."""
        failure: httpx.HTTPError | None = None
        try:
            response = self._http.send(request, stream=stream)
            if response.status_code < 400:
                return response
            if stream:
                try:
                    response.read()
                finally:
                    response.close()
        except httpx.HTTPError as exc:
            failure = exc
        if failure is not None:
            error = self._transport_error(failure, model)
            if not isinstance(failure, httpx.TransportError):
                error.retryable = False
            return error
        return self._map_error(response, model)

    def _key(self) -> str | None:
        return self._tokens.get(self._http) if self._tokens is not None else self._api_key

    def _call(self, mode: Mode[T], params: Mapping[str, Any]) -> T:
        request = self._build(mode, params, self._key())
        response = self._send(request, _model_of(params), False)
        return mode.parse_response(response)

    def _stream(self, mode: ChatMode, params: Mapping[str, Any]) -> Iterator[ChatCompletionChunk]:
        model = _model_of(params)
        request = self._build(mode, {**params, "stream": True}, self._key())
        emulated = request.extensions.get(EMULATED_STREAM)
        if emulated is not None:  # a request the provider cannot stream: one response, replayed
            completion = mode.parse_response(self._send(request, model, False))
            return iter(emulated_chunks(completion, bool(emulated.get("include_usage"))))
        response = self._send(request, model, True)
        return self._iterate(mode, response, model)

    def _iterate(
        self, mode: ChatMode, response: httpx.Response, model: str | None
    ) -> Iterator[ChatCompletionChunk]:
        chunks = response.iter_bytes()
        failure: httpx.HTTPError | None = None
        try:
            yield from mode.parse_stream(chunks, model=model)
            _drain(chunks, response)
        except httpx.HTTPError as exc:
            failure = exc
        finally:
            response.close()
        if failure is not None:
            raise self._transport_error(failure, model)  # outside the handler: no httpx context


class AsyncClient(_BaseClient):
    """A pooled asyncio client; generated adapters subclass it and add one coroutine per mode."""

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        *,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int = 2,
        api_version: str | None = None,
        backoff: float = 0.5,
        http_client: httpx.AsyncClient | None = None,
        token_url: str | None = None,
    ) -> None:
        super().__init__(
            api_key,
            base_url,
            timeout=timeout,
            max_retries=max_retries,
            api_version=api_version,
            backoff=backoff,
            token_url=token_url,
        )
        self._owns_http = http_client is None
        # our own client sends straight to AsyncTransport (what httpx.AsyncClient.send would do
        # for these requests, minus its overhead); with a proxy configured, stock httpx does it all
        self._direct: AsyncTransport | None = None
        if http_client is None:
            if _proxied():
                http_client = httpx.AsyncClient(timeout=self.timeout, verify=shared_ssl_context())
            else:
                from specgen_runtime.transport import AsyncTransport

                self._direct = AsyncTransport()
                http_client = httpx.AsyncClient(timeout=self.timeout, transport=self._direct)
        self._http = http_client
        self._timeouts = httpx.Timeout(self.timeout).as_dict()

    async def _send_once(self, request: httpx.Request, stream: bool) -> httpx.Response:
        direct = self._direct
        if direct is None or request.url.userinfo or self._http.is_closed:
            return await self._http.send(request, stream=stream)
        # what httpx.AsyncClient.send does for a prepared request with no auth, redirects or proxy
        # (it also files Set-Cookie in a jar, which it never sends back for a prepared request)
        if "timeout" not in request.extensions:
            request.extensions = {**request.extensions, "timeout": self._timeouts}
        response = await direct.handle_async_request(request)
        if not stream:
            try:
                await response.aread()
            except BaseException:
                await response.aclose()
                raise
        return response

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self: T) -> T:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def _send(
        self, request: httpx.Request, model: str | None, stream: bool
    ) -> httpx.Response:
        attempt = 0
        while True:
            error = await self._attempt(request, model, stream)
            if isinstance(error, httpx.Response):
                return error
            if error.retryable and attempt < self.max_retries:
                await _sleep(self._delay(attempt, error))
                attempt += 1
                continue
            raise error  # outside any handler: no httpx exception (or its request) in its context

    async def _attempt(
        self, request: httpx.Request, model: str | None, stream: bool
    ) -> httpx.Response | LLMError:
        failure: httpx.HTTPError | None = None
        try:
            response = await self._send_once(request, stream)
            if response.status_code < 400:
                return response
            if stream:
                try:
                    await response.aread()
                finally:
                    await response.aclose()
        except httpx.HTTPError as exc:
            failure = exc
        if failure is not None:
            error = self._transport_error(failure, model)
            if not isinstance(failure, httpx.TransportError):
                error.retryable = False
            return error
        return self._map_error(response, model)

    async def _key(self) -> str | None:
        return await self._tokens.aget(self._http) if self._tokens is not None else self._api_key

    async def _call(self, mode: Mode[T], params: Mapping[str, Any]) -> T:
        request = self._build(mode, params, await self._key())
        response = await self._send(request, _model_of(params), False)
        return mode.parse_response(response)

    async def _stream(
        self, mode: ChatMode, params: Mapping[str, Any]
    ) -> AsyncIterator[ChatCompletionChunk]:
        model = _model_of(params)
        request = self._build(mode, {**params, "stream": True}, await self._key())
        emulated = request.extensions.get(EMULATED_STREAM)
        if emulated is not None:  # a request the provider cannot stream: one response, replayed
            completion = mode.parse_response(await self._send(request, model, False))
            return _replay(emulated_chunks(completion, bool(emulated.get("include_usage"))))
        response = await self._send(request, model, True)
        return self._iterate(mode, response, model)

    async def _iterate(
        self, mode: ChatMode, response: httpx.Response, model: str | None
    ) -> AsyncIterator[ChatCompletionChunk]:
        chunks = response.aiter_bytes()
        failure: httpx.HTTPError | None = None
        try:
            async for chunk in mode.aparse_stream(chunks, model=model):
                yield chunk
            await _adrain(chunks)
        except httpx.HTTPError as exc:
            failure = exc
        finally:
            aclose = getattr(
                chunks, "aclose", None
            )  # an async generator: finish it here, not at GC
            if aclose is not None:
                await aclose()
            await response.aclose()
        if failure is not None:
            raise self._transport_error(failure, model)  # outside the handler: no httpx context


async def _sleep(seconds: float) -> None:
    import asyncio

    await asyncio.sleep(seconds)
