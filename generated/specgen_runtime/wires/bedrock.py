"""The Amazon Bedrock Converse wire: OpenAI messages → ``system`` + alternating ``messages`` of
content blocks (``text``, ``image``, ``document``, ``toolUse``, ``toolResult``, ``reasoningContent``,
``cachePoint``); a Converse response (``output.message``) → an OpenAI completion; a ConverseStream's
events (``messageStart``, ``contentBlockStart``/``Delta``/``Stop``, ``messageStop``, ``metadata``),
each an object of one member as the AWS event stream decoder gives it, → chunks. Embeddings go
through InvokeModel, whose body is the model's own: ``inputText`` (one text per call) or ``texts``
(a list), as the spec's ``embeddings`` params say."""

from __future__ import annotations

import re
from typing import Any

from specgen_runtime.core import MISSING, StreamState, UnsupportedValue
from specgen_runtime.transforms import TOOLS_SAMPLE, function_tools, transform
from specgen_runtime.wires._common import (
    Choices,
    Message,
    StreamChoices,
    arguments,
    as_list,
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
    "embeddings_data",
    "embeddings_request",
    "one_text",
    "openai_tool_choice_to_bedrock",
    "openai_tools_to_bedrock",
    "stream_choices",
]

NAME = "bedrock"
MODES = frozenset({"chat", "embeddings"})
STREAMS = True  # each event of a ConverseStream is read whole (``stream.format: bedrock``)
PASSTHROUGH = False
RESPONSE_DEFAULTS: dict[str, str] = {}
CHOICE_PREFIX = ""
PARAMS_ROOT: dict[str, tuple[str, ...]] = {}

#: media type → Converse image format
_IMAGE_FORMATS = {
    "image/png": "png",
    "image/jpeg": "jpeg",
    "image/jpg": "jpeg",
    "image/gif": "gif",
    "image/webp": "webp",
}
#: media type → Converse document format
_DOCUMENT_FORMATS = {
    "application/pdf": "pdf",
    "text/csv": "csv",
    "application/msword": "doc",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.ms-excel": "xls",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "text/html": "html",
    "text/plain": "txt",
    "text/markdown": "md",
}
#: Converse's rule for a document name: letters, digits, spaces, hyphens, parentheses, brackets
_DOC_NAME_BAD = re.compile(r"[^A-Za-z0-9 \-()\[\]]+")
_CACHE_POINT = {"cachePoint": {"type": "default"}}


def _image_block(url: str) -> dict[str, Any]:
    if url.startswith("s3://"):
        fmt = url.rsplit(".", 1)[-1].lower()
        fmt = "jpeg" if fmt == "jpg" else fmt
        if fmt not in _IMAGE_FORMATS.values():
            raise ValueError("an s3:// image needs a .png, .jpeg, .gif or .webp name")
        return {"image": {"format": fmt, "source": {"s3Location": {"uri": url}}}}
    parsed = parse_data_url(url)
    if parsed is None:
        raise ValueError(
            "Bedrock Converse takes images as base64 data URLs or s3:// locations, not fetched URLs"
        )
    image_format = _IMAGE_FORMATS.get(parsed[0].lower())
    if image_format is None:
        raise ValueError(f"image type {parsed[0]!r} is not one Bedrock Converse takes")
    return {"image": {"format": image_format, "source": {"bytes": parsed[1]}}}


def _document_block(file: dict[str, Any], n: int) -> dict[str, Any]:
    data = file.get("file_data")
    parsed = parse_data_url(str(data)) if isinstance(data, str) else None
    if parsed is None:
        raise ValueError("file parts need base64 file_data (a data URL)")
    media = parsed[0].lower()
    if media in _IMAGE_FORMATS:
        return _image_block(str(data))
    fmt = _DOCUMENT_FORMATS.get(media)
    if fmt is None:
        raise ValueError(f"document type {parsed[0]!r} is not one Bedrock Converse takes")
    raw_name = str(file.get("filename") or f"document {n}").rsplit(".", 1)[0]
    name = _DOC_NAME_BAD.sub(" ", raw_name).strip() or f"document {n}"
    return {"document": {"format": fmt, "name": name, "source": {"bytes": parsed[1]}}}


