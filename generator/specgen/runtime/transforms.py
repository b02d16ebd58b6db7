"""Named value transforms a spec may apply to a request parameter.

A spec names a transform (``transform: as_list``); the generated code calls the
function of that name directly.  A transform takes the OpenAI value and returns
the provider's; it raises ``ValueError`` on a value it cannot convert (the
adapter turns that into a ``BadRequestError`` naming the provider).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from specgen.runtime.core import MISSING, UnsupportedValue

__all__ = ["TRANSFORMS"]


def identity(value: Any) -> Any:
    return value


def as_list(value: Any) -> list[Any]:
    """``"x"`` → ``["x"]``; a list stays a list."""
    if isinstance(value, list | tuple):
        return list(value)
    return [value]


def as_str(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def negate(value: Any) -> bool:
    return not bool(value)


def _function_tools(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise ValueError("tools must be a list")
    return value


def openai_tools_to_anthropic(value: Any) -> list[dict[str, Any]]:
    """OpenAI ``tools`` → Anthropic ``tools`` (``name``, ``description``, ``input_schema``)."""
    out: list[dict[str, Any]] = []
    for tool in _function_tools(value):
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


def parallel_tool_calls_to_anthropic(value: Any) -> dict[str, Any]:
    """``parallel_tool_calls`` → ``tool_choice.disable_parallel_tool_use`` (merged into tool_choice)."""
    return {"disable_parallel_tool_use": not bool(value)}


_ANTHROPIC_BUDGETS = {"minimal": 1024, "low": 1024, "medium": 2048, "high": 4096}


def reasoning_effort_to_anthropic_thinking(value: Any) -> dict[str, Any]:
    if value in ("none", None):
        return {"type": "disabled"}
    if value not in _ANTHROPIC_BUDGETS:
        raise ValueError(f"reasoning_effort must be one of {sorted(_ANTHROPIC_BUDGETS)} or 'none'")
    return {"type": "enabled", "budget_tokens": _ANTHROPIC_BUDGETS[value]}


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


def openai_tools_to_gemini(value: Any) -> list[dict[str, Any]]:
    """OpenAI ``tools`` → Gemini ``tools: [{functionDeclarations: [...]}]``."""
    declarations: list[dict[str, Any]] = []
    others: list[dict[str, Any]] = []
    for tool in _function_tools(value):
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


def openai_tool_choice_to_gemini(value: Any) -> dict[str, Any]:
    """→ Gemini ``toolConfig`` (``functionCallingConfig.mode`` AUTO/ANY/NONE)."""
    if value == "auto":
        return {"functionCallingConfig": {"mode": "AUTO"}}
    if value == "required":
        return {"functionCallingConfig": {"mode": "ANY"}}
    if value == "none":
        return {"functionCallingConfig": {"mode": "NONE"}}
    if isinstance(value, dict) and value.get("type") == "function":
        return {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": [value["function"]["name"]]}}
    raise ValueError(f"unsupported tool_choice {value!r}")


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


# low/medium/high as Google maps them for its OpenAI-compatible endpoint (1K, 8K, 24K thinking tokens,
# https://ai.google.dev/gemini-api/docs/openai); minimal: the smallest budget 2.5 Pro takes
_GEMINI_BUDGETS = {"minimal": 128, "low": 1024, "medium": 8192, "high": 24576}


def reasoning_effort_to_gemini_thinking(value: Any) -> dict[str, Any]:
    """→ ``thinkingConfig`` (``thinkingBudget``; ``none`` turns thinking off)."""
    if value in ("none", None):
        return {"thinkingBudget": 0}
    if value not in _GEMINI_BUDGETS:
        raise ValueError(f"reasoning_effort must be one of {sorted(_GEMINI_BUDGETS)} or 'none'")
    return {"thinkingBudget": _GEMINI_BUDGETS[value], "includeThoughts": True}


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


def reasoning_effort_to_ollama_think(value: Any) -> Any:
    """→ Ollama ``think``: ``false`` for none, else the level (gpt-oss) or ``true``."""
    if value in ("none", None):
        return False
    if value in ("low", "medium", "high"):
        return value
    return True


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


_GEMINI_MODALITIES = {"text": "TEXT", "image": "IMAGE"}


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


def strip_message_names(value: Any) -> Any:
    """Chat messages without the optional ``name`` field (a provider that rejects it)."""
    if not isinstance(value, list):
        return value
    return [{k: v for k, v in m.items() if k != "name"} if isinstance(m, dict) else m for m in value]


TRANSFORMS: dict[str, Callable[[Any], Any]] = {
    f.__name__: f
    for f in (
        identity,
        as_list,
        as_str,
        negate,
        openai_tools_to_anthropic,
        openai_tool_choice_to_anthropic,
        parallel_tool_calls_to_anthropic,
        reasoning_effort_to_anthropic_thinking,
        openai_tools_to_gemini,
        openai_tool_choice_to_gemini,
        response_format_to_gemini,
        reasoning_effort_to_gemini_thinking,
        response_format_to_ollama,
        reasoning_effort_to_ollama_think,
        response_format_to_anthropic,
        strip_message_names,
        modalities_to_gemini,
    )
}
