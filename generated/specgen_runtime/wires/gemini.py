"""The Gemini ``generateContent`` wire: OpenAI messages → ``contents`` of parts (``systemInstruction``,
``functionCall``/``functionResponse``, inline data), candidates → choices (thought parts are
reasoning, inline images are ``message.images``); streams carry whole ``GenerateContentResponse``
objects; embeddings go through ``batchEmbedContents``."""

from __future__ import annotations

import json
from typing import Any

from specgen_runtime.core import StreamState, UnsupportedValue, get_path, read_path
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
    "PROTO_JSON",
    "RESPONSE_DEFAULTS",
    "STREAMS",
    "chat_choices",
    "chat_finalize",
    "chat_request",
    "embeddings_data",
    "embeddings_request",
    "modalities_to_gemini",
    "openai_tool_choice_to_gemini",
    "openai_tools_to_gemini",
    "reasoning_effort_to_gemini_thinking",
    "response_format_to_gemini",
    "stream_choices",
]

NAME = "gemini"
MODES = frozenset({"chat", "embeddings"})
STREAMS = True
PASSTHROUGH = False
RESPONSE_DEFAULTS: dict[str, str] = {}
CHOICE_PREFIX = "candidates.0."
#: its JSON is protobuf's: snake_case and lowerCamelCase field names are the same field
PROTO_JSON = True
#: batchEmbedContents: the mapped options go into each request (the first one when checked)
PARAMS_ROOT: dict[str, tuple[str, ...]] = {"embeddings": ("requests", "0")}


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
            url = image_url(part)
            parsed = parse_data_url(url)
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
            parsed = parse_data_url(str(file.get("file_data", "")))
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
    for holder in (
        get_path(call, ("extra_content", "google")),
        call.get("provider_specific_fields"),
    ):
        if isinstance(holder, dict) and isinstance(holder.get("thought_signature"), str):
            return str(holder["thought_signature"])
    return None


def chat_request(body: dict[str, Any], messages: Any) -> None:
    """System → ``systemInstruction``; assistant → ``model``; tool results → ``functionResponse`` parts."""
    system: list[dict[str, Any]] = []
    contents: list[dict[str, Any]] = []
    names: dict[str, str] = {}
    for m in messages_of(messages):
        role = m["role"]
        if role in ("system", "developer"):
            system.extend(_gemini_parts(m.get("content")))
            continue
        if role == "assistant":
            parts = _gemini_parts(m.get("content"))
            for call in m.get("tool_calls") or ():
                fn = call.get("function") or {}
                names[call.get("id", "")] = fn.get("name", "")
                part: dict[str, Any] = {
                    "functionCall": {
                        "name": fn.get("name", ""),
                        "args": arguments(fn.get("arguments")),
                    }
                }
                signature = _thought_signature(call)
                if signature:
                    part["thoughtSignature"] = signature
                parts.append(part)
            grole = "model"
        elif role == "tool":
            name = m.get("name") or names.get(m.get("tool_call_id", ""), "")
            raw = text_of(m.get("content"))
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


def chat_finalize(body: dict[str, Any]) -> None:
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
                images.append(
                    {"type": "image_url", "image_url": {"url": f"data:{mime};base64,{b64}"}}
                )
        elif "functionCall" in part:
            fc = part["functionCall"]
            call = tool_call(
                fc.get("id") or new_id("call_"), fc.get("name") or "", fc.get("args") or {}
            )
            if isinstance(part.get("thoughtSignature"), str):
                # Gemini 3 refuses a function-call turn sent back without its signature; carry it
                # where Google's OpenAI-compatible endpoint puts it.
                call["extra_content"] = {"google": {"thought_signature": part["thoughtSignature"]}}
            if state is not None:
                call["index"] = state.tool_index(len(state.tool_ids))
            calls.append(call)
    message = assistant_message("".join(texts) if texts else None, calls, "".join(thoughts) or None)
    if images:
        message["images"] = images
    return message


def chat_choices(data: dict[str, Any]) -> Choices:
    return [
        (c, _gemini_candidate(c, None), c.get("index", i))
        for i, c in enumerate(data.get("candidates") or ())
    ]


def stream_choices(obj: dict[str, Any], state: StreamState) -> StreamChoices:
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


def embeddings_request(body: dict[str, Any], inputs: Any, model: str) -> None:
    """→ ``batchEmbedContents``: one request per input, each carrying the mapped options."""
    texts = [inputs] if isinstance(inputs, str) else inputs
    if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
        raise ValueError("'input' must be a string or a list of strings for gemini embeddings")
    options = dict(body)
    body.clear()
    body["requests"] = [
        {"model": "models/" + model, "content": {"parts": [{"text": t}]}, **options} for t in texts
    ]


def embeddings_data(data: dict[str, Any]) -> list[dict[str, Any]]:
    items = data["embeddings"] if "embeddings" in data else [data["embedding"]]
    return [
        {"object": "embedding", "index": i, "embedding": e["values"]}
        for i, e in enumerate(as_list(items, "embeddings"))
    ]


