"""Named wire formats: how OpenAI messages and results map onto a provider's shapes.

A spec names a format per mode (``format: anthropic``); the generated code calls
the functions of that format.  Each format is written once here and reused by
every spec that speaks it.

Chat formats give four functions:

- ``<fmt>_chat_request(body, messages)``: write the conversation into ``body``;
- ``<fmt>_chat_choices(data)``: ``[(finish_source, message, index)]`` of a response,
  where ``finish_source`` is the object the spec's ``finish_reason.from`` path is read on;
- ``<fmt>_stream_choices(obj, state)``: ``[(index, delta, raw_finish_reason)]`` of one stream event
  (only for formats whose streams carry whole response objects);
- ``<fmt>_chat_finalize(body)``: last fix-ups once every parameter is placed.

Embeddings formats give ``<fmt>_embeddings_request(body, inputs, model)`` and
``<fmt>_embeddings_data(data)``.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from specgen.runtime.core import StreamState, get_path, read_path

__all__ = ["CHAT_FORMATS", "EMBEDDINGS_FORMATS", "FORMATS"]

Message = dict[str, Any]
Choices = list[tuple[dict[str, Any], dict[str, Any], int]]
StreamChoices = list[tuple[int, dict[str, Any], Any]]


def _messages(messages: Any, *, allow_empty: bool = False) -> list[Message]:
    if not isinstance(messages, list) or (not messages and not allow_empty):
        raise ValueError("'messages' must be a non-empty list")
    for m in messages:
        if not isinstance(m, dict) or not isinstance(m.get("role"), str):
            raise ValueError("each message must be an object with a 'role'")
    return messages


def _text_of(content: Any) -> str:
    """Plain text of an OpenAI message content (a string or a list of parts)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    raise ValueError("message content must be a string or a list of parts")


def _parse_data_url(url: str) -> tuple[str, str] | None:
    """``data:image/png;base64,AAAA`` → (``image/png``, ``AAAA``)."""
    if not url.startswith("data:"):
        return None
    header, sep, data = url[5:].partition(",")
    if not sep or ";base64" not in header:
        raise ValueError("data URLs must be base64-encoded")
    return header.split(";", 1)[0] or "application/octet-stream", data


def _image_url(part: dict[str, Any]) -> str:
    image = part.get("image_url")
    url = image.get("url") if isinstance(image, dict) else image
    if not isinstance(url, str):
        raise ValueError("image_url part needs a url")
    return url


def _arguments(raw: Any) -> Any:
    """OpenAI tool-call arguments (a JSON string) → an object."""
    if isinstance(raw, dict):
        return raw
    if not raw:
        return {}
    try:
        return json.loads(raw)
    except ValueError:
        raise ValueError(f"tool call arguments are not valid JSON: {raw[:100]!r}") from None


def _new_id(prefix: str) -> str:
    return prefix + uuid.uuid4().hex[:24]


def _message(content: str | None, tool_calls: list[dict[str, Any]], reasoning: str | None) -> Message:
    message: Message = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = tool_calls
    if reasoning:
        message["reasoning_content"] = reasoning
    return message


def _tool_call(call_id: str, name: str, arguments: Any) -> dict[str, Any]:
    if not isinstance(arguments, str):
        arguments = json.dumps(arguments, ensure_ascii=False)
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


# --------------------------------------------------------------------------- openai


def openai_chat_request(body: dict[str, Any], messages: Any) -> None:
    body["messages"] = _messages(messages)


def openai_chat_finalize(body: dict[str, Any]) -> None:
    return None


def openai_chat_choices(data: dict[str, Any]) -> Choices:
    out: Choices = []
    for i, choice in enumerate(data["choices"]):
        message = choice.get("message") or {"role": "assistant", "content": None}
        out.append((choice, message, choice.get("index", i)))
    return out


def openai_stream_choices(obj: dict[str, Any], state: StreamState) -> StreamChoices:
    return [(c.get("index", 0), c.get("delta") or {}, c.get("finish_reason")) for c in obj.get("choices") or ()]


def openai_embeddings_request(body: dict[str, Any], inputs: Any, model: str) -> None:
    body["input"] = inputs


def openai_embeddings_data(data: dict[str, Any]) -> list[dict[str, Any]]:
    out = data["data"]
    if not isinstance(out, list):
        raise TypeError("'data' is not a list")
    return out