def _blocks(content: Any) -> list[dict[str, Any]]:
    """OpenAI message content → Converse content blocks; a part's ``cache_control`` → a cachePoint."""
    if isinstance(content, str):
        return [{"text": content}] if content else []
    if content is None:
        return []
    if not isinstance(content, list):
        raise ValueError("message content must be a string or a list of parts")
    out: list[dict[str, Any]] = []
    for n, part in enumerate(content):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text":
            text = part.get("text")
            if not isinstance(text, str):
                raise ValueError("a text part needs a string 'text'")
            if not text:
                continue
            out.append({"text": text})
        elif kind == "image_url":
            out.append(_image_block(image_url(part)))
        elif kind == "file":
            out.append(_document_block(part.get("file") or {}, n))
        elif isinstance(part, dict) and kind is None and len(part) == 1:
            out.append(dict(part))  # already a Converse block ({"cachePoint": ...}, {"video": ...})
            continue
        else:
            raise ValueError(f"content part type {kind!r} is not supported by the bedrock format")
        if isinstance(part, dict) and part.get("cache_control"):
            out.append(dict(_CACHE_POINT))
    return out


def _tool_result(m: Message) -> dict[str, Any]:
    content = m.get("content")
    blocks: list[dict[str, Any]]
    if isinstance(content, list):
        blocks = [b for b in _blocks(content) if "text" in b or "image" in b or "document" in b]
    else:
        blocks = [{"text": text_of(content)}]
    if not blocks:
        blocks = [{"text": ""}]
    return {"toolResult": {"toolUseId": str(m.get("tool_call_id", "")), "content": blocks}}


def chat_request(body: dict[str, Any], messages: Any) -> None:
    """System/developer messages → ``system``; tool results → user ``toolResult`` blocks; assistant
    tool calls → ``toolUse`` blocks; consecutive messages of one role are merged (Converse wants
    the roles to alternate)."""
    system: list[dict[str, Any]] = []
    out: list[Message] = []
    for m in messages_of(messages):
        role = m["role"]
        if role in ("system", "developer"):
            system.extend(_blocks(m.get("content")))
            continue
        if role == "tool":
            blocks, role = [_tool_result(m)], "user"
        elif role == "assistant":
            blocks = []
            for tb in m.get("thinking_blocks") or ():
                if isinstance(tb, dict) and tb.get("type") == "thinking":
                    text = {"text": tb.get("thinking", "")}
                    if tb.get("signature"):
                        text["signature"] = tb["signature"]
                    blocks.append({"reasoningContent": {"reasoningText": text}})
                elif isinstance(tb, dict) and tb.get("type") == "redacted_thinking":
                    blocks.append({"reasoningContent": {"redactedContent": tb.get("data", "")}})
            blocks.extend(_blocks(m.get("content")))
            for call in m.get("tool_calls") or ():
                fn = call.get("function") or {}
                blocks.append(
                    {
                        "toolUse": {
                            "toolUseId": str(call.get("id", "")),
                            "name": str(fn.get("name", "")),
                            "input": arguments(fn.get("arguments")),
                        }
                    }
                )
        elif role == "user":
            blocks = _blocks(m.get("content"))
        else:
            raise ValueError(f"role {role!r} is not supported by the bedrock format")
        if out and out[-1]["role"] == role:
            out[-1]["content"].extend(blocks)
        else:
            out.append({"role": role, "content": blocks})
    if system:
        body["system"] = system
    body["messages"] = out