# --------------------------------------------------------------------------- transforms


_GEMINI_UNSUPPORTED_SCHEMA_KEYS = frozenset({"$schema", "$id", "additionalProperties", "strict"})


def _gemini_schema(schema: Any) -> Any:
    """A copy of ``schema`` without the JSON Schema keywords Gemini's OpenAPI-subset ``Schema`` rejects."""
    if isinstance(schema, dict):
        out: dict[str, Any] = {}
        for key, value in schema.items():
            if key == "properties" and isinstance(value, dict):
                out[key] = {name: _gemini_schema(sub) for name, sub in value.items()}
            elif key not in _GEMINI_UNSUPPORTED_SCHEMA_KEYS:
                out[key] = _gemini_schema(value)
        return out
    if isinstance(schema, list):
        return [_gemini_schema(item) for item in schema]
    return schema


@transform(sample=TOOLS_SAMPLE)
def openai_tools_to_gemini(value: Any) -> list[dict[str, Any]]:
    """OpenAI ``tools`` → Gemini ``tools: [{functionDeclarations: [...]}]``."""
    declarations: list[dict[str, Any]] = []
    others: list[dict[str, Any]] = []
    for tool in function_tools(value):
        if not isinstance(tool, dict):
            raise ValueError("each tool must be an object")
        if tool.get("type") == "function" and isinstance(tool.get("function"), dict):
            fn = tool["function"]
            decl: dict[str, Any] = {"name": fn["name"]}
            if fn.get("description"):
                decl["description"] = fn["description"]
            if fn.get("parameters"):
                decl["parameters"] = _gemini_schema(fn["parameters"])
            declarations.append(decl)
        else:  # native Gemini tools (googleSearch, codeExecution...)
            others.append(tool)
    return ([{"functionDeclarations": declarations}] if declarations else []) + others


@transform(sample="required")
def openai_tool_choice_to_gemini(value: Any) -> dict[str, Any]:
    """→ Gemini ``toolConfig`` (``functionCallingConfig.mode`` AUTO/ANY/NONE)."""
    if value == "auto":
        return {"functionCallingConfig": {"mode": "AUTO"}}
    if value == "required":
        return {"functionCallingConfig": {"mode": "ANY"}}
    if value == "none":
        return {"functionCallingConfig": {"mode": "NONE"}}
    if isinstance(value, dict) and value.get("type") == "function":
        return {
            "functionCallingConfig": {
                "mode": "ANY",
                "allowedFunctionNames": [value["function"]["name"]],
            }
        }
    raise ValueError(f"unsupported tool_choice {value!r}")


@transform(sample={"type": "json_object"})
def response_format_to_gemini(value: Any) -> dict[str, Any]:
    """→ ``responseMimeType``/``responseSchema`` (merged into ``generationConfig``)."""
    if not isinstance(value, dict):
        raise ValueError("response_format must be an object")
    kind = value.get("type")
    if kind == "text":
        return {"responseMimeType": "text/plain"}
    if kind == "json_object":
        return {"responseMimeType": "application/json"}
    if kind == "json_schema":
        schema = (value.get("json_schema") or {}).get("schema")
        out: dict[str, Any] = {"responseMimeType": "application/json"}
        if schema is not None:
            out["responseSchema"] = _gemini_schema(schema)
        return out
    raise ValueError(f"unsupported response_format type {kind!r}")


_GEMINI_BUDGETS = {"minimal": 128, "low": 1024, "medium": 8192, "high": 24576}


@transform(sample="low")
def reasoning_effort_to_gemini_thinking(value: Any) -> dict[str, Any]:
    """→ ``thinkingConfig`` (``thinkingBudget``; ``none`` turns thinking off)."""
    if value in ("none", None):
        return {"thinkingBudget": 0}
    if value not in _GEMINI_BUDGETS:
        raise ValueError(f"reasoning_effort must be one of {sorted(_GEMINI_BUDGETS)} or 'none'")
    return {"thinkingBudget": _GEMINI_BUDGETS[value], "includeThoughts": True}


_GEMINI_MODALITIES = {"text": "TEXT", "image": "IMAGE"}


@transform(sample=["text", "image"])
def modalities_to_gemini(value: Any) -> list[str]:
    """OpenAI ``modalities`` → Gemini ``responseModalities`` (``["text", "image"]`` →
    ``["TEXT", "IMAGE"]``, for image-output models). Audio output (speech models, which take a
    ``speechConfig`` and answer audio alone) has no OpenAI chat form here."""
    if not isinstance(value, list) or not value:
        raise ValueError("modalities must be a non-empty list")
    out = []
    for m in value:
        if m not in _GEMINI_MODALITIES:
            raise UnsupportedValue(f"the output modalities here are {sorted(_GEMINI_MODALITIES)}")
        out.append(_GEMINI_MODALITIES[m])
    return out