# --------------------------------------------------------------------------- anthropic


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
            url = _image_url(part)
            parsed = _parse_data_url(url)
            source = (
                {"type": "base64", "media_type": parsed[0], "data": parsed[1]}
                if parsed
                else {"type": "url", "url": url}
            )
            block = {"type": "image", "source": source}
        elif kind == "file":
            file = part.get("file") or {}
            parsed = _parse_data_url(str(file.get("file_data", "")))
            if not parsed:
                raise ValueError("file parts need base64 file_data")
            block = {"type": "document", "source": {"type": "base64", "media_type": parsed[0], "data": parsed[1]}}
        elif kind in ("image", "document", "tool_result", "tool_use", "thinking", "redacted_thinking"):
            block = dict(part)  # already an Anthropic block
        else:
            raise ValueError(f"content part type {kind!r} is not supported by the anthropic format")
        if isinstance(part, dict) and "cache_control" in part:
            block["cache_control"] = part["cache_control"]
        blocks.append(block)
    return blocks


def anthropic_chat_request(body: dict[str, Any], messages: Any) -> None:
    """System/developer messages → ``system``; tool results → user ``tool_result`` blocks; roles alternate."""
    system: list[dict[str, Any]] = []
    out: list[Message] = []
    for m in _messages(messages):
        role = m["role"]
        if role in ("system", "developer"):
            system.extend(_anthropic_content(m.get("content")))
            continue
        if role == "tool":
            content = m.get("content")
            result: dict[str, Any] = {"type": "tool_result", "tool_use_id": m.get("tool_call_id", "")}
            if isinstance(content, list):
                result["content"] = _anthropic_content(content)
            else:
                result["content"] = _text_of(content)
            blocks, role = [result], "user"
        elif role == "assistant":
            blocks = []
            for tb in m.get("thinking_blocks") or ():
                blocks.append(dict(tb))
            blocks.extend(_anthropic_content(m.get("content")))
            for call in m.get("tool_calls") or ():
                fn = call.get("function") or {}
                blocks.append(
                    {"type": "tool_use", "id": call.get("id", ""), "name": fn.get("name", ""), "input": _arguments(fn.get("arguments"))}
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


def anthropic_chat_finalize(body: dict[str, Any]) -> None:
    choice = body.get("tool_choice")
    if isinstance(choice, dict) and "type" not in choice:
        choice["type"] = "auto"
    if "tools" not in body:
        # Anthropic refuses tool_use/tool_result blocks in a request that defines no tools ("Requests
        # which include tool_use or tool_result blocks must define tools"): declare the tools the
        # history used, and unless the caller chose otherwise, let the model call none of them
        used: dict[str, None] = {}
        for message in body.get("messages") or ():
            for block in message.get("content") or () if isinstance(message.get("content"), list) else ():
                if isinstance(block, dict) and block.get("type") == "tool_use" and isinstance(block.get("name"), str):
                    used[block["name"]] = None
        if used:
            body["tools"] = [{"name": name, "input_schema": {"type": "object"}} for name in used]
            body.setdefault("tool_choice", {"type": "none"})


def anthropic_message(data: dict[str, Any]) -> Message:
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
            calls.append(_tool_call(block["id"], block["name"], block.get("input") or {}))
        elif kind == "thinking":
            thinking.append(block.get("thinking", ""))
            thinking_blocks.append(block)
        elif kind == "redacted_thinking":
            thinking_blocks.append(block)
    message = _message("".join(texts) if texts else None, calls, "".join(thinking) or None)
    if thinking_blocks:
        message["thinking_blocks"] = thinking_blocks
    return message


def anthropic_chat_choices(data: dict[str, Any]) -> Choices:
    return [(data, anthropic_message(data), 0)]


# --------------------------------------------------------------------------- gemini


def _gemini_parts(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"text": content}] if content else []
    if content is None:
        return []
    if not isinstance(content, list):
        raise ValueError("message content must be a string or a list of parts")
    parts: list[dict[str, Any]] = []
    for part in content:
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text":
            parts.append({"text": part.get("text", "")})
        elif kind == "image_url":
            url = _image_url(part)
            parsed = _parse_data_url(url)
            if parsed:
                parts.append({"inlineData": {"mimeType": parsed[0], "data": parsed[1]}})
            else:
                image = part.get("image_url")
                mime = image.get("format") if isinstance(image, dict) else None
                file_data: dict[str, Any] = {"fileUri": url}
                if mime:
                    file_data["mimeType"] = mime
                parts.append({"fileData": file_data})
        elif kind == "file":
            file = part.get("file") or {}
            parsed = _parse_data_url(str(file.get("file_data", "")))
            if parsed:
                parts.append({"inlineData": {"mimeType": parsed[0], "data": parsed[1]}})
            elif file.get("file_id"):
                parts.append({"fileData": {"fileUri": file["file_id"]}})
            else:
                raise ValueError("file parts need file_data or file_id")
        else:
            raise ValueError(f"content part type {kind!r} is not supported by the gemini format")
    return parts


