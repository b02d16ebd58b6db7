"""AWS Signature Version 4: requests signed with credentials from botocore's chain.

A spec with ``auth: {type: sigv4, service: bedrock, region: region}`` builds requests that carry no
``authorization`` header (unless the caller has an API key: a Bedrock API key is sent as a bearer
token instead) and are marked with the extension :data:`SIGV4` = ``(service, region)``. The client
signs such a request just before sending it (:class:`Signer`); a caller of the sans-I/O
``build_request`` signs it with :func:`sign`.

botocore (the optional extra ``specgen-providers[aws]``) does the work, imported on first use so
that importing an adapter never needs it: its signer (``botocore.auth.SigV4Auth``: the canonical
request, the string to sign, the signing key) and its credential chain (``botocore.session``:
environment variables, the shared credentials and config files and their profiles (``AWS_PROFILE``),
SSO, web identity, the credential process, the container and instance metadata endpoints), whose
temporary credentials it refreshes itself. Neither a secret key nor a session token appears in an
error, a repr or a log line.
"""

from __future__ import annotations

import datetime as _dt
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from specgen_runtime.errors import AuthenticationError, BadRequestError, LLMError, register_secret

if TYPE_CHECKING:
    import httpx

__all__ = ["EXTRA", "SIGV4", "Signer", "require_botocore", "sign", "signing"]

#: ``httpx.Request.extensions`` key of a request the client must sign: ``(service, region)``
SIGV4 = "specgen_sigv4"
#: what to install for ``auth: {type: sigv4}`` and AWS event streams
EXTRA = "specgen-providers[aws]"
#: headers the signature itself writes (never signed, replaced on a re-sign)
_SIGNATURE_HEADERS = ("authorization", "x-amz-date", "x-amz-security-token")


def require_botocore(provider: str, why: str) -> None:
    """Raise a clear error naming the extra to install when botocore is missing."""
    try:
        import botocore  # noqa: F401
    except ImportError:
        missing = True
    else:
        missing = False
    if missing:  # raised outside the handler: the ImportError is no context
        from specgen_runtime.errors import MissingExtraError

        raise MissingExtraError(
            f"{why} needs botocore: pip install '{EXTRA}'", provider=provider, status_code=None
        )


def signing(
    request: httpx.Request, service: str, region: str, *, bearer: bool = True
) -> httpx.Request:
    """Mark ``request`` to be signed for ``service`` in ``region`` (what generated adapters call);
    one that already carries an ``authorization`` header (an API key as a bearer token, or the
    caller's own header) is left alone when ``bearer``."""
    if bearer and "authorization" in request.headers:
        return request
    request.extensions = {**request.extensions, SIGV4: (service, region)}
    return request


def _timestamp(now: _dt.datetime | None) -> str:
    when = now or _dt.datetime.now(_dt.UTC)
    if when.tzinfo is not None:
        when = when.astimezone(_dt.UTC)
    return when.strftime("%Y%m%dT%H%M%SZ")


