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
import re
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
    BadRequestError,
    LLMError,
    Timeout,
    UnsupportedParamsError,
    scrub,
)
from specgen_runtime.modes import ChatMode, CompletionsMode, Mode
from specgen_runtime.types import ChatCompletionChunk

if TYPE_CHECKING:
    from specgen_runtime.auth import TokenSource
    from specgen_runtime.aws import Signer
    from specgen_runtime.google_auth import GoogleCredentials
    from specgen_runtime.transport import AsyncTransport

__all__ = ["AsyncClient", "Client"]

#: the request extension of a request to sign (``specgen_runtime.aws.SIGV4``; not imported from
#: there, so that a client of a provider that does not sign never loads it)
_SIGV4 = "specgen_sigv4"

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
    #: the spec's ``auth.google`` (OAuth2 access tokens from google-auth), or None
    google_auth: ClassVar[Mapping[str, Any] | None] = None
    #: the spec's auth is ``sigv4``: a request built with no API key is signed (``specgen_runtime.aws``)
    sigv4: ClassVar[bool] = False
    #: the spec's ``auth.alternatives``: credentials tried in order when there is no API key
    #: (``{type: bearer | header | token, env, header, prefix, token}``), and the header the
    #: spec's own auth puts the key in (replaced by an alternative's)
    auth_alternatives: ClassVar[tuple[Mapping[str, Any], ...]] = ()
    auth_header_name: ClassVar[str] = "authorization"
    #: the spec's ``routes``: (model patterns, provider) whose calls another adapter of the same
    #: package (``route_package``) serves; ``model_prefix`` is stripped before matching
    routes: ClassVar[tuple[tuple[re.Pattern[str], str], ...]] = ()
    route_package: ClassVar[str | None] = None
    model_prefix: ClassVar[str | None] = None
    #: the class a route's target module provides for this client (``Client`` / ``AsyncClient``)
    _route_class: ClassVar[str] = "Client"
    #: path params the credentials fill (auth google: the project) when the call, the client and
    #: the environment give none: (name, credential attribute, environment variables)
    credential_params: ClassVar[tuple[tuple[str, str, tuple[str, ...]], ...]] = ()

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
        credentials: Any = None,
    ) -> None:
        self._api_key = api_key or _env(self.api_key_env)
        register_key(self._api_key)
        self._tokens: TokenSource | GoogleCredentials | None = None
        if self.token_spec is not None:
            from specgen_runtime.auth import TokenSource

            self._tokens = TokenSource(self.provider, self.token_spec, self._api_key, token_url)
        elif self.google_auth is not None:  # an api_key given is a ready access token
            from specgen_runtime.google_auth import GoogleCredentials

            self._tokens = GoogleCredentials(
                self.provider, self.google_auth, credentials, self._api_key
            )
        self._alt_header: tuple[str, str] | None = None
        if not self._api_key and self.auth_alternatives:
            self._use_alternative(token_url)
        # auth: sigv4 - a request built with no API key is signed with AWS credentials: the caller's
        # credentials= or botocore's chain, found on first use (specgen_runtime.aws)
        self._aws_credentials = credentials
        self._signer: Signer | None = None
        self.base_url = base_url or _env(self.base_url_env)
        self.api_version = api_version
        self.max_retries = max(0, int(max_retries))
        self.backoff = backoff
        self.timeout = DEFAULT_TIMEOUT if timeout is None else timeout

    def _use_alternative(self, token_url: str | None) -> None:
        """No API key: the first of the spec's ``auth.alternatives`` whose environment variable is
        set gives the credential (a ready token, or the secret of another token exchange) and
        the header it goes in."""
        for alt in self.auth_alternatives:
            credential = _env(tuple(alt.get("env") or ()))
            if not credential:
                continue
            register_key(credential)
            kind = alt.get("type")
            if kind == "token":
                from specgen_runtime.auth import TokenSource

                self._tokens = TokenSource(self.provider, alt["token"], credential, token_url)
            else:
                self._tokens = None  # a ready credential: nothing to exchange
            self._api_key = credential
            if kind == "header":
                self._alt_header = (str(alt["header"]).lower(), str(alt.get("prefix", "")))
            else:  # bearer, or a token exchange's access token
                self._alt_header = ("authorization", "Bearer " + str(alt.get("prefix", "")))
            return

    def _alternative_auth(self, request: httpx.Request, key: str | None) -> httpx.Request:
        """With one of ``auth.alternatives`` in use, its credential in its own header instead of
        the one the spec's auth puts the key in."""
        if self._alt_header is not None and key:
            name, prefix = self._alt_header
            request.headers.pop(self.auth_header_name, None)
            request.headers[name] = prefix + key
        return request

    def _map_error(self, response: httpx.Response, model: str | None) -> LLMError:
        raise NotImplementedError  # generated subclasses map through the spec's error table

    def __repr__(self) -> str:  # never shows the key
        return f"{type(self).__name__}(provider={self.provider!r}, base_url={self.base_url!r})"

    #: values of the URL's template variables given to the constructor (``deployment=``)
    _path_values: Mapping[str, str] = {}
    #: LiteLLM's ``drop_params`` (set it on a client): a param the spec refuses as such is left out
    #: of the request instead; a value out of range or outside the spec's enum is still refused
    drop_params: bool = False

    def _build(self, mode: Mode[Any], params: Mapping[str, Any], key: str | None) -> httpx.Request:
        """The request, built with ``key``: the API key, or the access token it was exchanged for."""
        if self._path_values:  # the call's own values win over the client's
            params = {**self._path_values, **params}
        for name, attribute, envs in self.credential_params:  # last, before the spec's default
            value = getattr(self._tokens, attribute, None)
            if params.get(name) is None and isinstance(value, str) and value and not _env(envs):
                params = {**params, name: value}
        if self.drop_params:
            return self._signed(
                self._alternative_auth(self._build_dropping(mode, params, key), key)
            )
        request = self._alternative_auth(
            mode.build_request(
                params, api_key=key, base_url=self.base_url, api_version=self.api_version
            ),
            key,
        )
        return self._signed(request)

    def _signed(self, request: httpx.Request) -> httpx.Request:
        """A request marked for SigV4 (auth: sigv4, built with no API key), signed; others as they are."""
        if _SIGV4 not in request.extensions:
            return request
        return self._aws_signer().sign(request)

    def _aws_signer(self) -> Signer:
        if self._signer is None:
            from specgen_runtime.aws import Signer

            self._signer = Signer(self.provider, self._aws_credentials, key_env=self.api_key_env)
        return self._signer

    def _build_dropping(
        self, mode: Mode[Any], params: Mapping[str, Any], key: str | None
    ) -> httpx.Request:
        """The request with every param the spec refuses left out, one refusal at a time (the
        request is built without I/O, so a refused try costs only the building)."""
        while True:
            refused: UnsupportedParamsError | None = None
            try:
                return mode.build_request(
                    params, api_key=key, base_url=self.base_url, api_version=self.api_version
                )
            except UnsupportedParamsError as exc:
                refused = exc
            name = refused.param
            if not (refused.droppable and name and params.get(name) is not None):
                raise refused  # outside the handler: nothing chained
            params = {k: v for k, v in params.items() if k != name}

    def _route(
        self, mode_name: str, params: Mapping[str, Any]
    ) -> tuple[Any, Any, dict[str, Any]] | None:
        """For a model one of the spec's ``routes`` sends to another adapter: that adapter's client
        (made once, sharing this client's connection), its mode and the params with the bare
        model; None for a model this adapter serves itself."""
        model = params.get("model")
        if not isinstance(model, str):
            return None
        prefix = self.model_prefix
        bare = model[len(prefix) :] if prefix and model.startswith(prefix) else model
        target = next((t for patterns, t in self.routes if patterns.match(bare)), None)
        if target is None:
            return None
        sub = self._route_client(target)
        import sys

        sub_mode = getattr(sys.modules[type(sub).__module__], mode_name, None)
        if sub_mode is None:
            raise BadRequestError(
                f"{mode_name} is not offered for this model (served by {target})",
                provider=self.provider,
                model=model,
            )
        return sub, sub_mode, {**params, "model": bare}

    def _route_client(self, target: str) -> Any:
        subs: dict[str, Any] = self.__dict__.setdefault("_route_clients", {})
        with _ROUTE_LOCK:
            sub = subs.get(target)
            if sub is not None:
                return sub
            import importlib

            name = f"{self.route_package}.{target}" if self.route_package else target
            missing: str | None = None
            try:
                module = importlib.import_module(name)
            except ImportError as exc:
                missing = type(exc).__name__
            if missing is not None:  # outside the handler: no import machinery in the context
                raise BadRequestError(
                    f"models of this provider are served by the adapter {name}, which is not "
                    f"installed or not built ({missing}): build it with `specgen build`",
                    provider=self.provider,
                )
            sub = getattr(module, self._route_class)(
                self._api_key,
                self.base_url,
                timeout=self.timeout,
                max_retries=self.max_retries,
                api_version=self.api_version,
                backoff=self.backoff,
                http_client=getattr(self, "_http", None),
                credentials=self._aws_credentials,  # the caller's credentials=, as given
            )
            self._adopt(sub)
            subs[target] = sub
            return sub

    def _adopt(self, sub: Any) -> None:
        """Let a route's client share this one's path values, options and credentials (one token,
        one refresh for both)."""
        sub._path_values = dict(self._path_values)
        sub.drop_params = self.drop_params
        if self._tokens is not None and type(sub._tokens) is type(self._tokens):
            sub._tokens = self._tokens

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


