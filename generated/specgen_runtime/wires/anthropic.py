"""The Anthropic Messages wire: OpenAI messages → ``system`` + alternating ``messages`` of content
blocks; a Message → an OpenAI completion (client ``tool_use`` blocks are the tool calls; server
tools' blocks are the provider's own business). Streams are read by the spec's event table."""

from __future__ import annotations

from typing import Any

from specgen_runtime.core import MISSING, UnsupportedValue
from specgen_runtime.transforms import TOOLS_SAMPLE, function_tools, transform
from specgen_runtime.wires._common import (
    Choices,
    Message,
    arguments,
    assistant_message,
    image_url,
    messages_of,
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
    "openai_tool_choice_to_anthropic",
    "openai_tools_to_anthropic",
    "parallel_tool_calls_to_anthropic",
    "reasoning_effort_to_anthropic_thinking",
    "response_format_to_anthropic",
]

NAME = "anthropic"
MODES = frozenset({"chat"})
STREAMS = False  # Anthropic's stream is an event table in the spec, not whole objects
PASSTHROUGH = False
RESPONSE_DEFAULTS: dict[str, str] = {}
CHOICE_PREFIX = ""
PARAMS_ROOT: dict[str, tuple[str, ...]] = {}


def _anthropic_content(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    if content is None:
        return []
    if not isinstance(content, list):
        raise ValueError("message content must be a string or a list of parts")
    blocks: list[dict[str, Any]] = []
    for part in content:
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text":
            block: dict[str, Any] = {"type": "text", "text": part.get("text", "")}
        elif kind == "image_url":
            url = image_url(part)
            parsed = parse_data_url(url)
            source = (
                {"type": "base64", "media_type": parsed[0], "data": parsed[1]}
                if parsed
                else {"type": "url", "url": url}
            )
            block = {"type": "image", "source": source}
        elif kind == "file":
            file = part.get("file") or {}
            parsed = parse_data_url(str(file.get("file_data", "")))
            if not parsed:
                raise ValueError("file parts need base64 file_data")
            block = {
                "type": "document",
                "source": {"type": "base64", "media_type": parsed[0], "data": parsed[1]},
            }
        elif kind in (
            "image",
            "document",
            "tool_result",
            "tool_use",
            "thinking",
            "redacted_thinking",
        ):
            block = dict(part)  # already an Anthropic block
        else:
            raise ValueError(f"content part type {kind!r} is not supported by the anthropic format")
        if isinstance(part, dict) and "cache_control" in part:
            block["cache_control"] = part["cache_control"]
        blocks.append(block)
    return blocks


def chat_request(body: dict[str, Any], messages: Any) -> None:
    """System/developer messages → ``system``; tool results → user ``tool_result`` blocks; roles alternate."""
    system: list[dict[str, Any]] = []
    out: list[Message] = []
    for m in messages_of(messages):
        role = m["role"]
        if role in ("system", "developer"):
            system.extend(_anthropic_content(m.get("content")))
            continue
        if role == "tool":
            content = m.get("content")
            result: dict[str, Any] = {
                "type": "tool_result",
                "tool_use_id": m.get("tool_call_id", ""),
            }
            if isinstance(content, list):
                result["content"] = _anthropic_content(content)
            else:
                result["content"] = text_of(content)
            blocks, role = [result], "user"
        elif role == "assistant":
            blocks = []
            for tb in m.get("thinking_blocks") or ():
                blocks.append(dict(tb))
            blocks.extend(_anthropic_content(m.get("content")))
            for call in m.get("tool_calls") or ():
                fn = call.get("function") or {}
                blocks.append(
                    {
                        "type": "tool_use",
                        "id": call.get("id", ""),
                        "name": fn.get("name", ""),
                        "input": arguments(fn.get("arguments")),
                    }
                )
        elif role == "user":
            blocks = _anthropic_content(m.get("content"))
        else:
            raise ValueError(f"role {role!r} is not supported by the anthropic format")
        if out and out[-1]["role"] == role:
            out[-1]["content"].extend(blocks)
        else:
            out.append({"role": role, "content": blocks})
    if system:
        if all(set(b) == {"type", "text"} for b in system):
            body["system"] = "\n\n".join(b["text"] for b in system)
        else:
            body["system"] = system
    body["messages"] = out


def chat_finalize(body: dict[str, Any]) -> None:
    choice = body.get("tool_choice")
    if isinstance(choice, dict) and "type" not in choice:
        choice["type"] = "auto"
    if "tools" not in body:
        # Anthropic refuses tool_use/tool_result blocks in a request that defines no tools ("Requests
        # which include tool_use or tool_result blocks must define tools"): declare the tools the
        # history used, and unless the caller chose otherwise, let the model call none of them
        used: dict[str, None] = {}
        for message in body.get("messages") or ():
            for block in (
                message.get("content") or () if isinstance(message.get("content"), list) else ()
            ):
                if (
                    isinstance(block, dict)
                    and block.get("type") == "tool_use"
                    and isinstance(block.get("name"), str)
                ):
                    used[block["name"]] = None
        if used:
            body["tools"] = [{"name": name, "input_schema": {"type": "object"}} for name in used]
            body.setdefault("tool_choice", {"type": "none"})


def _message_of(data: dict[str, Any]) -> Message:
    texts: list[str] = []
    thinking: list[str] = []
    thinking_blocks: list[dict[str, Any]] = []
    calls: list[dict[str, Any]] = []
    blocks = data.get("content") or ()
    if not isinstance(blocks, list | tuple):
        raise TypeError(f"content is a {type(blocks).__name__}, not a list of blocks")
    for block in blocks:
        kind = block.get("type")
        if kind == "text":
            texts.append(block["text"])
        elif kind == "tool_use":
            calls.append(tool_call(block["id"], block["name"], block.get("input") or {}))
        elif kind == "thinking":
            thinking.append(block.get("thinking", ""))
            thinking_blocks.append(block)
        elif kind == "redacted_thinking":
            thinking_blocks.append(block)
    message = assistant_message("".join(texts) if texts else None, calls, "".join(thinking) or None)
    if thinking_blocks:
        message["thinking_blocks"] = thinking_blocks
    return message


def chat_choices(data: dict[str, Any]) -> Choices:
    return [(data, _message_of(data), 0)]


# --------------------------------------------------------------------------- transforms


@transform(sample=TOOLS_SAMPLE)
def openai_tools_to_anthropic(value: Any) -> list[dict[str, Any]]:
    """OpenAI ``tools`` → Anthropic ``tools`` (``name``, ``description``, ``input_schema``)."""
    out: list[dict[str, Any]] = []
    for tool in function_tools(value):
        if not isinstance(tool, dict):
            raise ValueError("each tool must be an object")
        if tool.get("type") == "function" and isinstance(tool.get("function"), dict):
            fn = tool["function"]
            converted: dict[str, Any] = {"name": fn["name"]}
            if fn.get("description"):
                converted["description"] = fn["description"]
            converted["input_schema"] = fn.get("parameters") or {"type": "object", "properties": {}}
            if "cache_control" in tool:
                converted["cache_control"] = tool["cache_control"]
            out.append(converted)
        else:  # already an Anthropic tool (server tools such as web_search)
            out.append(tool)
    return out


@transform(sample="required")
def openai_tool_choice_to_anthropic(value: Any) -> dict[str, Any]:
    """``auto``/``required``/``none``/``{"type":"function",...}`` → Anthropic ``tool_choice``."""
    if value == "auto":
        return {"type": "auto"}
    if value == "required":
        return {"type": "any"}
    if value == "none":
        return {"type": "none"}
    if isinstance(value, dict):
        if value.get("type") == "function":
            return {"type": "tool", "name": value["function"]["name"]}
        if value.get("type") in ("auto", "any", "tool", "none"):
            return dict(value)
    raise ValueError(f"unsupported tool_choice {value!r}")


@transform(sample=False)
def parallel_tool_calls_to_anthropic(value: Any) -> dict[str, Any]:
    """``parallel_tool_calls`` → ``tool_choice.disable_parallel_tool_use`` (merged into tool_choice)."""
    return {"disable_parallel_tool_use": not bool(value)}


_ANTHROPIC_BUDGETS = {"minimal": 1024, "low": 1024, "medium": 2048, "high": 4096}


@transform(sample="low")
def reasoning_effort_to_anthropic_thinking(value: Any) -> dict[str, Any]:
    if value in ("none", None):
        return {"type": "disabled"}
    if value not in _ANTHROPIC_BUDGETS:
        raise ValueError(f"reasoning_effort must be one of {sorted(_ANTHROPIC_BUDGETS)} or 'none'")
    return {"type": "enabled", "budget_tokens": _ANTHROPIC_BUDGETS[value]}


@transform(
    sample={
        "type": "json_schema",
        "json_schema": {
            "name": "city",
            "schema": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
                "additionalProperties": False,
            },
        },
    }
)
def response_format_to_anthropic(value: Any) -> Any:
    """→ Anthropic ``output_config`` (merged): ``{"format": {"type": "json_schema", "schema": ...}}``
    for a json_schema (structured outputs); ``{"type": "text"}`` (the default) sends nothing.
    ``json_object`` has no Anthropic equivalent (a schema is required) and is refused."""
    if not isinstance(value, dict):
        raise ValueError("response_format must be an object")
    kind = value.get("type")
    if kind == "text":
        return MISSING
    if kind == "json_schema":
        schema = (value.get("json_schema") or {}).get("schema")
        if not isinstance(schema, dict):
            raise ValueError("response_format json_schema needs json_schema.schema (an object)")
        return {"format": {"type": "json_schema", "schema": schema}}
    raise UnsupportedValue("Anthropic structured outputs take a schema (send type json_schema)")
