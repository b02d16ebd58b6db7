"""The OpenAI chat-completions wire: the request body is OpenAI's, and so are responses and stream
chunks (checked, and passed through). OpenAI-compatible providers speak it with a spec of a few
lines; its quirks (renamed, refused, value-mapped params) are the spec's.

It also serves legacy text completions (``POST /completions``: ``prompt``, optional ``suffix``;
``text_completion`` objects back) and the fill-in-the-middle endpoints modelled on them, whose
answers are shaped like chat completions (``choices[].message.content``, or ``delta.content``
when streamed): a choice's text is read from ``text`` and else from there."""

from __future__ import annotations

from typing import Any

from specgen_runtime.core import StreamState
from specgen_runtime.wires._common import (
    Choices,
    StreamChoices,
    as_list,
    messages_of,
    with_parts_split,
)

__all__ = [
    "CHOICE_PREFIX",
    "MODES",
    "NAME",
    "PARAMS_ROOT",
    "PASSTHROUGH",
    "RESPONSE_DEFAULTS",
    "STREAMS",
    "chat_choices",
    "chat_finalize",
    "chat_request",
    "completions_choices",
    "completions_request",
    "embeddings_data",
    "embeddings_request",
    "stream_choices",
]

NAME = "openai"
MODES = frozenset({"chat", "embeddings", "completions"})
#: stream events are whole chunk objects this wire reads (``stream.format: openai``)
STREAMS = True
#: the response body is already OpenAI's: it is passed through (checked), not rebuilt
PASSTHROUGH = True
#: where a response names these, when the spec says nothing (response.id/created/finish_reason.from)
RESPONSE_DEFAULTS = {"id": "id", "created": "created", "finish_reason": "finish_reason"}
#: conformance: where the first choice of a response lives (its finish reason is read there)
CHOICE_PREFIX = "choices.0."
#: where mapped params go inside the body, per mode (the body root here)
PARAMS_ROOT: dict[str, tuple[str, ...]] = {}


def chat_request(body: dict[str, Any], messages: Any) -> None:
    body["messages"] = messages_of(messages)


def chat_finalize(body: dict[str, Any]) -> None:
    return None


def chat_choices(data: dict[str, Any]) -> Choices:
    out: Choices = []
    for i, choice in enumerate(as_list(data["choices"], "choices")):
        msg = choice.get("message") or {"role": "assistant", "content": None}
        out.append(
            (
                choice,
                with_parts_split(msg) if isinstance(msg, dict) else msg,
                choice.get("index", i),
            )
        )
    return out


def stream_choices(obj: dict[str, Any], state: StreamState) -> StreamChoices:
    """One chunk's choices, for a spec that maps finish reasons or usage (the chunk is rebuilt):
    the chunk's own id and model are kept, as on the pass-through path."""
    if not state.id and isinstance(obj.get("id"), str):
        state.id = obj["id"]
    if isinstance(obj.get("model"), str) and obj["model"]:
        state.model = obj["model"]
    choices = obj.get("choices")
    if choices is None:  # a usage-only chunk may leave them out
        choices = []
    return [
        (
            c.get("index", 0),
            with_parts_split(d) if isinstance(d := c.get("delta") or {}, dict) else d,
            c.get("finish_reason"),
        )
        for c in as_list(choices, "choices")
        if isinstance(c, dict) or _bad(c)
    ]


def _bad(choice: Any) -> bool:
    raise TypeError(f"a choice is a {type(choice).__name__}")


def embeddings_request(body: dict[str, Any], inputs: Any, model: str) -> None:
    body["input"] = inputs


def embeddings_data(data: dict[str, Any]) -> list[dict[str, Any]]:
    return as_list(data["data"], "data")


def completions_request(body: dict[str, Any], prompt: Any, suffix: Any) -> None:
    """A text completion's input: the prompt, and the text after the gap (fill-in-the-middle)."""
    body["prompt"] = prompt
    if suffix is not None:
        body["suffix"] = suffix


def completions_choices(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The ``text_completion`` choices of a response or stream chunk: ``text`` as it is, else
    the content of a chat-shaped choice (``message`` in a response, ``delta`` in a chunk)."""
    out: list[dict[str, Any]] = []
    choices = data.get("choices")
    for i, choice in enumerate(as_list([] if choices is None else choices, "choices")):
        if not isinstance(choice, dict):
            _bad(choice)
        text = choice.get("text")
        if text is None:
            holder = choice.get("message") or choice.get("delta") or {}
            if not isinstance(holder, dict):
                raise TypeError(f"a choice's message is a {type(holder).__name__}")
            text = holder.get("content")
        out.append(
            {
                "index": choice.get("index", i),
                "text": text,
                "logprobs": choice.get("logprobs"),
                "finish_reason": choice.get("finish_reason"),
            }
        )
    return out
