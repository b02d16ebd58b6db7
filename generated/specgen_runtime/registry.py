"""The model registry, from the specs' ``models.known``: ``get_model_info()``, ``supports()``,
``cost_per_token()``, ``completion_cost()`` and ``model_cost``, with LiteLLM's names and keywords.

A model is resolved as ``completion()`` resolves it (``provider/model``, or a bare id one spec
knows); only that provider's adapter is imported. A dated snapshot id a provider answers with
(``claude-sonnet-4-5-20250929``, ``gpt-4o-2024-08-06``) is read as the known id it dates.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypedDict

from specgen_runtime.errors import BadRequestError, LLMError, NotFoundError

if TYPE_CHECKING:
    from specgen_runtime.entry import Gateway
    from specgen_runtime.types import ModelInfo

__all__ = ["CAPABILITIES", "ModelCard", "Registry"]


class ModelCard(TypedDict, total=False):
    """What :meth:`Registry.get_model_info` returns: LiteLLM's keys (``max_input_tokens``,
    ``supports_vision``, ...) and the spec's own (``id``, ``provider``). Prices are per token
    in USD; a fact the spec does not give is None."""

    key: str
    id: str
    provider: str
    litellm_provider: str
    mode: str
    max_tokens: int | None
    max_input_tokens: int | None
    max_output_tokens: int | None
    input_cost_per_token: float | None
    output_cost_per_token: float | None
    cache_read_input_token_cost: float | None
    cache_creation_input_token_cost: float | None
    output_vector_size: int | None
    supports_function_calling: bool | None
    supports_tool_choice: bool | None
    supports_vision: bool | None
    supports_reasoning: bool | None
    supports_response_schema: bool | None
    supports_prompt_caching: bool | None
    supports_pdf_input: bool | None
    supports_audio_input: bool | None
    supports_audio_output: bool | None
    supports_web_search: bool | None


#: a capability name ``supports()`` takes (ours and LiteLLM's) → the spec's ``models.known`` field
CAPABILITIES: dict[str, str] = {
    "tools": "tools",
    "function_calling": "tools",
    "tool_choice": "tools",
    "vision": "vision",
    "reasoning": "reasoning",
    "response_format": "response_format",
    "response_schema": "response_format",
    "prompt_caching": "prompt_caching",
    "pdf_input": "pdf_input",
    "audio_input": "audio_input",
    "audio_output": "audio_output",
    "web_search": "web_search",
}

_CARD_FLAGS = (
    ("supports_function_calling", "tools"),
    ("supports_tool_choice", "tools"),
    ("supports_vision", "vision"),
    ("supports_reasoning", "reasoning"),
    ("supports_response_schema", "response_format"),
    ("supports_prompt_caching", "prompt_caching"),
    ("supports_pdf_input", "pdf_input"),
    ("supports_audio_input", "audio_input"),
    ("supports_audio_output", "audio_output"),
    ("supports_web_search", "web_search"),
)

#: a date a provider appends to a model id it answers with
_DATED = re.compile(r"(?:[-@](?:\d{8}|\d{4}-\d{2}-\d{2}))$")


def _number(value: Any) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


class Registry:
    """The registry of one generated package (``specgen_providers.get_model_info`` and co.)."""

    def __init__(self, gateway: Gateway) -> None:
        self._gw = gateway
        self.model_cost = ModelCost(self)

    # ------------------------------------------------------------------ lookups

    def lookup(self, model: str, custom_llm_provider: str | None = None) -> tuple[str, ModelInfo]:
        """``(provider, info)`` of a known model; ``NotFoundError`` when no spec knows it."""
        found = self._find(model, custom_llm_provider)
        if found is None:
            raise NotFoundError(
                f"model {model!r} is not in any spec's models.known",
                provider=custom_llm_provider or "specgen",
                model=model,
                status_code=None,
            )
        return found

    def _find(self, model: str, custom_llm_provider: str | None) -> tuple[str, ModelInfo] | None:
        try:
            route = self._gw.resolve(model, custom_llm_provider)
        except BadRequestError:
            undated = _DATED.sub("", model) if isinstance(model, str) else model
            if undated == model:
                raise
            route = self._gw.resolve(undated, custom_llm_provider)
        mod = self._gw.module(route.provider)
        known: Mapping[str, ModelInfo] = mod.MODELS
        bare = route.model
        prefix = getattr(mod, "MODEL_PREFIX", None)
        for candidate in (
            bare,
            bare[len(prefix) :] if prefix and bare.startswith(prefix) else None,
        ):
            if candidate is None:
                continue
            info = known.get(candidate) or known.get(_DATED.sub("", candidate))
            if info is not None:
                return route.provider, info
        return None

    def _find_quietly(
        self, model: str, custom_llm_provider: str | None
    ) -> tuple[str, ModelInfo] | None:
        try:
            return self._find(model, custom_llm_provider)
        except LLMError:
            return None

    def get_model_info(self, model: str, custom_llm_provider: str | None = None) -> ModelCard:
        """What the spec knows of ``model`` (``provider/model`` or a bare id), with LiteLLM's keys:
        context window (``max_input_tokens``), ``max_output_tokens``, capabilities
        (``supports_*``), prices per token and cache prices."""
        provider, info = self.lookup(model, custom_llm_provider)
        card: ModelCard = {
            "key": f"{self._gw._prefix_of(provider)}{info.get('id', '')}",
            "id": str(info.get("id", "")),
            "provider": provider,
            "litellm_provider": provider,
            # LiteLLM's mode names: "embedding", "completion" (legacy text completions)
            "mode": {"embeddings": "embedding", "completions": "completion"}.get(
                str(info.get("mode") or "chat"), str(info.get("mode") or "chat")
            ),
            "max_tokens": info.get("max_output"),
            "max_input_tokens": info.get("context_window"),
            "max_output_tokens": info.get("max_output"),
            "input_cost_per_token": info.get("input_cost_per_token"),
            "output_cost_per_token": info.get("output_cost_per_token"),
            "cache_read_input_token_cost": info.get("cache_read_input_token_cost"),
            "cache_creation_input_token_cost": info.get("cache_creation_input_token_cost"),
            "output_vector_size": info.get("output_vector_size"),
        }
        for key, field in _CARD_FLAGS:
            value = info.get(field)
            card[key] = bool(value) if value is not None else None  # type: ignore[literal-required]
        return card

    def supports(self, model: str, capability: str, custom_llm_provider: str | None = None) -> bool:
        """Whether the spec says ``model`` has ``capability`` (``tools``, ``vision``,
        ``reasoning``, ``response_format``, ``prompt_caching``, ``pdf_input``, ``audio_input``,
        ``audio_output``, ``web_search``; LiteLLM's ``function_calling``, ``response_schema``
        too). An unknown model, or one whose spec does not say, gives False."""
        field = CAPABILITIES.get(capability.removeprefix("supports_"))
        if field is None:
            raise ValueError(
                f"unknown capability {capability!r}: one of {', '.join(sorted(CAPABILITIES))}"
            )
        try:
            found = self._find(model, custom_llm_provider)
        except LLMError:
            return False
        return bool(found and found[1].get(field))

    def supports_function_calling(self, model: str, custom_llm_provider: str | None = None) -> bool:
        return self.supports(model, "tools", custom_llm_provider)

    def supports_vision(self, model: str, custom_llm_provider: str | None = None) -> bool:
        return self.supports(model, "vision", custom_llm_provider)

    def supports_reasoning(self, model: str, custom_llm_provider: str | None = None) -> bool:
        return self.supports(model, "reasoning", custom_llm_provider)

    def supports_response_schema(self, model: str, custom_llm_provider: str | None = None) -> bool:
        return self.supports(model, "response_format", custom_llm_provider)

    def supports_prompt_caching(self, model: str, custom_llm_provider: str | None = None) -> bool:
        return self.supports(model, "prompt_caching", custom_llm_provider)

    # ------------------------------------------------------------------ costs

    def cost_per_token(
        self,
        model: str = "",
        prompt_tokens: int = 0,
        completion_tokens: int = 0,
        *,
        custom_llm_provider: str | None = None,
        cache_read_input_tokens: int = 0,
        cache_creation_input_tokens: int = 0,
        **_ignored: Any,
    ) -> tuple[float, float]:
        """LiteLLM's ``(prompt cost, completion cost)`` in USD. ``prompt_tokens`` counts every
        input token (OpenAI's convention, which every adapter's usage follows); of them,
        ``cache_read_input_tokens`` and ``cache_creation_input_tokens`` are charged at the
        model's cache prices (its input price when the spec gives none)."""
        provider, info = self.lookup(model, custom_llm_provider)
        inp = info.get("input_cost_per_token")
        out = info.get("output_cost_per_token")
        if inp is None and out is None:
            raise NotFoundError(
                f"the spec of {provider} gives no price for {info.get('id')!r}",
                provider=provider,
                model=model,
                status_code=None,
            )
        price_in = _number(inp)
        read_price = info.get("cache_read_input_token_cost")
        write_price = info.get("cache_creation_input_token_cost")
        read = max(0, int(cache_read_input_tokens or 0))
        write = max(0, int(cache_creation_input_tokens or 0))
        plain = max(0, int(prompt_tokens or 0) - read - write)
        prompt_cost = (
            plain * price_in
            + read * (_number(read_price) if read_price is not None else price_in)
            + write * (_number(write_price) if write_price is not None else price_in)
        )
        return prompt_cost, max(0, int(completion_tokens or 0)) * _number(out)

    def completion_cost(
        self,
        completion_response: Any = None,
        model: str | None = None,
        *,
        custom_llm_provider: str | None = None,
        **_ignored: Any,
    ) -> float:
        """The cost in USD of a completion or embeddings result, from its usage (cached tokens at
        their own price) and the spec's prices. The model is ``model=`` when given, else the
        result's own (a bare or dated id resolved as :meth:`get_model_info` does)."""
        if completion_response is None:
            raise BadRequestError(
                "completion_cost needs completion_response= (a result with usage): tokens are not counted here",
                provider="specgen",
                model=model,
            )
        data = (
            completion_response.to_dict()
            if hasattr(completion_response, "to_dict")
            else completion_response
        )
        if not isinstance(data, Mapping):
            raise BadRequestError(
                f"completion_response is a {type(completion_response).__name__}, not a result",
                provider="specgen",
            )
        usage = data.get("usage")
        if not isinstance(usage, Mapping):
            raise BadRequestError("the result carries no usage to price", provider="specgen")
        name = model or data.get("model")
        origin = getattr(completion_response, "_origin", None)  # where completion() sent it
        if model is None and custom_llm_provider is None and isinstance(origin, tuple):
            custom_llm_provider, requested = origin
            # the model asked for is the one the spec knows (the answer may name a dated snapshot)
            if self._find_quietly(requested, custom_llm_provider) is not None:
                name = requested
        if not isinstance(name, str) or not name:
            raise BadRequestError("the result names no model: pass model=", provider="specgen")
        details = usage.get("prompt_tokens_details")
        read = usage.get("cache_read_input_tokens")
        if not isinstance(read, int) and isinstance(details, Mapping):
            read = details.get("cached_tokens")
        write = usage.get("cache_creation_input_tokens")
        prompt, completion = self.cost_per_token(
            name,
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            completion_tokens=int(usage.get("completion_tokens") or 0),
            custom_llm_provider=custom_llm_provider,
            cache_read_input_tokens=read if isinstance(read, int) else 0,
            cache_creation_input_tokens=write if isinstance(write, int) else 0,
        )
        return prompt + completion


class ModelCost(Mapping[str, ModelCard]):
    """LiteLLM's ``model_cost``, read from the specs: ``model_cost["anthropic/claude-sonnet-4-5"]``
    (or a bare id one spec knows) imports one adapter; iterating, ``len()`` and ``in`` over the
    whole map import every adapter of the package."""

    def __init__(self, registry: Registry) -> None:
        self._registry = registry

    def __getitem__(self, model: str) -> ModelCard:
        try:
            return self._registry.get_model_info(model)
        except LLMError:
            raise KeyError(model) from None

    def _keys(self) -> list[str]:
        gw = self._registry._gw
        keys: list[str] = []
        for provider in sorted(set(gw.index.MODEL_PREFIXES)):
            prefix = gw._prefix_of(provider)
            keys.extend(f"{prefix}{mid}" for mid in gw.module(provider).MODELS)
        return keys

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys())

    def __len__(self) -> int:
        return len(self._keys())

    def __contains__(self, model: object) -> bool:
        if not isinstance(model, str):
            return False
        try:
            self._registry.get_model_info(model)
        except LLMError:
            return False
        return True
