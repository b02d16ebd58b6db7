"""Google Cloud credentials: OAuth2 access tokens obtained and refreshed through google-auth.

A spec with ``auth: {type: google}`` sends ``Authorization: Bearer <access token>``, the token coming
from Google's own library (``google-auth``, the optional extra ``specgen-providers[gcp]``), imported
only when a client first needs a token, so that importing an adapter never needs it. The credentials
are, in order: a client's ``credentials=`` (a google-auth ``Credentials`` object, the path of a
service-account or authorized-user JSON file, that JSON as a string, or as a dict); the first of the
spec's ``auth.google.env`` variables that is set (a path or the JSON itself); else Application
Default Credentials (``google.auth.default()``: ``GOOGLE_APPLICATION_CREDENTIALS``, gcloud's user
credentials, the metadata server). They are scoped with ``auth.google.scopes`` (cloud-platform by
default). An ``api_key=`` given to the client is taken as a ready access token and sent as it is.

A :class:`GoogleCredentials` holds one token per client. It is reused until
:data:`~specgen_runtime.auth.REFRESH_MARGIN` seconds before it expires and refreshed once however
many calls need it at the same moment: threads wait on one lock; asyncio tasks wait on an
``asyncio.Lock`` per event loop and refresh in a worker thread (google-auth's refresh blocks) that
takes the same thread lock, so that sync and async callers of one client share a refresh too.
google-auth talks to Google's token endpoint (or the metadata server) through httpx, not through
``requests``. Neither the credentials nor the token appears in an error, a repr or a log line.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import json
import os
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from specgen_runtime.errors import (
    APIConnectionError,
    AuthenticationError,
    LLMError,
    MissingExtraError,
    register_secret,
    scrub,
)

if TYPE_CHECKING:
    import httpx

__all__ = ["CLOUD_PLATFORM", "EXTRA", "GoogleCredentials", "MissingExtraError"]

#: the scope Vertex AI (and most Google Cloud APIs) require
CLOUD_PLATFORM = "https://www.googleapis.com/auth/cloud-platform"
#: what to install for ``auth: {type: google}``
EXTRA = "specgen-providers[gcp]"
#: how long one token request may take
TOKEN_TIMEOUT = 60.0


def _google(provider: str) -> Any:
    """google-auth's modules, imported on first use; a clear error naming the extra without them."""
    import importlib

    missing: ImportError | None = None
    try:  # through importlib: the runtime type-checks the same with google-auth installed or not
        for name in ("google.auth.credentials", "google.auth.exceptions", "google.auth.transport"):
            importlib.import_module(name)
        return importlib.import_module("google.auth")
    except ImportError as exc:
        missing = exc
    raise MissingExtraError(
        f"Google Cloud credentials need the google-auth library ({type(missing).__name__}): "
        f"pip install '{EXTRA}' (or: pip install google-auth)",
        provider=provider,
        status_code=None,
    )


def _transport(http: httpx.Client) -> Any:
    """A google-auth transport ``Request`` (what its ``refresh`` calls: ``request(url=, method=,
    body=, headers=, timeout=)`` giving an object with ``status``, ``headers`` and ``data``) that
    sends through an httpx client."""
    import importlib

    import httpx

    exceptions: Any = importlib.import_module("google.auth.exceptions")

    class _Response:
        def __init__(self, response: httpx.Response) -> None:
            self._response = response

        @property
        def status(self) -> int:
            return self._response.status_code

        @property
        def headers(self) -> Mapping[str, str]:
            return dict(self._response.headers)

        @property
        def data(self) -> bytes:
            return self._response.content

    class _Request:
        def __call__(
            self,
            url: str,
            method: str = "GET",
            body: bytes | None = None,
            headers: Mapping[str, str] | None = None,
            timeout: float | None = None,
            **kwargs: Any,
        ) -> Any:
            failure: str | None = None
            try:
                response = http.request(
                    method,
                    url,
                    content=body,
                    headers=dict(headers or {}),
                    timeout=timeout or TOKEN_TIMEOUT,
                )
            except httpx.HTTPError as exc:
                failure = type(exc).__name__
            if failure is not None:  # outside the handler: nothing of the request in its context
                raise exceptions.TransportError(f"the token request failed: {failure}")
            return _Response(response)

    return _Request()


