"""The error hierarchy every generated adapter raises.

Names follow LiteLLM and the OpenAI SDK.  Every error carries the provider, the
model, the HTTP status (when there was one) and the provider's own message; an
API key is never stored on an error and is scrubbed from any text that reaches
one (see :func:`scrub`).
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ERROR_CLASSES",
    "APIConnectionError",
    "APIResponseValidationError",
    "AuthenticationError",
    "BadRequestError",
    "ContentPolicyViolationError",
    "ContextWindowExceededError",
    "InternalServerError",
    "LLMError",
    "MissingExtraError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "ServiceUnavailableError",
    "StreamInterruptedError",
    "Timeout",
    "UnprocessableEntityError",
    "UnsupportedParamsError",
    "default_error_class",
    "default_retryable",
    "scrub",
    "scrub_cut",
    "scrub_value",
]


_SECRETS: set[str] = set()
#: the secrets, longest first: a shorter one inside a longer one (or overlapping it) must not be
#: replaced first and leave the rest of the longer one in the text
_ORDER: tuple[str, ...] = ()


def register_secret(value: str | None) -> None:
    """Remember a secret so that :func:`scrub` removes it from error text."""
    global _ORDER
    if value and len(value) >= 4 and value not in _SECRETS:
        _SECRETS.add(value)
        _ORDER = tuple(sorted(_SECRETS, key=lambda s: (-len(s), s)))


def scrub(text: str) -> str:
    """Return ``text`` with every registered secret replaced by ``***``, the longest first."""
    for secret in _ORDER:
        if secret in text:
            text = text.replace(secret, "***")
    return text


def scrub_cut(text: str, limit: int) -> str:
    """``text`` scrubbed, then cut to ``limit`` characters: redacting first means a cut can never
    leave the beginning of a secret at the end."""
    text = scrub(text)
    return text if len(text) <= limit else text[:limit]


def scrub_value(value: Any) -> Any:
    """A JSON-like value with every registered secret scrubbed from its strings (keys included)."""
    if not _SECRETS:
        return value
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {
            scrub(str(k)) if isinstance(k, str) else k: scrub_value(v) for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [scrub_value(v) for v in value]
    return value


class LLMError(Exception):
    """Base class of every error an adapter raises."""

    status_code: int | None = None
    default_retryable = False

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        model: str | None = None,
        status_code: int | None = None,
        code: str | None = None,
        retryable: bool | None = None,
        retry_after: float | None = None,
        body: Any = None,
    ) -> None:
        # every attribute is scrubbed: a provider may echo the key back anywhere in its error body
        self.message = scrub(str(message))
        self.provider = provider
        self.model = scrub(model) if isinstance(model, str) else model
        if status_code is not None:
            self.status_code = status_code
        self.code = scrub(code) if isinstance(code, str) else code
        self.retryable = self.default_retryable if retryable is None else retryable
        self.retry_after = retry_after
        try:
            self.body = scrub_value(body)
        except RecursionError:  # a body nested deeper than Python recurses: keep none of it
            self.body = None
        super().__init__(self.message)

    @property
    def status(self) -> int | None:
        return self.status_code

    @property
    def llm_provider(self) -> str:
        """LiteLLM's name for :attr:`provider`."""
        return self.provider

    def __str__(self) -> str:
        parts = [self.provider]
        if self.model:
            parts.append(self.model)
        if self.status_code is not None:
            parts.append(str(self.status_code))
        return f"{type(self).__name__} [{' '.join(parts)}]: {self.message}"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(provider={self.provider!r}, model={self.model!r}, "
            f"status_code={self.status_code!r}, message={self.message!r})"
        )


class BadRequestError(LLMError):
    status_code = 400


class UnsupportedParamsError(BadRequestError):
    """A parameter the spec declares unsupported (policy ``refuse``) or out of range;
    ``param`` names it."""

    param: str | None = None
    #: whether ``drop_params`` may leave the param out (it is refused as such, not for its value)
    droppable: bool = False


class ContextWindowExceededError(BadRequestError):
    pass


class ContentPolicyViolationError(BadRequestError):
    pass


class AuthenticationError(LLMError):
    status_code = 401


class MissingExtraError(AuthenticationError):
    """A call needs an optional library that is not installed (google-auth, botocore): the message
    names the extra to install (``pip install 'specgen-providers[gcp]'``). Nothing was sent."""


class PermissionDeniedError(LLMError):
    status_code = 403


class NotFoundError(LLMError):
    status_code = 404


class Timeout(LLMError):
    status_code = 408
    default_retryable = True


class UnprocessableEntityError(LLMError):
    status_code = 422


class RateLimitError(LLMError):
    status_code = 429


class InternalServerError(LLMError):
    status_code = 500


class ServiceUnavailableError(LLMError):
    status_code = 503


class APIConnectionError(LLMError):
    """The request never got an HTTP answer (refused, reset, DNS...)."""

    default_retryable = True


class APIResponseValidationError(LLMError):
    """The provider answered with a body the adapter cannot read (not JSON, wrong shape)."""


class StreamInterruptedError(APIResponseValidationError):
    """A stream ended before its terminator, or a frame could not be decoded."""


ERROR_CLASSES: dict[str, type[LLMError]] = {
    cls.__name__: cls
    for cls in (
        LLMError,
        BadRequestError,
        UnsupportedParamsError,
        ContextWindowExceededError,
        ContentPolicyViolationError,
        AuthenticationError,
        PermissionDeniedError,
        NotFoundError,
        Timeout,
        UnprocessableEntityError,
        RateLimitError,
        InternalServerError,
        ServiceUnavailableError,
        APIConnectionError,
        APIResponseValidationError,
        StreamInterruptedError,
    )
}


def default_error_class(status: int | None) -> type[LLMError]:
    """The class for a status code no error-table row matched."""
    if status is None:
        return LLMError
    return {
        400: BadRequestError,
        401: AuthenticationError,
        403: PermissionDeniedError,
        404: NotFoundError,
        408: Timeout,
        413: BadRequestError,
        422: UnprocessableEntityError,
        429: RateLimitError,
        503: ServiceUnavailableError,
        529: ServiceUnavailableError,
    }.get(status) or (
        InternalServerError if status >= 500 else BadRequestError if status >= 400 else LLMError
    )


#: statuses that are transient whoever sends them (timeouts, rate limits, overload, gateways)
TRANSIENT_STATUSES = frozenset({408, 429, 500, 502, 503, 504, 529})


def default_retryable(status: int | None) -> bool:
    """Whether a status no error-table row matched is worth retrying: a spec that forgets a row for
    a gateway's 502 or an HTML 503 page still gets the retry every provider's docs ask for."""
    return status in TRANSIENT_STATUSES
