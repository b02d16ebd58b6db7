"""What a generated package exports lazily: ``specgen_providers.completion``, ``.Router``,
``.RateLimitError``, ... Its ``__init__``'s module ``__getattr__`` calls :func:`export` on first
use, so that ``import specgen_providers`` imports neither the runtime nor httpx nor any adapter.
"""

from __future__ import annotations

from typing import Any

from specgen_runtime.errors import ERROR_CLASSES

__all__ = ["EXPORTS", "export"]

#: every name a generated package exports lazily → where it comes from: ``errors:<class>`` (the
#: errors module itself for ``errors:``), ``gateway:<method>`` (bound to the package's
#: :class:`specgen_runtime.entry.Gateway`), ``registry:<attr>`` (its registry), ``router:Router``
EXPORTS: dict[str, str] = {
    **{name: f"errors:{name}" for name in ERROR_CLASSES},
    "APIError": "errors:LLMError",  # LiteLLM's catch-all name: every error here is an LLMError
    "exceptions": "errors:",  # ``litellm.exceptions.RateLimitError``: the errors module itself
    "completion": "gateway:completion",
    "acompletion": "gateway:acompletion",
    "embedding": "gateway:embedding",
    "aembedding": "gateway:aembedding",
    "text_completion": "gateway:text_completion",
    "atext_completion": "gateway:atext_completion",
    "list_models": "gateway:list_models",
    "alist_models": "gateway:alist_models",
    "get_llm_provider": "gateway:get_llm_provider",
    "get_model_info": "registry:get_model_info",
    "supports": "registry:supports",
    "supports_function_calling": "registry:supports_function_calling",
    "supports_vision": "registry:supports_vision",
    "supports_reasoning": "registry:supports_reasoning",
    "supports_response_schema": "registry:supports_response_schema",
    "supports_prompt_caching": "registry:supports_prompt_caching",
    "completion_cost": "registry:completion_cost",
    "cost_per_token": "registry:cost_per_token",
    "model_cost": "registry:model_cost",
    "Router": "router:Router",
    "stream_chunk_builder": "compat:stream_chunk_builder",
    "validate_environment": "compat:validate_environment",
    "get_supported_openai_params": "compat:get_supported_openai_params",
    "provider_list": "compat:provider_list",
}
#: compat functions that take the package's gateway first (``provider_list`` is a value: a list)
_WITH_GATEWAY = frozenset({"validate_environment", "get_supported_openai_params"})


def export(package: str, name: str) -> Any:
    """The object ``package.<name>`` stands for (``AttributeError`` when there is none)."""
    where = EXPORTS.get(name)
    if where is None:
        raise AttributeError(f"module {package!r} has no attribute {name!r}")
    kind, attr = where.split(":", 1)
    if kind == "errors":
        from specgen_runtime import errors

        return getattr(errors, attr) if attr else errors
    from specgen_runtime.entry import gateway

    gw = gateway(package)
    if kind == "compat":
        import functools

        from specgen_runtime import compat

        fn = getattr(compat, attr)
        if attr == "provider_list":
            return fn(gw)
        return functools.partial(fn, gw) if attr in _WITH_GATEWAY else fn
    if kind == "gateway":
        return getattr(gw, attr)
    if kind == "registry":
        return getattr(gw.registry, attr)
    from specgen_runtime.router import router_class

    return router_class(gw)
