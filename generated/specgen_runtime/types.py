"""OpenAI-shaped result types.

Each result is a thin, typed view over the exact OpenAI wire dict the adapter
built: construction costs one object, attribute access reads the dict, and
``to_dict()`` hands back the wire JSON itself.  Nested views are made on access.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, TypedDict

__all__ = [
    "ChatCompletion",
    "ChatCompletionChunk",
    "Choice",
    "ChunkChoice",
    "Delta",
    "Embedding",
    "EmbeddingResponse",
    "Function",
    "Message",
    "ModelInfo",
    "TextChoice",
    "TextCompletion",
    "TextCompletionChunk",
    "ToolCall",
    "Usage",
    "WireView",
]


class WireView:
    """Attribute access over an OpenAI wire dict."""

    __slots__ = ("_data",)

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    def to_dict(self) -> dict[str, Any]:
        """The exact OpenAI wire JSON of this object (the dict itself; do not mutate it)."""
        return self._data

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def get(self, key: str, default: Any = None) -> Any:
        return self._data.get(key, default)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, WireView):
            return type(self) is type(other) and self._data == other._data
        if isinstance(other, dict):
            return self._data == other
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._data!r})"


class Usage(WireView):
    __slots__ = ()

    @property
    def prompt_tokens(self) -> int | None:
        v = self._data.get("prompt_tokens")
        return v if isinstance(v, int) else None

    @property
    def completion_tokens(self) -> int | None:
        v = self._data.get("completion_tokens")
        return v if isinstance(v, int) else None

    @property
    def total_tokens(self) -> int | None:
        v = self._data.get("total_tokens")
        return v if isinstance(v, int) else None


class Function(WireView):
    __slots__ = ()

    @property
    def name(self) -> str | None:
        v = self._data.get("name")
        return v if isinstance(v, str) else None

    @property
    def arguments(self) -> str | None:
        v = self._data.get("arguments")
        return v if isinstance(v, str) else None


class ToolCall(WireView):
    __slots__ = ()

    @property
    def index(self) -> int | None:
        v = self._data.get("index")
        return v if isinstance(v, int) else None

    @property
    def id(self) -> str | None:
        v = self._data.get("id")
        return v if isinstance(v, str) else None

    @property
    def type(self) -> str | None:
        v = self._data.get("type")
        return v if isinstance(v, str) else None

    @property
    def function(self) -> Function:
        return Function(self._data.get("function") or {})


def _tool_calls(data: dict[str, Any]) -> list[ToolCall] | None:
    calls = data.get("tool_calls")
    if not calls:
        return None
    return [ToolCall(c) for c in calls]


class Message(WireView):
    __slots__ = ()

    @property
    def role(self) -> str:
        return str(self._data.get("role", "assistant"))

    @property
    def content(self) -> str | None:
        v = self._data.get("content")
        return v if isinstance(v, str) else None

    @property
    def reasoning_content(self) -> str | None:
        v = self._data.get("reasoning_content")
        return v if isinstance(v, str) else None

    @property
    def refusal(self) -> str | None:
        v = self._data.get("refusal")
        return v if isinstance(v, str) else None

    @property
    def tool_calls(self) -> list[ToolCall] | None:
        return _tool_calls(self._data)

    @property
    def images(self) -> list[dict[str, Any]] | None:
        """Generated images, ``[{"type": "image_url", "image_url": {"url": "data:image/png;base64,..."}}]``
        (OpenRouter's form; Gemini image-output models), or None."""
        v = self._data.get("images")
        return v if isinstance(v, list) else None


class Delta(Message):
    __slots__ = ()

    @property
    def role(self) -> str:  # a delta's role is usually absent
        return str(self._data.get("role") or "")


class Choice(WireView):
    __slots__ = ()

    @property
    def index(self) -> int:
        return int(self._data.get("index", 0))

    @property
    def message(self) -> Message:
        return Message(self._data.get("message") or {})

    @property
    def finish_reason(self) -> str | None:
        v = self._data.get("finish_reason")
        return v if isinstance(v, str) else None


class ChunkChoice(WireView):
    __slots__ = ()

    @property
    def index(self) -> int:
        return int(self._data.get("index", 0))

    @property
    def delta(self) -> Delta:
        return Delta(self._data.get("delta") or {})

    @property
    def finish_reason(self) -> str | None:
        v = self._data.get("finish_reason")
        return v if isinstance(v, str) else None


class _Completion(WireView):
    # (provider, model) where ``completion()`` sent the call (``specgen_runtime.entry`` sets it,
    # ``completion_cost()`` reads it); unset on a result made by calling an adapter directly
    __slots__ = ("_origin",)
    _origin: tuple[str, str]

    @property
    def id(self) -> str:
        return str(self._data.get("id") or "")

    @property
    def object(self) -> str:
        return str(self._data.get("object") or "")

    @property
    def created(self) -> int:
        v = self._data.get("created")
        return v if isinstance(v, int) else 0

    @property
    def model(self) -> str:
        return str(self._data.get("model") or "")

    @property
    def usage(self) -> Usage | None:
        u = self._data.get("usage")
        return Usage(u) if isinstance(u, dict) else None


class ChatCompletion(_Completion):
    __slots__ = ()

    @property
    def choices(self) -> list[Choice]:
        return [Choice(c) for c in self._data.get("choices") or ()]


class ChatCompletionChunk(_Completion):
    __slots__ = ()

    @property
    def choices(self) -> list[ChunkChoice]:
        return [ChunkChoice(c) for c in self._data.get("choices") or ()]


class TextChoice(WireView):
    """One choice of a legacy text completion (``text_completion``): its text, not a message."""

    __slots__ = ()

    @property
    def index(self) -> int:
        return int(self._data.get("index", 0))

    @property
    def text(self) -> str:
        v = self._data.get("text")
        return v if isinstance(v, str) else ""

    @property
    def logprobs(self) -> dict[str, Any] | None:
        v = self._data.get("logprobs")
        return v if isinstance(v, dict) else None

    @property
    def finish_reason(self) -> str | None:
        v = self._data.get("finish_reason")
        return v if isinstance(v, str) else None


class TextCompletion(_Completion):
    """A legacy text completion (OpenAI's ``text_completion`` object), also what FIM calls give."""

    __slots__ = ()

    @property
    def choices(self) -> list[TextChoice]:
        return [TextChoice(c) for c in self._data.get("choices") or ()]


class TextCompletionChunk(_Completion):
    """One chunk of a streamed text completion (a ``text_completion`` object with a piece of text)."""

    __slots__ = ()

    @property
    def choices(self) -> list[TextChoice]:
        return [TextChoice(c) for c in self._data.get("choices") or ()]


class Embedding(WireView):
    __slots__ = ()

    @property
    def index(self) -> int:
        return int(self._data.get("index", 0))

    @property
    def embedding(self) -> list[float]:
        v = self._data.get("embedding")
        return v if isinstance(v, list) else []


class EmbeddingResponse(WireView):
    __slots__ = ("_origin",)  # as on a completion: where ``embedding()`` sent the call
    _origin: tuple[str, str]

    @property
    def model(self) -> str:
        return str(self._data.get("model") or "")

    @property
    def data(self) -> list[Embedding]:
        return [Embedding(e) for e in self._data.get("data") or ()]

    @property
    def usage(self) -> Usage | None:
        u = self._data.get("usage")
        return Usage(u) if isinstance(u, dict) else None


class ModelInfo(TypedDict, total=False):
    """What is known of a model: from the spec's ``models.known`` (``MODELS``) and, for
    ``list_models()``, from the provider's discovery endpoint. Prices are per token, in USD."""

    id: str
    mode: str  # chat (default) | embeddings | completions
    display_name: str
    context_window: int
    max_output: int
    vision: bool
    tools: bool
    reasoning: bool
    response_format: bool
    prompt_caching: bool
    pdf_input: bool
    audio_input: bool
    audio_output: bool
    web_search: bool
    input_cost_per_token: float
    output_cost_per_token: float
    cache_read_input_token_cost: float
    cache_creation_input_token_cost: float
    output_vector_size: int
    created: int
    owned_by: str
    listed: bool  # the provider's discovery endpoint lists it
    known: bool  # the spec declares it (MODELS)
