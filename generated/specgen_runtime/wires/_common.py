"""What the wire modules share: reading OpenAI messages, building OpenAI results."""

from __future__ import annotations

import json
from typing import Any

from specgen_runtime.shape import new_id

__all__ = [
    "Choices",
    "Message",
    "StreamChoices",
    "arguments",
    "as_list",
    "assistant_message",
    "image_url",
    "messages_of",
    "new_id",
    "parse_data_url",
    "split_parts",
    "text_of",
    "tool_call",
    "with_parts_split",
]

Message = dict[str, Any]
#: ``[(finish_source, message, index)]`` of a response: ``finish_source`` is the object the spec's
#: ``response.finish_reason.from`` path is read on
Choices = list[tuple[dict[str, Any], dict[str, Any], int]]
#: ``[(index, delta, raw_finish_reason)]`` of one stream event
StreamChoices = list[tuple[int, dict[str, Any], Any]]


def messages_of(messages: Any, *, allow_empty: bool = False) -> list[Message]:
    if not isinstance(messages, list) or (not messages and not allow_empty):
        raise ValueError("'messages' must be a non-empty list")
    for m in messages:
        if not isinstance(m, dict) or not isinstance(m.get("role"), str):
            raise ValueError("each message must be an object with a 'role'")
    return messages


def text_of(content: Any) -> str:
    """Plain text of an OpenAI message content (a string or a list of parts)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text"
        )
    raise ValueError("message content must be a string or a list of parts")


def parse_data_url(url: str) -> tuple[str, str] | None:
    """``data:image/png;base64,AAAA`` → (``image/png``, ``AAAA``)."""
    if not url.startswith("data:"):
        return None
    header, sep, data = url[5:].partition(",")
    if not sep or ";base64" not in header:
        raise ValueError("data URLs must be base64-encoded")
    return header.split(";", 1)[0] or "application/octet-stream", data


def image_url(part: dict[str, Any]) -> str:
    image = part.get("image_url")
    url = image.get("url") if isinstance(image, dict) else image
    if not isinstance(url, str):
        raise ValueError("image_url part needs a url")
    return url


def arguments(raw: Any) -> Any:
    """OpenAI tool-call arguments (a JSON string) → an object."""
    if isinstance(raw, dict):
        return raw
    if not raw:
        return {}
    try:
        return json.loads(raw)
    except ValueError:
        raise ValueError(f"tool call arguments are not valid JSON: {raw[:100]!r}") from None


def assistant_message(
    content: str | None, tool_calls: list[dict[str, Any]], reasoning: str | None
) -> Message:
    message: Message = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = tool_calls
    if reasoning:
        message["reasoning_content"] = reasoning
    return message


def tool_call(call_id: str, name: str, arguments: Any) -> dict[str, Any]:
    if not isinstance(arguments, str):
        arguments = json.dumps(arguments, ensure_ascii=False)
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def as_list(value: Any, what: str) -> list[Any]:
    """``value`` when it is a list; a ``TypeError`` (a malformed response) naming ``what`` otherwise."""
    if not isinstance(value, list):
        raise TypeError(f"{what} is a {type(value).__name__}, not a list")
    return value


def split_parts(content: Any) -> tuple[str | None, str | None]:
    """A message content given as a list of typed parts (Mistral's reasoning models): the text of
    its ``text`` parts, and of its ``thinking`` parts (whose ``thinking`` is a string or a list of
    text parts); other part types (references) add nothing."""
    texts: list[str] = []
    thoughts: list[str] = []
    for part in content:
        if isinstance(part, str):
            texts.append(part)
            continue
        if not isinstance(part, dict):
            raise TypeError(f"a content part is a {type(part).__name__}")
        kind = part.get("type")
        if kind == "text" and isinstance(part.get("text"), str):
            texts.append(part["text"])
        elif kind == "thinking":
            inner = part.get("thinking")
            if isinstance(inner, str):
                thoughts.append(inner)
            elif isinstance(inner, list):
                thoughts.extend(
                    p["text"]
                    for p in inner
                    if isinstance(p, dict) and isinstance(p.get("text"), str)
                )
    return ("".join(texts) if texts else None), ("".join(thoughts) if thoughts else None)


def with_parts_split(message: dict[str, Any]) -> dict[str, Any]:
    """``message`` (or a delta) with a list ``content`` split into ``content`` and ``reasoning_content``."""
    content = message.get("content")
    if not isinstance(content, list):
        return message
    text, thought = split_parts(content)
    out = {**message, "content": text}
    if thought is not None:
        out["reasoning_content"] = (out.get("reasoning_content") or "") + thought
    return out
