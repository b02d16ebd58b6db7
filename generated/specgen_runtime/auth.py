"""Credentials a client must obtain before it can call: access tokens from a token endpoint.

A spec with ``auth: {type: token, token: {...}}`` exchanges the caller's API key for an access
token (OAuth client credentials, an IAM API-key exchange) and sends that token. A :class:`TokenSource`
holds one token per client: it is fetched on first use, reused until ``REFRESH_MARGIN`` seconds
before it expires, and refreshed once however many calls need it at the same moment (a lock for
threads, an ``asyncio.Lock`` per event loop for tasks). Neither the key nor the token appears in
an error, a repr or a log line.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import threading
import time
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from specgen_runtime.core import env, read_path
from specgen_runtime.errors import (
    APIResponseValidationError,
    AuthenticationError,
    LLMError,
    register_secret,
)

if TYPE_CHECKING:
    import httpx

__all__ = ["REFRESH_MARGIN", "TokenSource"]

#: a token this close to its expiry is refreshed before use
REFRESH_MARGIN = 60.0
#: a token whose answer says nothing of its lifetime is kept this long
DEFAULT_LIFETIME = 300.0


_ENV_REF = re.compile(r"\$ENV\{([A-Za-z_][A-Za-z0-9_]*)(?::([^}]*))?\}")


def _env_refs(value: str, provider: str) -> str:
    """``$ENV{NAME}`` (or ``$ENV{NAME:default}``) in a token endpoint's URL or values: the
    environment variable's value (an Entra ID tenant, a client id, an OAuth scope)."""

    def one(m: re.Match[str]) -> str:
        found = os.environ.get(m.group(1)) or m.group(2)
        if not found:
            raise AuthenticationError(
                f"the token exchange needs the environment variable {m.group(1)}",
                provider=provider,
                status_code=None,
            )
        return found

    return _ENV_REF.sub(one, value)


def _fill(value: Any, key: str, request_id: str, provider: str = "") -> Any:
    if isinstance(value, str):
        value = value.replace("$API_KEY", key).replace("$UUID", request_id)
        return _env_refs(value, provider) if "$ENV{" in value else value
    if isinstance(value, dict):
        return {k: _fill(v, key, request_id, provider) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, key, request_id, provider) for v in value]
    return value


class TokenSource:
    """The access token of one client: ``spec`` is the spec's ``auth.token`` as a literal."""

    def __init__(
        self, provider: str, spec: Mapping[str, Any], key: str | None, url: str | None = None
    ) -> None:
        self.provider = provider
        self._spec = spec
        self._key = key
        self._url = url or env(tuple(spec.get("env") or ())) or str(spec["url"])
        self._token: str | None = None
        self._expires = 0.0
        self._lock = threading.Lock()
        self._alocks: dict[int, asyncio.Lock] = {}

    def __repr__(self) -> str:  # never the key or the token
        return f"TokenSource(provider={self.provider!r}, url={self._url!r})"

    def _fresh(self) -> str | None:
        if self._token is not None and time.time() < self._expires - REFRESH_MARGIN:
            return self._token
        return None

    def _request(self) -> httpx.Request:
        import httpx

        if not self._key:
            raise AuthenticationError(
                "no API key to exchange for an access token: pass api_key= or set its environment variable",
                provider=self.provider,
                status_code=None,
            )
        request_id = str(uuid.uuid4())
        headers = {
            str(k).lower(): str(v)
            for k, v in _fill(
                dict(self._spec.get("headers") or {}), self._key, request_id, self.provider
            ).items()
        }
        content = b""
        if "json" in self._spec:
            content = json.dumps(
                _fill(self._spec["json"], self._key, request_id, self.provider)
            ).encode()
            headers.setdefault("content-type", "application/json")
        elif "form" in self._spec:
            content = urlencode(
                _fill(dict(self._spec["form"]), self._key, request_id, self.provider)
            ).encode()
            headers.setdefault("content-type", "application/x-www-form-urlencoded")
        headers.setdefault("accept", "application/json")
        return httpx.Request(
            str(self._spec.get("method", "POST")),
            _env_refs(self._url, self.provider) if "$ENV{" in self._url else self._url,
            headers=headers,
            content=content,
        )

    def _accept(self, response: httpx.Response) -> str:
        from specgen_runtime.errors import default_error_class, default_retryable

        status = response.status_code
        if status >= 400:  # a refused key is an authentication error; the rest by status
            cls = AuthenticationError if status in (400, 401, 403) else default_error_class(status)
            raise cls(
                f"the token endpoint answered {status}",
                provider=self.provider,
                status_code=status,
                retryable=default_retryable(status),
            )
        try:
            data: Any = json.loads(response.content)
        except (ValueError, RecursionError):
            data = None
        if not isinstance(data, dict):
            raise APIResponseValidationError(
                "the token endpoint answered with a body that is not a JSON object",
                provider=self.provider,
            )
        token = read_path(data, tuple(str(self._spec.get("token_path", "access_token")).split(".")))
        if not isinstance(token, str) or not token:
            raise APIResponseValidationError(
                "the token endpoint's answer holds no access token", provider=self.provider
            )
        register_secret(token)
        now = time.time()
        expires_at = (
            read_path(data, tuple(str(self._spec["expires_at"]).split(".")))
            if "expires_at" in self._spec
            else None
        )
        expires_in = read_path(
            data, tuple(str(self._spec.get("expires_in", "expires_in")).split("."))
        )
        if isinstance(expires_at, int | float) and not isinstance(expires_at, bool):
            self._expires = expires_at / 1000.0 if expires_at > 1e11 else float(expires_at)
        elif isinstance(expires_in, int | float) and not isinstance(expires_in, bool):
            self._expires = now + float(expires_in)
        else:
            self._expires = now + DEFAULT_LIFETIME
        self._token = token
        return token

    def get(self, http: httpx.Client) -> str:
        """The token, fetched with ``http`` when there is none or it is about to expire."""
        token = self._fresh()
        if token is not None:
            return token
        with self._lock:
            token = self._fresh()  # another thread may have refreshed it meanwhile
            if token is not None:
                return token
            return self._accept(self._send(http))

    def _send(self, http: httpx.Client) -> httpx.Response:
        import httpx

        failure: httpx.HTTPError | None = None
        try:
            return http.send(self._request())
        except httpx.HTTPError as exc:
            failure = exc
        raise _transport_error(self.provider, failure)

    async def aget(self, http: httpx.AsyncClient) -> str:
        """The async twin of :meth:`get`: concurrent tasks share one refresh."""
        token = self._fresh()
        if token is not None:
            return token
        loop = asyncio.get_running_loop()
        lock = self._alocks.setdefault(id(loop), asyncio.Lock())
        async with lock:
            token = self._fresh()
            if token is not None:
                return token
            return self._accept(await self._asend(http))

    async def _asend(self, http: httpx.AsyncClient) -> httpx.Response:
        import httpx

        failure: httpx.HTTPError | None = None
        try:
            return await http.send(self._request())
        except httpx.HTTPError as exc:
            failure = exc
        raise _transport_error(self.provider, failure)


def _transport_error(provider: str, exc: BaseException) -> LLMError:
    from specgen_runtime.errors import APIConnectionError

    return APIConnectionError(
        f"the token endpoint could not be reached: {type(exc).__name__}", provider=provider
    )