def chat_finalize(body: dict[str, Any]) -> None:
    """Converse refuses ``toolUse``/``toolResult`` blocks in a request with no ``toolConfig``: the
    tools the history used are declared (with an open schema) when the caller gave none."""
    config = body.get("toolConfig")
    if config is not None:
        return
    used: dict[str, None] = {}
    for message in body.get("messages") or ():
        for block in message.get("content") or ():
            use = block.get("toolUse") if isinstance(block, dict) else None
            if isinstance(use, dict) and isinstance(use.get("name"), str):
                used[use["name"]] = None
    if used:
        body["toolConfig"] = {
            "tools": [
                {"toolSpec": {"name": name, "inputSchema": {"json": {"type": "object"}}}}
                for name in used
            ]
        }


def _message_of(data: dict[str, Any]) -> Message:
    texts: list[str] = []
    thinking: list[str] = []
    thinking_blocks: list[dict[str, Any]] = []
    calls: list[dict[str, Any]] = []
    output = data.get("output")
    if not isinstance(output, dict):
        raise TypeError("the response has no output object")
    message = output.get("message")
    if not isinstance(message, dict):
        raise TypeError("output.message is not an object")
    content = message.get("content")
    for block in as_list([] if content is None else content, "output.message.content"):
        if not isinstance(block, dict):
            raise TypeError(f"a content block is a {type(block).__name__}")
        if "text" in block:
            if not isinstance(block["text"], str):
                raise TypeError("a text block's text is not a string")
            texts.append(block["text"])
        elif "toolUse" in block:
            use = block["toolUse"]
            calls.append(tool_call(use["toolUseId"], use["name"], use.get("input") or {}))
        elif "reasoningContent" in block:
            reasoning = block["reasoningContent"]
            text = reasoning.get("reasoningText") if isinstance(reasoning, dict) else None
            if isinstance(text, dict):
                thinking.append(str(text.get("text", "")))
                tb: dict[str, Any] = {"type": "thinking", "thinking": text.get("text", "")}
                if text.get("signature"):
                    tb["signature"] = text["signature"]
                thinking_blocks.append(tb)
            elif isinstance(reasoning, dict) and "redactedContent" in reasoning:
                thinking_blocks.append(
                    {"type": "redacted_thinking", "data": reasoning["redactedContent"]}
                )
    out = assistant_message("".join(texts) if texts else None, calls, "".join(thinking) or None)
    if thinking_blocks:
        out["thinking_blocks"] = thinking_blocks
    return out


def chat_choices(data: dict[str, Any]) -> Choices:
    return [(data, _message_of(data), 0)]