def _thought_signature(call: dict[str, Any]) -> str | None:
    """A tool call's Gemini thought signature, as we return it (``extra_content.google``) or as
    LiteLLM-style clients keep it (``provider_specific_fields``)."""
    for holder in (get_path(call, ("extra_content", "google")), call.get("provider_specific_fields")):
        if isinstance(holder, dict) and isinstance(holder.get("thought_signature"), str):
            return str(holder["thought_signature"])
    return None


def gemini_chat_request(body: dict[str, Any], messages: Any) -> None:
    """System → ``systemInstruction``; assistant → ``model``; tool results → ``functionResponse`` parts."""
    system: list[dict[str, Any]] = []
    contents: list[dict[str, Any]] = []
    names: dict[str, str] = {}
    for m in _messages(messages):
        role = m["role"]
        if role in ("system", "developer"):
            system.extend(_gemini_parts(m.get("content")))
            continue
        if role == "assistant":
            parts = _gemini_parts(m.get("content"))
            for call in m.get("tool_calls") or ():
                fn = call.get("function") or {}
                names[call.get("id", "")] = fn.get("name", "")
                part: dict[str, Any] = {"functionCall": {"name": fn.get("name", ""), "args": _arguments(fn.get("arguments"))}}
                signature = _thought_signature(call)
                if signature:
                    part["thoughtSignature"] = signature
                parts.append(part)
            grole = "model"
        elif role == "tool":
            name = m.get("name") or names.get(m.get("tool_call_id", ""), "")
            raw = _text_of(m.get("content"))
            try:
                response = json.loads(raw)
            except ValueError:
                response = raw
            if not isinstance(response, dict):
                response = {"content": response}
            parts = [{"functionResponse": {"name": name, "response": response}}]
            grole = "user"
        elif role == "user":
            parts = _gemini_parts(m.get("content"))
            grole = "user"
        else:
            raise ValueError(f"role {role!r} is not supported by the gemini format")
        if contents and contents[-1]["role"] == grole:
            contents[-1]["parts"].extend(parts)
        else:
            contents.append({"role": grole, "parts": parts})
    if system:
        body["systemInstruction"] = {"parts": system}
    body["contents"] = contents


def gemini_chat_finalize(body: dict[str, Any]) -> None:
    return None


def _gemini_candidate(candidate: dict[str, Any], state: StreamState | None) -> Message:
    texts: list[str] = []
    thoughts: list[str] = []
    calls: list[dict[str, Any]] = []
    images: list[dict[str, Any]] = []
    parts = read_path(candidate, ("content", "parts")) or ()
    if not isinstance(parts, list | tuple):
        raise TypeError(f"content.parts is a {type(parts).__name__}, not a list")
    for part in parts:
        if "text" in part:
            (thoughts if part.get("thought") else texts).append(part["text"])
        elif isinstance(part.get("inlineData"), dict) and not part.get("thought"):
            # generated media (responseModalities IMAGE): as OpenRouter reports images in chat
            blob = part["inlineData"]
            mime, b64 = blob.get("mimeType"), blob.get("data")
            if isinstance(mime, str) and mime.startswith("image/") and isinstance(b64, str):
                images.append({"type": "image_url", "image_url": {"url": f"data:{mime};base64,{b64}"}})
        elif "functionCall" in part:
            fc = part["functionCall"]
            call = _tool_call(fc.get("id") or _new_id("call_"), fc.get("name") or "", fc.get("args") or {})
            if isinstance(part.get("thoughtSignature"), str):
                # Gemini 3 refuses a function-call turn sent back without its signature; carry it
                # where Google's OpenAI-compatible endpoint puts it.
                call["extra_content"] = {"google": {"thought_signature": part["thoughtSignature"]}}
            if state is not None:
                call["index"] = state.tool_index(len(state.tool_ids))
            calls.append(call)
    message = _message("".join(texts) if texts else None, calls, "".join(thoughts) or None)
    if images:
        message["images"] = images
    return message


def gemini_chat_choices(data: dict[str, Any]) -> Choices:
    return [(c, _gemini_candidate(c, None), c.get("index", i)) for i, c in enumerate(data.get("candidates") or ())]


