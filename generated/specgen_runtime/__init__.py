"""What generated adapters import.  Never imports the build side (yaml, jinja2, jsonschema).

``INTERFACE`` is the version of what generated code takes from this package (every such name is in
its module's ``__all__``; ``tests/test_runtime_interface.py`` checks it). It changes when one of
those names or its meaning changes; a generated module records the version it was built for and
refuses, at import, to run on a runtime that provides another.
"""

from specgen_runtime.errors import (
    APIConnectionError,
    APIResponseValidationError,
    AuthenticationError,
    BadRequestError,
    ContentPolicyViolationError,
    ContextWindowExceededError,
    InternalServerError,
    LLMError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServiceUnavailableError,
    StreamInterruptedError,
    Timeout,
    UnprocessableEntityError,
    UnsupportedParamsError,
)
from specgen_runtime.types import (
    ChatCompletion,
    ChatCompletionChunk,
    Choice,
    ChunkChoice,
    Delta,
    Embedding,
    EmbeddingResponse,
    Message,
    TextChoice,
    TextCompletion,
    TextCompletionChunk,
    ToolCall,
    Usage,
)

INTERFACE = 2

__all__ = [
    "INTERFACE",
    "APIConnectionError",
    "APIResponseValidationError",
    "AuthenticationError",
    "BadRequestError",
    "ChatCompletion",
    "ChatCompletionChunk",
    "Choice",
    "ChunkChoice",
    "ContentPolicyViolationError",
    "ContextWindowExceededError",
    "Delta",
    "Embedding",
    "EmbeddingResponse",
    "InternalServerError",
    "LLMError",
    "Message",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "ServiceUnavailableError",
    "StreamInterruptedError",
    "TextChoice",
    "TextCompletion",
    "TextCompletionChunk",
    "Timeout",
    "ToolCall",
    "UnprocessableEntityError",
    "UnsupportedParamsError",
    "Usage",
]
