"""Smaller parts of LiteLLM's common path that code written against it reaches for:
``stream_chunk_builder()``, ``validate_environment()``, ``get_supported_openai_params()`` and
``provider_list``. Each is exported lazily by a generated package (:mod:`specgen_runtime.exports`);
those that need the package take its :class:`~specgen_runtime.entry.Gateway` first.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from specgen_runtime.shape import check_completion
from specgen_runtime.types import ChatCompletion

if TYPE_CHECKING:
    from specgen_runtime.entry import Gateway

__all__ = [
    "get_supported_openai_params",
    "provider_list",
    "stream_chunk_builder",
    "validate_environment",
]

#: the OpenAI params every chat mode takes whatever its spec declares
_ALWAYS = ("model", "messages", "stream")


def stream_chunk_builder(chunks: Iterable[Any], messages: Any = None) -> ChatCompletion | None:
    """The ``chat.completion`` a stream's chunks add up to (LiteLLM's ``stream_chunk_builder``):
    each choice's content, reasoning and tool calls joined in order, its last finish reason, the
    stream's id, model and usage; None for no chunks. ``messages`` is accepted and unused."""
    items = [c.to_dict() if hasattr(c, "to_dict") else dict(c) for c in chunks]
    if not items:
        return None
    head = next((c for c in items if c.get("id")), items[0])
    choices: dict[int, dict[str, Any]] = {}
    calls: dict[int, dict[int, dict[str, Any]]] = {}
    usage: Any = None
    for chunk in items:
        if isinstance(chunk.get("usage"), Mapping):
            usage = dict(chunk["usage"])
        for choice in chunk.get("choices") or ():
            index = int(choice.get("index", 0))
            slot = choices.setdefault(
                index,
                {
                    "index": index,
                    "message": {"role": "assistant", "content": None},
                    "finish_reason": None,
                },
            )
            message, delta = slot["message"], choice.get("delta") or {}
            for key in ("content", "reasoning_content", "refusal"):
                if isinstance(delta.get(key), str):
                    message[key] = (message.get(key) or "") + delta[key]
            for call in delta.get("tool_calls") or ():
                at = calls.setdefault(index, {}).setdefault(
                    int(call.get("index", 0)),
                    {"id": None, "type": "function", "function": {"name": "", "arguments": ""}},
                )
                at["id"] = call.get("id") or at["id"]
                function = call.get("function") or {}
                at["function"]["name"] += function.get("name") or ""
                at["function"]["arguments"] += function.get("arguments") or ""
            if choice.get("finish_reason"):
                slot["finish_reason"] = choice["finish_reason"]
    for index, by_call in calls.items():
        choices[index]["message"]["tool_calls"] = [by_call[i] for i in sorted(by_call)]
    out: dict[str, Any] = {
        "id": head.get("id"),
        "object": "chat.completion",
        "created": head.get("created"),
        "model": next((c["model"] for c in reversed(items) if c.get("model")), ""),
        "choices": [choices[i] for i in sorted(choices)],
    }
    if usage is not None:
        out["usage"] = usage
    provider = str(((head.get("provider_specific_fields") or {}).get("provider")) or "specgen")
    return ChatCompletion(check_completion(out, provider, out["model"]))


def validate_environment(gw: Gateway, model: str, api_key: str | None = None) -> dict[str, Any]:
    """Whether a call to ``model`` finds its API key (LiteLLM's ``validate_environment``):
    ``{"keys_in_environment": bool, "missing_keys": [the provider's first key variable]}``."""
    module = gw.module(gw.resolve(model).provider)
    names = tuple(getattr(module, "API_KEY_ENV", ()) or ())
    found = bool(api_key) or not names or any(os.environ.get(n) for n in names)
    return {"keys_in_environment": found, "missing_keys": [] if found else [names[0]]}


def get_supported_openai_params(
    gw: Gateway,
    model: str,
    custom_llm_provider: str | None = None,
    request_type: str = "chat_completion",
) -> list[str] | None:
    """The OpenAI params the provider's spec takes for ``model``'s mode (chat, or embeddings for
    ``request_type="embeddings"``): those it maps or drops, not those it refuses; None when the
    provider has no such mode (a refused param is not a key of the adapter's params type)."""
    route = gw.resolve(model if custom_llm_provider is None else f"{custom_llm_provider}/{model}")
    module = gw.module(route.provider)
    kind = "Embeddings" if request_type.startswith("embed") else "Chat"
    params = getattr(module, f"{kind}Params", None)
    if params is None:
        return None
    return sorted(p for p in getattr(params, "__annotations__", {}) if p not in _ALWAYS)


def provider_list(gw: Gateway) -> list[str]:
    """Every provider of the package, by module name (LiteLLM's ``provider_list``)."""
    home = gw.home
    return list(getattr(home, "PROVIDERS", ())) + sorted(getattr(home, "ALIASES", {}))
