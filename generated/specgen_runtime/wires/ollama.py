"""The Ollama native wire (``/api/chat``, ``/api/embed``): text content with base64 ``images``,
tool arguments as objects and tool results named by ``tool_name``; responses and NDJSON stream
lines are whole ``message`` objects with ``done``/``done_reason``."""

from __future__ import annotations

from typing import Any

from specgen_runtime.core import MISSING, StreamState
from specgen_runtime.transforms import transform
from specgen_runtime.wires._common import (
    Choices,
    Message,
    StreamChoices,
    arguments,
    as_list,
    assistant_message,
    image_url,
    messages_of,
    new_id,
    parse_data_url,
    text_of,
    tool_call,
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
    "embeddings_data",
    "embeddings_request",
    "reasoning_effort_to_ollama_think",
    "response_format_to_ollama",
    "stream_choices",
]

NAME = "ollama"
MODES = frozenset({"chat", "embeddings"})
STREAMS = True
PASSTHROUGH = False
RESPONSE_DEFAULTS: dict[str, str] = {}
CHOICE_PREFIX = ""
PARAMS_ROOT: dict[str, tuple[str, ...]] = {}


def chat_request(body: dict[str, Any], messages: Any) -> None:
    """OpenAI messages → Ollama ``/api/chat`` messages (text content, base64 ``images``, dict arguments)."""
    out: list[Message] = []
    names: dict[str, str] = {}  # tool call id → function name, for the tool results that follow
    # no messages: Ollama loads the model (and with keep_alive 0 unloads it)
    for m in messages_of(messages, allow_empty=True):
        role = m["role"]
        if role == "developer":
            role = "system"
        msg: Message = {"role": role}
        content = m.get("content")
        images: list[str] = []
        if isinstance(content, list):
            for part in content:
                if isinstance(part, dict) and part.get("type") == "image_url":
                    parsed = parse_data_url(image_url(part))
                    if not parsed:
                        raise ValueError("ollama accepts images only as base64 data: URLs")
                    images.append(parsed[1])
        msg["content"] = text_of(content)
        if images:
            msg["images"] = images
        if m.get("tool_calls"):
            for c in m["tool_calls"]:
                names[str(c.get("id", ""))] = (c.get("function") or {}).get("name", "")
            msg["tool_calls"] = [
                {
                    "function": {
                        "name": (c.get("function") or {}).get("name", ""),
                        "arguments": arguments((c.get("function") or {}).get("arguments")),
                    }
                }
                for c in m["tool_calls"]
            ]
        if role == "tool":
            # Ollama names the tool a result answers (tool_name); OpenAI links it by tool_call_id
            name = m.get("name") or names.get(str(m.get("tool_call_id", "")), "")
            if name:
                msg["tool_name"] = name
        if m.get("thinking"):
            msg["thinking"] = m["thinking"]
        out.append(msg)
    body["messages"] = out


def chat_finalize(body: dict[str, Any]) -> None:
    return None


def _ollama_message(message: dict[str, Any], state: StreamState | None) -> Message:
    calls: list[dict[str, Any]] = []
    for raw in message.get("tool_calls") or ():
        fn = raw["function"]
        call = tool_call(raw.get("id") or new_id("call_"), fn["name"], fn.get("arguments") or {})
        if state is not None:
            call["index"] = state.tool_index(len(state.tool_ids))
        calls.append(call)
    content = message.get("content")
    return assistant_message(
        content if isinstance(content, str) else None, calls, message.get("thinking") or None
    )


def chat_choices(data: dict[str, Any]) -> Choices:
    return [(data, _ollama_message(data["message"], None), 0)]


def stream_choices(obj: dict[str, Any], state: StreamState) -> StreamChoices:
    if isinstance(obj.get("model"), str):
        state.model = obj["model"]
    message = _ollama_message(obj.get("message") or {}, state)
    delta: dict[str, Any] = {}
    if message["content"]:
        delta["content"] = message["content"]
    if "reasoning_content" in message:
        delta["reasoning_content"] = message["reasoning_content"]
    if "tool_calls" in message:
        delta["tool_calls"] = message["tool_calls"]
    raw = obj.get("done_reason") if obj.get("done") else None
    if obj.get("done") and raw is None:
        raw = "stop"
    if not delta and raw is None:
        return []
    return [(0, delta, raw)]


def embeddings_request(body: dict[str, Any], inputs: Any, model: str) -> None:
    body["input"] = inputs


def embeddings_data(data: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"object": "embedding", "index": i, "embedding": e}
        for i, e in enumerate(as_list(data["embeddings"], "embeddings"))
    ]


# --------------------------------------------------------------------------- transforms


@transform(sample={"type": "json_object"})
def response_format_to_ollama(value: Any) -> Any:
    """→ Ollama ``format``: ``"json"`` or a JSON schema; ``{"type": "text"}`` (the default) sends none."""
    if not isinstance(value, dict):
        raise ValueError("response_format must be an object")
    kind = value.get("type")
    if kind == "json_object":
        return "json"
    if kind == "json_schema":
        schema = (value.get("json_schema") or {}).get("schema")
        return schema if schema is not None else "json"
    if kind == "text":
        return MISSING
    raise ValueError(f"unsupported response_format type {kind!r}")


@transform(sample="low")
def reasoning_effort_to_ollama_think(value: Any) -> Any:
    """→ Ollama ``think``: ``false`` for none, else the level (gpt-oss) or ``true``."""
    if value in ("none", None):
        return False
    if value in ("low", "medium", "high"):
        return value
    return True