def _member(obj: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The one member of a stream event (``{"contentBlockDelta": {...}}``)."""
    for name, value in obj.items():
        if isinstance(value, dict):
            return name, value
        raise TypeError(f"stream event {name!r} is a {type(value).__name__}, not an object")
    return "", {}


def stream_choices(obj: dict[str, Any], state: StreamState) -> StreamChoices:
    """One ConverseStream event → at most one choice delta; ``metadata`` (usage) gives none."""
    name, event = _member(obj)
    if name == "messageStart":
        return [(0, {}, None)]
    if name == "contentBlockStart":
        use = (event.get("start") or {}).get("toolUse")
        if not isinstance(use, dict):
            return []  # an image or a server tool's block: no client tool call
        index = state.tool_index(event.get("contentBlockIndex"))
        call = {
            "index": index,
            "id": use.get("toolUseId"),
            "type": "function",
            "function": {"name": use.get("name"), "arguments": ""},
        }
        return [(0, {"tool_calls": [call]}, None)]
    if name == "contentBlockDelta":
        delta = event.get("delta")
        if not isinstance(delta, dict):
            raise TypeError("contentBlockDelta.delta is not an object")
        if isinstance(delta.get("text"), str):
            return [(0, {"content": delta["text"]}, None)]
        use = delta.get("toolUse")
        if isinstance(use, dict):
            known = state.known_tool(event.get("contentBlockIndex"))
            if known is None:
                return []
            piece = use.get("input")
            text = piece if isinstance(piece, str) else ""
            return [(0, {"tool_calls": [{"index": known, "function": {"arguments": text}}]}, None)]
        reasoning = delta.get("reasoningContent")
        if isinstance(reasoning, dict) and isinstance(reasoning.get("text"), str):
            return [(0, {"reasoning_content": reasoning["text"]}, None)]
        return []  # a signature, redacted reasoning, a citation: nothing OpenAI's delta holds
    if name == "messageStop":
        return [(0, {}, event.get("stopReason"))]
    return []  # contentBlockStop, metadata (its usage is read by the spec's usage paths)


def embeddings_request(body: dict[str, Any], inputs: Any, model: str) -> None:
    """The inputs where the spec's ``embeddings.params.input`` put them is all InvokeModel needs:
    the body is the model's own; nothing more is added."""
    del inputs, model


def embeddings_data(data: dict[str, Any]) -> list[dict[str, Any]]:
    """``embedding`` (one vector) or ``embeddings`` (a list of vectors, or a map of them by type)."""
    one = data.get("embedding")
    if one is not None:
        return [{"object": "embedding", "index": 0, "embedding": as_list(one, "embedding")}]
    many = data.get("embeddings")
    if isinstance(many, dict):  # embedding_types asked: {"float": [...]}
        many = many.get("float") if "float" in many else next(iter(many.values()), None)
    vectors = as_list(many, "embeddings")
    return [{"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vectors)]


# --------------------------------------------------------------------------- transforms


@transform(sample=TOOLS_SAMPLE)
def openai_tools_to_bedrock(value: Any) -> list[dict[str, Any]]:
    """OpenAI ``tools`` → Converse ``toolConfig.tools`` (``toolSpec`` with an ``inputSchema.json``);
    a tool's ``cache_control`` adds a cachePoint after it."""
    out: list[dict[str, Any]] = []
    for tool in function_tools(value):
        if not isinstance(tool, dict):
            raise ValueError("each tool must be an object")
        if tool.get("type") == "function" and isinstance(tool.get("function"), dict):
            fn = tool["function"]
            spec: dict[str, Any] = {"name": fn["name"]}
            if fn.get("description"):
                spec["description"] = fn["description"]
            spec["inputSchema"] = {
                "json": fn.get("parameters") or {"type": "object", "properties": {}}
            }
            out.append({"toolSpec": spec})
            if tool.get("cache_control"):
                out.append(dict(_CACHE_POINT))
        else:  # already a Converse tool ({"toolSpec": ...}, {"systemTool": ...}, {"cachePoint": ...})
            out.append(tool)
    return out


@transform(sample="required")
def openai_tool_choice_to_bedrock(value: Any) -> Any:
    """``auto``/``required``/``{"type":"function",...}`` → Converse ``toolChoice``
    (``{"auto": {}}``, ``{"any": {}}``, ``{"tool": {"name": ...}}``). Converse has no ``none``:
    no tool choice is sent (the model may still call a tool)."""
    if value == "none":
        return MISSING
    if value == "auto":
        return {"auto": {}}
    if value == "required":
        return {"any": {}}
    if isinstance(value, dict):
        if value.get("type") == "function":
            return {"tool": {"name": value["function"]["name"]}}
        if len(value) == 1 and next(iter(value)) in ("auto", "any", "tool"):
            return dict(value)
    raise ValueError(f"unsupported tool_choice {value!r}")


@transform(sample="Hello")
def one_text(value: Any) -> str:
    """An embeddings ``input`` a model takes one text of per call (Titan's ``inputText``): a string,
    or a list holding one; a longer list is refused (send one call per text)."""
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        raise UnsupportedValue("this model embeds one text per call; send one call per text")
    raise ValueError("input must be a string (or a list holding one)")