def gemini_stream_choices(obj: dict[str, Any], state: StreamState) -> StreamChoices:
    if not state.id and isinstance(obj.get("responseId"), str):
        state.id = obj["responseId"]
    if isinstance(obj.get("modelVersion"), str):
        state.model = obj["modelVersion"]
    out: StreamChoices = []
    for i, candidate in enumerate(obj.get("candidates") or ()):
        message = _gemini_candidate(candidate, state)
        delta: dict[str, Any] = {}
        if message["content"] is not None:
            delta["content"] = message["content"]
        if "reasoning_content" in message:
            delta["reasoning_content"] = message["reasoning_content"]
        if "tool_calls" in message:
            delta["tool_calls"] = message["tool_calls"]
        if "images" in message:
            delta["images"] = message["images"]
        out.append((candidate.get("index", i), delta, candidate.get("finishReason")))
    return out


# Where a format moves the mapped params: "<format>_<mode>" → a path in the body ("0": the first item).
PARAMS_ROOT: dict[str, tuple[str, ...]] = {"gemini_embeddings": ("requests", "0")}


def gemini_embeddings_request(body: dict[str, Any], inputs: Any, model: str) -> None:
    """→ ``batchEmbedContents``: one request per input, each carrying the mapped options."""
    texts = [inputs] if isinstance(inputs, str) else inputs
    if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
        raise ValueError("'input' must be a string or a list of strings for gemini embeddings")
    options = dict(body)
    body.clear()
    body["requests"] = [{"model": "models/" + model, "content": {"parts": [{"text": t}]}, **options} for t in texts]


def gemini_embeddings_data(data: dict[str, Any]) -> list[dict[str, Any]]:
    items = data["embeddings"] if "embeddings" in data else [data["embedding"]]
    return [{"object": "embedding", "index": i, "embedding": e["values"]} for i, e in enumerate(_list(items, "embeddings"))]


def _list(value: Any, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise TypeError(f"{what} is a {type(value).__name__}, not a list")
    return value


# --------------------------------------------------------------------------- ollama


def ollama_chat_request(body: dict[str, Any], messages: Any) -> None:
    """OpenAI messages → Ollama ``/api/chat`` messages (text content, base64 ``images``, dict arguments)."""
    out: list[Message] = []
    names: dict[str, str] = {}  # tool call id → function name, for the tool results that follow
    # no messages: Ollama loads the model (and with keep_alive 0 unloads it)
    for m in _messages(messages, allow_empty=True):
        role = m["role"]
        if role == "developer":
            role = "system"
        msg: Message = {"role": role}
        content = m.get("content")
        images: list[str] = []
        if isinstance(content, list):
            for part in content:
                if isinstance(part, dict) and part.get("type") == "image_url":
                    parsed = _parse_data_url(_image_url(part))
                    if not parsed:
                        raise ValueError("ollama accepts images only as base64 data: URLs")
                    images.append(parsed[1])
        msg["content"] = _text_of(content)
        if images:
            msg["images"] = images
        if m.get("tool_calls"):
            for c in m["tool_calls"]:
                names[str(c.get("id", ""))] = (c.get("function") or {}).get("name", "")
            msg["tool_calls"] = [
                {"function": {"name": (c.get("function") or {}).get("name", ""), "arguments": _arguments((c.get("function") or {}).get("arguments"))}}
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


def ollama_chat_finalize(body: dict[str, Any]) -> None:
    return None


def _ollama_message(message: dict[str, Any], state: StreamState | None) -> Message:
    calls: list[dict[str, Any]] = []
    for raw in message.get("tool_calls") or ():
        fn = raw["function"]
        call = _tool_call(raw.get("id") or _new_id("call_"), fn["name"], fn.get("arguments") or {})
        if state is not None:
            call["index"] = state.tool_index(len(state.tool_ids))
        calls.append(call)
    content = message.get("content")
    return _message(content if isinstance(content, str) else None, calls, message.get("thinking") or None)


def ollama_chat_choices(data: dict[str, Any]) -> Choices:
    return [(data, _ollama_message(data["message"], None), 0)]


def ollama_stream_choices(obj: dict[str, Any], state: StreamState) -> StreamChoices:
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


def ollama_embeddings_request(body: dict[str, Any], inputs: Any, model: str) -> None:
    body["input"] = inputs


def ollama_embeddings_data(data: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"object": "embedding", "index": i, "embedding": e} for i, e in enumerate(_list(data["embeddings"], "embeddings"))]


CHAT_FORMATS = frozenset({"openai", "anthropic", "gemini", "ollama"})
STREAM_FORMATS = frozenset({"openai", "gemini", "ollama"})
EMBEDDINGS_FORMATS = frozenset({"openai", "gemini", "ollama"})
FORMATS = {"chat": CHAT_FORMATS, "embeddings": EMBEDDINGS_FORMATS}