_ROUTE_LOCK = threading.Lock()


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
        credentials: Any = None,
    ) -> None:
        super().__init__(
            api_key,
            base_url,
            timeout=timeout,
            max_retries=max_retries,
            api_version=api_version,
            backoff=backoff,
            token_url=token_url,
            credentials=credentials,
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
        if self.routes and (routed := self._route(mode.name, params)) is not None:
            sub, sub_mode, params = routed
            result: T = sub._call(sub_mode, params)
            return result
        request = self._build(mode, params, self._key())
        response = self._send(request, _model_of(params), False)
        return mode.parse_response(response)

    def _stream(self, mode: ChatMode | CompletionsMode, params: Mapping[str, Any]) -> Iterator[Any]:
        """The chunks of a streamed call (chat chunks, or text-completion chunks for completions)."""
        if self.routes and (routed := self._route(mode.name, params)) is not None:
            sub, sub_mode, params = routed
            chunks: Iterator[ChatCompletionChunk] = sub._stream(sub_mode, params)
            return chunks
        model = _model_of(params)
        request = self._build(mode, {**params, "stream": True}, self._key())
        emulated = request.extensions.get(EMULATED_STREAM)
        # a request the provider cannot stream (chat only): one response, replayed
        if emulated is not None and isinstance(mode, ChatMode):
            completion = mode.parse_response(self._send(request, model, False))
            return iter(emulated_chunks(completion, bool(emulated.get("include_usage"))))
        response = self._send(request, model, True)
        return self._iterate(mode, response, model)

    def _iterate(
        self, mode: ChatMode | CompletionsMode, response: httpx.Response, model: str | None
    ) -> Iterator[Any]:
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

    _route_class: ClassVar[str] = "AsyncClient"

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
        credentials: Any = None,
    ) -> None:
        super().__init__(
            api_key,
            base_url,
            timeout=timeout,
            max_retries=max_retries,
            api_version=api_version,
            backoff=backoff,
            token_url=token_url,
            credentials=credentials,
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

    def _adopt(self, sub: Any) -> None:
        super()._adopt(sub)
        sub._direct = self._direct  # and the same AsyncTransport pool

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()
        close = getattr(self._tokens, "close", None)  # Google credentials' own token client
        if close is not None:
            close()

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
        key = await self._tokens.aget(self._http) if self._tokens is not None else self._api_key
        if self.sigv4 and not key and not self._aws_signer().ready():
            # finding or refreshing AWS credentials may call STS, SSO or a metadata endpoint:
            # in a worker thread, not on the event loop (signing itself is then pure computation)
            import asyncio

            await asyncio.to_thread(self._aws_signer().credentials)
        return key

    async def _call(self, mode: Mode[T], params: Mapping[str, Any]) -> T:
        if self.routes and (routed := self._route(mode.name, params)) is not None:
            sub, sub_mode, params = routed
            result: T = await sub._call(sub_mode, params)
            return result
        request = self._build(mode, params, await self._key())
        response = await self._send(request, _model_of(params), False)
        return mode.parse_response(response)

    async def _stream(
        self, mode: ChatMode | CompletionsMode, params: Mapping[str, Any]
    ) -> AsyncIterator[Any]:
        if self.routes and (routed := self._route(mode.name, params)) is not None:
            sub, sub_mode, params = routed
            chunks: AsyncIterator[ChatCompletionChunk] = await sub._stream(sub_mode, params)
            return chunks
        model = _model_of(params)
        request = self._build(mode, {**params, "stream": True}, await self._key())
        emulated = request.extensions.get(EMULATED_STREAM)
        # a request the provider cannot stream (chat only): one response, replayed
        if emulated is not None and isinstance(mode, ChatMode):
            completion = mode.parse_response(await self._send(request, model, False))
            return _replay(emulated_chunks(completion, bool(emulated.get("include_usage"))))
        response = await self._send(request, model, True)
        return self._iterate(mode, response, model)

    async def _iterate(
        self, mode: ChatMode | CompletionsMode, response: httpx.Response, model: str | None
    ) -> AsyncIterator[Any]:
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
