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
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "ServiceUnavailableError",
    "StreamInterruptedError",
    "Timeout",
    "UnprocessableEntityError",
    "UnsupportedParamsError",
    "default_error_class",
    "scrub",
]


_SECRETS: set[str] = set()


def register_secret(value: str | None) -> None:
    """Remember a secret so that :func:`scrub` removes it from error text."""
    if value and len(value) >= 4:
        _SECRETS.add(value)


def scrub(text: str) -> str:
    """Return ``text`` with every registered secret replaced by ``***``."""
    for secret in _SECRETS:
        if secret in text:
            text = text.replace(secret, "***")
    return text


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
        self.message = scrub(str(message))
        self.provider = provider
        self.model = model
        if status_code is not None:
            self.status_code = status_code
        self.code = code
        self.retryable = self.default_retryable if retryable is None else retryable
        self.retry_after = retry_after
        self.body = body
        super().__init__(self.message)

    @property
    def status(self) -> int | None:
        return self.status_code

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


class ContextWindowExceededError(BadRequestError):
    pass


class ContentPolicyViolationError(BadRequestError):
    pass


class AuthenticationError(LLMError):
    status_code = 401


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
    }.get(status) or (InternalServerError if status >= 500 else BadRequestError if status >= 400 else LLMError)