def sign(
    request: httpx.Request,
    credentials: Any,
    *,
    region: str | None = None,
    service: str | None = None,
    now: _dt.datetime | None = None,
) -> httpx.Request:
    """Sign ``request`` in place with SigV4 and return it: ``credentials`` are botocore
    ``Credentials`` (or anything with ``access_key``, ``secret_key`` and ``token``); ``region`` and
    ``service`` default to the request's :data:`SIGV4` extension. Every header the request has is
    signed (with ``host``), and the body's SHA-256; ``x-amz-date`` (``now``, default the current
    time) and, with a session token, ``x-amz-security-token`` are added."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    marked = request.extensions.get(SIGV4)
    if marked is not None:
        service = service or marked[0]
        region = region or marked[1]
    if not service or not region:
        raise ValueError("sign() needs a service and a region (or a request marked for signing)")
    aws = AWSRequest(method=request.method, url=str(request.url))
    for name, value in request.headers.multi_items():  # a repeated header is signed as one, joined
        if name.lower() not in _SIGNATURE_HEADERS:
            aws.headers[name] = value  # (an HTTPMessage: setting adds another value)
    aws.data = request.content
    auth = SigV4Auth(credentials, service, region)
    # what SigV4Auth.add_auth does, with the timestamp chosen here (the test vectors fix it)
    aws.context["timestamp"] = _timestamp(now)
    auth._modify_request_before_signing(aws)
    canonical = auth.canonical_request(aws)
    string_to_sign = auth.string_to_sign(aws, canonical)
    auth._inject_signature_to_request(aws, auth.signature(string_to_sign, aws))
    for name in _SIGNATURE_HEADERS:
        if name in request.headers:
            del request.headers[name]
        value = aws.headers.get(name)
        if value is not None:
            request.headers[name] = value
    return request


def _given(credentials: Any) -> Any:
    """Credentials a caller passed: botocore's (or anything with ``access_key`` and
    ``secret_key``), or a mapping of ``aws_access_key_id``, ``aws_secret_access_key`` and
    ``aws_session_token`` (the names boto3 takes)."""
    if isinstance(credentials, Mapping):
        from botocore.credentials import Credentials

        return Credentials(
            str(credentials.get("aws_access_key_id") or credentials.get("access_key") or ""),
            str(credentials.get("aws_secret_access_key") or credentials.get("secret_key") or ""),
            credentials.get("aws_session_token") or credentials.get("token"),
        )
    return credentials


class Signer:
    """The AWS credentials of one client, and the signing of its requests.

    ``credentials`` (optional) are the caller's (see :func:`_given`); else botocore's chain finds
    them on first use (``profile``: a shared-config profile, else ``AWS_PROFILE``). Temporary
    credentials are refreshed by botocore when they near their expiry."""

    def __init__(
        self,
        provider: str,
        credentials: Any = None,
        *,
        profile: str | None = None,
        key_env: tuple[str, ...] = (),
    ) -> None:
        self.provider = provider
        self._given = credentials
        self._profile = profile
        self._key_env = key_env
        self._source: Any = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:  # never a key
        return f"Signer(provider={self.provider!r})"

    def _resolve(self) -> Any:
        if self._source is not None:
            return self._source
        with self._lock:
            if self._source is None:
                require_botocore(self.provider, "signing AWS requests (auth: sigv4)")
                if self._given is not None:
                    self._source = _given(self._given)
                else:
                    self._source = self._chain()
        return self._source

    def _chain(self) -> Any:
        import botocore.session

        failure: str | None = None
        found: Any = None
        try:
            session = botocore.session.Session(profile=self._profile)
            found = session.get_credentials()
        except Exception as exc:  # botocore's chain: a bad profile, an SSO token that expired, ...
            failure = f"{type(exc).__name__}: {exc}"
        if failure is not None or found is None:
            keys = " or ".join(self._key_env)
            raise AuthenticationError(
                "no AWS credentials"
                + (f" ({failure})" if failure else "")
                + ": set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or another source of "
                "botocore's credential chain, or pass credentials="
                + (f"; or an API key (api_key= or {keys})" if keys else ""),
                provider=self.provider,
                status_code=None,
            )
        return found

    def ready(self) -> bool:
        """Whether :meth:`credentials` can answer without I/O (found, and not due for a refresh)."""
        source = self._source
        if source is None:
            return False
        due = getattr(source, "refresh_needed", None)
        try:
            return not (callable(due) and due())
        except Exception:  # let credentials() say what is wrong
            return False

    def credentials(self) -> Any:
        """The current credentials (frozen: one consistent key, secret and token)."""
        source = self._resolve()
        failure: str | None = None
        frozen: Any = None
        try:
            get = getattr(source, "get_frozen_credentials", None)
            frozen = get() if get is not None else source
        except LLMError:
            raise
        except Exception as exc:  # a refresh that failed (STS, SSO, the metadata endpoint)
            failure = f"{type(exc).__name__}: {exc}"
        if failure is not None or not getattr(frozen, "access_key", None):
            raise AuthenticationError(
                "AWS credentials could not be obtained" + (f": {failure}" if failure else ""),
                provider=self.provider,
                status_code=None,
            )
        register_secret(getattr(frozen, "secret_key", None))
        register_secret(getattr(frozen, "token", None))
        return frozen

    def sign(self, request: httpx.Request) -> httpx.Request:
        """Sign a request marked with :data:`SIGV4` (others pass unchanged)."""
        marked = request.extensions.get(SIGV4)
        if marked is None:
            return request
        if not marked[1]:
            raise BadRequestError(
                "no AWS region to sign the request for: pass region= (to the client or the call)"
                " or set AWS_REGION",
                provider=self.provider,
            )
        return sign(request, self.credentials())