class GoogleCredentials:
    """The access token of one client. ``spec`` is the spec's ``auth.google`` (``scopes``, ``env``)
    as a literal; ``credentials`` the client's ``credentials=``; ``token`` a ready access token."""

    def __init__(
        self,
        provider: str,
        spec: Mapping[str, Any] | None = None,
        credentials: Any = None,
        token: str | None = None,
    ) -> None:
        spec = spec or {}
        self.provider = provider
        self._scopes = tuple(str(s) for s in (spec.get("scopes") or (CLOUD_PLATFORM,)))
        self._env = tuple(str(e) for e in (spec.get("env") or ()))
        self._given = credentials
        self._static = token or None
        if token:
            register_secret(token)
        self._creds: Any = None  # a google.auth.credentials.Credentials, loaded on first use
        #: the project the credentials belong to, when they name one (ADC, a service account)
        self.project: str | None = None
        self._lock = threading.Lock()
        self._alocks: dict[int, asyncio.Lock] = {}
        self._own_http: httpx.Client | None = None

    def __repr__(self) -> str:  # never the credentials or the token
        return f"GoogleCredentials(provider={self.provider!r}, scopes={list(self._scopes)!r})"

    # ------------------------------------------------------------------ state

    def _fresh(self) -> str | None:
        """The current token when it is good for more than the refresh margin, else None."""
        from specgen_runtime.auth import REFRESH_MARGIN

        if self._static is not None:
            return self._static
        creds = self._creds
        token = getattr(creds, "token", None) if creds is not None else None
        if not isinstance(token, str) or not token:
            return None
        expiry = getattr(creds, "expiry", None)
        if expiry is None:  # google-auth: a token without an expiry does not expire
            return token
        if not isinstance(expiry, _dt.datetime):
            return None
        if expiry.tzinfo is not None:
            expiry = expiry.astimezone(_dt.UTC).replace(tzinfo=None)
        now = _dt.datetime.now(_dt.UTC).replace(tzinfo=None)  # google-auth keeps naive UTC
        if (expiry - now).total_seconds() > REFRESH_MARGIN:
            return token
        return None

    def _load(self) -> Any:
        """The credentials object, scoped (called under the lock, once)."""
        google_auth = _google(self.provider)
        given = self._given
        if given is None:
            given = next((os.environ[e] for e in self._env if os.environ.get(e)), None)
        if given is None:  # Application Default Credentials, whatever their kind
            creds, project = google_auth.default(scopes=list(self._scopes))
            self.project = project or None
            return creds
        if isinstance(given, str):  # a key file's path, or its JSON
            text = given.strip()
            if not text.startswith("{"):
                with open(text, encoding="utf-8") as f:
                    text = f.read()
            given = json.loads(text)
        if isinstance(given, Mapping):
            return self._from_info(dict(given))
        if callable(getattr(given, "refresh", None)):  # a google-auth Credentials of the caller's
            self.project = getattr(given, "project_id", None) or getattr(
                given, "quota_project_id", None
            )
            return google_auth.credentials.with_scopes_if_required(given, list(self._scopes))
        raise TypeError(f"credentials of type {type(given).__name__}")

    def _from_info(self, info: dict[str, Any]) -> Any:
        """Credentials from a key file's JSON, loaded by its declared type (the loaders Google
        recommends for configuration that is not the machine's own: no other kind is accepted)."""
        import importlib

        kind = info.get("type")
        scopes = list(self._scopes)
        if kind == "service_account":
            module: Any = importlib.import_module("google.oauth2.service_account")
            creds = module.Credentials.from_service_account_info(info, scopes=scopes)
        elif kind == "authorized_user":  # gcloud's user credentials
            module = importlib.import_module("google.oauth2.credentials")
            creds = module.Credentials.from_authorized_user_info(info, scopes=scopes)
        else:
            raise ValueError(
                f"credentials of type {kind!r}: pass a service_account or authorized_user key, a "
                "google-auth Credentials object, or use Application Default Credentials"
            )
        project = info.get("project_id") or info.get("quota_project_id")
        self.project = project if isinstance(project, str) else None
        return creds

    def _refresh_locked(self, http: httpx.Client) -> str:
        """Load the credentials if needed and refresh them (the caller holds ``self._lock``)."""
        token = self._fresh()
        if token is not None:
            return token
        google_auth = _google(self.provider)
        exceptions = google_auth.exceptions
        failure: LLMError | None = None
        try:
            if self._creds is None:
                self._creds = self._load()
            self._creds.refresh(_transport(http))
        except exceptions.TransportError as exc:
            failure = APIConnectionError(
                f"Google credentials could not be refreshed: {scrub(str(exc))}",
                provider=self.provider,
            )
        except exceptions.DefaultCredentialsError as exc:
            failure = AuthenticationError(
                "no usable Google credentials: pass credentials= or set "
                + " or ".join((*self._env, "GOOGLE_APPLICATION_CREDENTIALS"))
                + f" ({scrub(str(exc))})",
                provider=self.provider,
                status_code=None,
            )
        except exceptions.GoogleAuthError as exc:  # RefreshError: a refused or revoked credential
            failure = AuthenticationError(
                f"Google credentials were refused: {type(exc).__name__}: {scrub(str(exc))}",
                provider=self.provider,
                status_code=None,
            )
        except (ValueError, TypeError, KeyError, OSError) as exc:  # a malformed key file or JSON
            failure = AuthenticationError(
                f"the Google credentials could not be read: {type(exc).__name__}"
                + (
                    f": {scrub(str(exc))}"
                    if isinstance(exc, ValueError) and "type" in str(exc)
                    else ""
                ),
                provider=self.provider,
                status_code=None,
            )
        if failure is not None:  # raised outside the handler: no google-auth context
            raise failure
        token = getattr(self._creds, "token", None)
        if not isinstance(token, str) or not token:
            raise AuthenticationError(
                "Google credentials gave no access token", provider=self.provider, status_code=None
            )
        register_secret(token)
        return token

    # ------------------------------------------------------------------ callers

    def get(self, http: httpx.Client) -> str:
        """The token, refreshed with ``http`` when there is none or it is about to expire."""
        token = self._fresh()
        if token is not None:
            return token
        with self._lock:
            return self._refresh_locked(http)

    def _get_own(self) -> str:
        """:meth:`get` through a private sync client (from a worker thread of :meth:`aget`)."""
        with self._lock:
            if self._own_http is None:
                import httpx

                from specgen_runtime.http import shared_ssl_context

                self._own_http = httpx.Client(timeout=TOKEN_TIMEOUT, verify=shared_ssl_context())
            return self._refresh_locked(self._own_http)

    async def aget(self, http: Any = None) -> str:
        """The async twin of :meth:`get`: concurrent tasks share one refresh, run in a thread."""
        token = self._fresh()
        if token is not None:
            return token
        loop = asyncio.get_running_loop()
        lock = self._alocks.setdefault(id(loop), asyncio.Lock())
        async with lock:
            token = self._fresh()
            if token is not None:
                return token
            return await asyncio.to_thread(self._get_own)

    def close(self) -> None:
        """Close the private client token refreshes of async callers use."""
        if self._own_http is not None:
            self._own_http.close()
            self._own_http = None
