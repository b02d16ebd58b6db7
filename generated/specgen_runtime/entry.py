"""One entry point for every provider, LiteLLM's common path: ``completion()``, ``acompletion()``,
``text_completion()``, ``atext_completion()``, ``embedding()``, ``aembedding()``, ``list_models()``,
``alist_models()``.

A generated package (``specgen_providers``, or one built with ``specgen build --out mypkg``) exports
these names lazily (:mod:`specgen_runtime.exports`), each bound to the :class:`Gateway` of that
package. The gateway resolves ``provider/model`` through the package's
generated ``_index`` (naming prefixes, aliases, known model ids), imports only the adapter a call
needs, and pools clients per (provider, base URL, key, options). Results and errors are the
adapters' own.
"""

from __future__ import annotations

import importlib
import sys
import threading
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any, NamedTuple
from weakref import WeakKeyDictionary

from specgen_runtime.errors import BadRequestError, NotFoundError

if TYPE_CHECKING:
    from specgen_runtime.http import AsyncClient, Client
    from specgen_runtime.types import (
        ChatCompletion,
        ChatCompletionChunk,
        EmbeddingResponse,
        ModelInfo,
        TextCompletion,
        TextCompletionChunk,
    )

__all__ = ["Gateway", "Route", "gateway"]

#: the provider named in errors that belong to no provider (a model no spec can route)
NO_PROVIDER = "specgen"
#: clients kept per gateway (sync) and per event loop (async); the oldest is forgotten, not closed
#: (another thread may still be using it), beyond this
POOL_SIZE = 256
#: LiteLLM keywords that have no meaning for a provider here: accepted and ignored
IGNORED = frozenset(
    (
        "metadata",
        "caching",
        "litellm_call_id",
        "litellm_logging_obj",
        "logger_fn",
        "litellm_metadata",
    )
)

_GATEWAYS: dict[str, Gateway] = {}
_LOCK = threading.Lock()


def gateway(package: str) -> Gateway:
    """The one :class:`Gateway` of a generated package (a new one when the package was imported
    anew, as after a rebuild into another folder)."""
    gw = _GATEWAYS.get(package)
    current = sys.modules.get(package)
    if gw is None or gw.home is not current:
        with _LOCK:
            gw = _GATEWAYS.get(package)
            if gw is None or gw.home is not current:
                gw = _GATEWAYS[package] = Gateway(package)
    return gw


class Route(NamedTuple):
    """Where a model goes: the provider's module name and the model as its adapter takes it."""

    provider: str
    model: str


def _key_part(value: Any) -> Any:
    """``value`` as part of a pool key (an ``httpx.Timeout`` is not hashable)."""
    try:
        hash(value)
    except TypeError:
        as_dict = getattr(value, "as_dict", None)
        return repr(as_dict() if callable(as_dict) else value)
    return value


class Gateway:
    """Model resolution and pooled clients over one generated package."""

    def __init__(self, package: str) -> None:
        self.package = package
        self.home = sys.modules.get(package)  # the package module this gateway serves
        self._index: ModuleType | None = None
        self._modules: dict[str, ModuleType] = {}
        self._routes: dict[tuple[str, str | None], Route] = {}
        self._clients: dict[tuple[Any, ...], Client] = {}
        self._aclients: WeakKeyDictionary[Any, dict[tuple[Any, ...], AsyncClient]] = (
            WeakKeyDictionary()
        )
        self._lock = threading.Lock()
        self._registry: Any = None

    # ------------------------------------------------------------------ resolution

    @property
    def index(self) -> ModuleType:
        if self._index is None:
            try:
                self._index = importlib.import_module(f"{self.package}._index")
            except ImportError:
                raise BadRequestError(
                    f"{self.package} has no model index (_index.py): rebuild it with `specgen build`",
                    provider=NO_PROVIDER,
                ) from None
        return self._index

    @property
    def registry(self) -> Any:
        if self._registry is None:
            from specgen_runtime.registry import Registry

            self._registry = Registry(self)
        return self._registry

    def module(self, provider: str) -> ModuleType:
        """The adapter module of a provider (by its name), imported on first use."""
        mod = self._modules.get(provider)
        if mod is None:
            mod = self._modules[provider] = importlib.import_module(f"{self.package}.{provider}")
        return mod

    def provider_name(self, slug: str) -> str:
        """The module name of a provider given by name, alias or naming prefix (``nano-gpt``)."""
        name: str | None = self.index.PREFIXES.get(slug) or self.index.PREFIXES.get(
            slug.rstrip("/")
        )
        if name is None:
            raise BadRequestError(
                f"unknown provider {slug!r}: not a provider, alias or model prefix of {self.package}",
                provider=NO_PROVIDER,
            )
        return name

    def resolve(self, model: str, custom_llm_provider: str | None = None) -> Route:
        """The provider and adapter model for ``model``: its ``provider/`` prefix (the spec's
        ``model_naming``, the provider's name or an alias), else the one provider whose spec
        knows the bare id, or among several the one whose spec extends no other (``anthropic``
        over a spec that extends it); else a ``BadRequestError`` listing the candidates."""
        key = (model, custom_llm_provider)
        route = self._routes.get(key)
        if route is None:
            route = self._resolve(model, custom_llm_provider)
            if len(self._routes) >= 4096:
                self._routes.clear()
            self._routes[key] = route
        return route

    def _resolve(self, model: str, custom_llm_provider: str | None) -> Route:
        if not isinstance(model, str) or not model:
            raise BadRequestError(
                "'model' is required and must be a non-empty string", provider=NO_PROVIDER
            )
        index = self.index
        if custom_llm_provider:
            name = self.provider_name(custom_llm_provider)
            head = f"{custom_llm_provider}/"
            if model.startswith(head) and index.MODEL_PREFIXES.get(name) != head:
                model = model[len(head) :]
            return Route(name, model)
        start = 0
        for _ in range(3):  # a prefix is the text before the first (or second, third) '/'
            cut = model.find("/", start)
            if cut <= 0:
                break
            head = model[:cut]
            name = index.PREFIXES.get(head)
            if name is not None:
                own = index.MODEL_PREFIXES.get(name)
                # the adapter strips its own prefix (and keeps an id that begins with it itself)
                return Route(name, model if own == head + "/" else model[cut + 1 :])
            start = cut + 1
        known: tuple[str, ...] = index.KNOWN.get(model, ())
        if len(known) == 1:
            return Route(known[0], model)
        origin: str | None = getattr(index, "ORIGINS", {}).get(model)
        if origin is not None:  # several know it; one is its own provider (extends no other spec)
            return Route(origin, model)
        if known:
            choices = ", ".join(f"{self._prefix_of(n)}{model}" for n in known)
            raise BadRequestError(
                f"model {model!r} is known to several providers: say which with a prefix ({choices})",
                provider=NO_PROVIDER,
                model=model,
            )
        raise BadRequestError(
            f"cannot tell the provider of model {model!r}: no spec knows it; prefix it with the "
            f"provider (e.g. 'openai/{model}') or pass custom_llm_provider=",
            provider=NO_PROVIDER,
            model=model,
        )

    def _prefix_of(self, provider: str) -> str:
        prefix: str | None = self.index.MODEL_PREFIXES.get(provider)
        return prefix if prefix else f"{provider}/"

    def get_llm_provider(
        self, model: str, custom_llm_provider: str | None = None, api_base: str | None = None
    ) -> tuple[str, str, str | None, str | None]:
        """LiteLLM's ``get_llm_provider``: ``(model, provider, api_key, api_base)``; the key is
        never read here (None), the base URL is the one given."""
        route = self.resolve(model, custom_llm_provider)
        mod = self.module(route.provider)
        bare = route.model
        prefix = getattr(mod, "MODEL_PREFIX", None)
        own = getattr(mod, "_OWN_PREFIXED_IDS", ())
        if prefix and bare.startswith(prefix) and bare not in own:
            bare = bare[len(prefix) :]
        return bare, route.provider, None, api_base

    # ------------------------------------------------------------------ clients

    def _drop(self, drop_params: bool | None) -> bool:
        if drop_params is not None:
            return bool(drop_params)
        return bool(getattr(self.home, "drop_params", False))

    def client(
        self,
        provider: str,
        *,
        api_key: str | None = None,
        api_base: str | None = None,
        api_version: str | None = None,
        timeout: Any = None,
        num_retries: int | None = None,
        drop_params: bool = False,
    ) -> Client:
        """The pooled sync client for these settings (made on first use)."""
        api_key, timeout, num_retries = self._defaults(api_key, timeout, num_retries)
        key = (
            provider,
            api_base,
            api_key,
            api_version,
            _key_part(timeout),
            num_retries,
            drop_params,
        )
        found = self._clients.get(key)
        if found is not None:
            return found
        with self._lock:
            found = self._clients.get(key)
            if found is None:
                cls = self.module(provider).Client
                found = cls(**self._options(api_key, api_base, api_version, timeout, num_retries))
                found.drop_params = drop_params
                if len(self._clients) >= POOL_SIZE:
                    self._clients.pop(next(iter(self._clients)))
                self._clients[key] = found
        return found

    def aclient(
        self,
        provider: str,
        *,
        api_key: str | None = None,
        api_base: str | None = None,
        api_version: str | None = None,
        timeout: Any = None,
        num_retries: int | None = None,
        drop_params: bool = False,
    ) -> AsyncClient:
        """The pooled async client for these settings on the running event loop (its connections
        belong to that loop)."""
        api_key, timeout, num_retries = self._defaults(api_key, timeout, num_retries)
        import asyncio

        loop = asyncio.get_running_loop()
        pool = self._aclients.get(loop)
        if pool is None:
            pool = self._aclients.setdefault(loop, {})
        key = (
            provider,
            api_base,
            api_key,
            api_version,
            _key_part(timeout),
            num_retries,
            drop_params,
        )
        found = pool.get(key)
        if found is None:
            cls = self.module(provider).AsyncClient
            found = cls(**self._options(api_key, api_base, api_version, timeout, num_retries))
            found.drop_params = drop_params
            if len(pool) >= POOL_SIZE:
                pool.pop(next(iter(pool)))
            pool[key] = found
        return found

    def _defaults(
        self, api_key: str | None, timeout: Any, num_retries: int | None
    ) -> tuple[str | None, Any, int | None]:
        """A call's key, timeout and retries, else the package's module-level ones (LiteLLM's
        ``litellm.api_key``, ``litellm.request_timeout``, ``litellm.num_retries``), else None."""
        home = self.home
        if api_key is None:
            api_key = getattr(home, "api_key", None)
        if timeout is None:
            timeout = getattr(home, "request_timeout", None)
        if num_retries is None:
            num_retries = getattr(home, "num_retries", None)
        return api_key, timeout, num_retries

    @staticmethod
    def _options(
        api_key: str | None,
        api_base: str | None,
        api_version: str | None,
        timeout: Any,
        num_retries: int | None,
    ) -> dict[str, Any]:
        options: dict[str, Any] = {"api_key": api_key, "base_url": api_base}
        if api_version is not None:
            options["api_version"] = api_version
        if timeout is not None:
            options["timeout"] = timeout
        if num_retries is not None:
            options["max_retries"] = num_retries
        return options

    # ------------------------------------------------------------------ calls

    def _target(
        self,
        mode: str,
        aio: bool,
        model: str,
        params: dict[str, Any],
        *,
        custom_llm_provider: str | None,
        extra_headers: Mapping[str, str] | None,
        additional_drop_params: Sequence[str] | None,
        api_key: str | None,
        api_base: str | None,
        api_version: str | None,
        timeout: Any,
        num_retries: int | None,
        drop_params: bool | None,
    ) -> tuple[Route, Any]:
        """The route of ``model`` and the pooled client's method for ``mode`` (``chat``,
        ``embeddings``, ``completions``); ``params`` made ready for it (extra headers in, ignored keywords out)."""
        route = self.resolve(model, custom_llm_provider)
        if extra_headers is not None:
            params["extra_headers"] = extra_headers
        if params and not params.keys().isdisjoint(IGNORED):
            for name in IGNORED:
                params.pop(name, None)
        for name in additional_drop_params or ():
            params.pop(name, None)
        pool = self.aclient if aio else self.client
        client = pool(
            route.provider,
            api_key=api_key,
            api_base=api_base,
            api_version=api_version,
            timeout=timeout,
            num_retries=num_retries,
            drop_params=self._drop(drop_params),
        )
        method = getattr(client, mode, None)
        if method is None:
            raise _no_mode(route, mode)
        return route, method

    def completion(
        self,
        model: str,
        messages: list[dict[str, Any]] | None = None,
        *,
        stream: bool = False,
        api_key: str | None = None,
        api_base: str | None = None,
        base_url: str | None = None,
        api_version: str | None = None,
        timeout: Any = None,
        num_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
        custom_llm_provider: str | None = None,
        drop_params: bool | None = None,
        additional_drop_params: Sequence[str] | None = None,
        **params: Any,
    ) -> ChatCompletion | Iterator[ChatCompletionChunk]:
        """An OpenAI-style chat completion from ``provider/model``; ``stream=True`` returns an
        iterator of chunks. The result and any error are the provider adapter's own."""
        route, chat = self._target(
            "chat",
            False,
            model,
            params,
            custom_llm_provider=custom_llm_provider,
            extra_headers=extra_headers,
            additional_drop_params=additional_drop_params,
            api_key=api_key,
            api_base=api_base or base_url,
            api_version=api_version,
            timeout=timeout,
            num_retries=num_retries,
            drop_params=drop_params,
        )
        if stream:
            return chat(model=route.model, messages=messages, stream=True, **params)  # type: ignore[no-any-return]
        result = chat(model=route.model, messages=messages, **params)
        result._origin = route
        return result  # type: ignore[no-any-return]

    async def acompletion(
        self,
        model: str,
        messages: list[dict[str, Any]] | None = None,
        *,
        stream: bool = False,
        api_key: str | None = None,
        api_base: str | None = None,
        base_url: str | None = None,
        api_version: str | None = None,
        timeout: Any = None,
        num_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
        custom_llm_provider: str | None = None,
        drop_params: bool | None = None,
        additional_drop_params: Sequence[str] | None = None,
        **params: Any,
    ) -> ChatCompletion | AsyncIterator[ChatCompletionChunk]:
        """:meth:`completion`, awaited; ``stream=True`` returns an async iterator of chunks."""
        route, chat = self._target(
            "chat",
            True,
            model,
            params,
            custom_llm_provider=custom_llm_provider,
            extra_headers=extra_headers,
            additional_drop_params=additional_drop_params,
            api_key=api_key,
            api_base=api_base or base_url,
            api_version=api_version,
            timeout=timeout,
            num_retries=num_retries,
            drop_params=drop_params,
        )
        if stream:
            return await chat(model=route.model, messages=messages, stream=True, **params)  # type: ignore[no-any-return]
        result = await chat(model=route.model, messages=messages, **params)
        result._origin = route
        return result  # type: ignore[no-any-return]

    def text_completion(
        self,
        model: str,
        prompt: Any = None,
        *,
        stream: bool = False,
        api_key: str | None = None,
        api_base: str | None = None,
        base_url: str | None = None,
        api_version: str | None = None,
        timeout: Any = None,
        num_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
        custom_llm_provider: str | None = None,
        drop_params: bool | None = None,
        additional_drop_params: Sequence[str] | None = None,
        **params: Any,
    ) -> TextCompletion | Iterator[TextCompletionChunk]:
        """A legacy OpenAI-style text completion from ``provider/model`` (the provider's spec
        declares the ``completions`` mode; ``suffix=`` for fill-in-the-middle); ``stream=True``
        returns an iterator of ``text_completion`` chunks."""
        route, complete = self._target(
            "completions",
            False,
            model,
            params,
            custom_llm_provider=custom_llm_provider,
            extra_headers=extra_headers,
            additional_drop_params=additional_drop_params,
            api_key=api_key,
            api_base=api_base or base_url,
            api_version=api_version,
            timeout=timeout,
            num_retries=num_retries,
            drop_params=drop_params,
        )
        if stream:
            return complete(model=route.model, prompt=prompt, stream=True, **params)  # type: ignore[no-any-return]
        result = complete(model=route.model, prompt=prompt, **params)
        result._origin = route
        return result  # type: ignore[no-any-return]

    async def atext_completion(
        self,
        model: str,
        prompt: Any = None,
        *,
        stream: bool = False,
        api_key: str | None = None,
        api_base: str | None = None,
        base_url: str | None = None,
        api_version: str | None = None,
        timeout: Any = None,
        num_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
        custom_llm_provider: str | None = None,
        drop_params: bool | None = None,
        additional_drop_params: Sequence[str] | None = None,
        **params: Any,
    ) -> TextCompletion | AsyncIterator[TextCompletionChunk]:
        """:meth:`text_completion`, awaited; ``stream=True`` returns an async iterator of chunks."""
        route, complete = self._target(
            "completions",
            True,
            model,
            params,
            custom_llm_provider=custom_llm_provider,
            extra_headers=extra_headers,
            additional_drop_params=additional_drop_params,
            api_key=api_key,
            api_base=api_base or base_url,
            api_version=api_version,
            timeout=timeout,
            num_retries=num_retries,
            drop_params=drop_params,
        )
        if stream:
            return await complete(model=route.model, prompt=prompt, stream=True, **params)  # type: ignore[no-any-return]
        result = await complete(model=route.model, prompt=prompt, **params)
        result._origin = route
        return result  # type: ignore[no-any-return]

    def embedding(
        self,
        model: str,
        input: Any = None,
        *,
        api_key: str | None = None,
        api_base: str | None = None,
        base_url: str | None = None,
        api_version: str | None = None,
        timeout: Any = None,
        num_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
        custom_llm_provider: str | None = None,
        drop_params: bool | None = None,
        additional_drop_params: Sequence[str] | None = None,
        **params: Any,
    ) -> EmbeddingResponse:
        """OpenAI-style embeddings from ``provider/model``."""
        route, embeddings = self._target(
            "embeddings",
            False,
            model,
            params,
            custom_llm_provider=custom_llm_provider,
            extra_headers=extra_headers,
            additional_drop_params=additional_drop_params,
            api_key=api_key,
            api_base=api_base or base_url,
            api_version=api_version,
            timeout=timeout,
            num_retries=num_retries,
            drop_params=drop_params,
        )
        result = embeddings(model=route.model, input=input, **params)
        result._origin = route
        return result  # type: ignore[no-any-return]

    async def aembedding(
        self,
        model: str,
        input: Any = None,
        *,
        api_key: str | None = None,
        api_base: str | None = None,
        base_url: str | None = None,
        api_version: str | None = None,
        timeout: Any = None,
        num_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
        custom_llm_provider: str | None = None,
        drop_params: bool | None = None,
        additional_drop_params: Sequence[str] | None = None,
        **params: Any,
    ) -> EmbeddingResponse:
        """:meth:`embedding`, awaited."""
        route, embeddings = self._target(
            "embeddings",
            True,
            model,
            params,
            custom_llm_provider=custom_llm_provider,
            extra_headers=extra_headers,
            additional_drop_params=additional_drop_params,
            api_key=api_key,
            api_base=api_base or base_url,
            api_version=api_version,
            timeout=timeout,
            num_retries=num_retries,
            drop_params=drop_params,
        )
        result = await embeddings(model=route.model, input=input, **params)
        result._origin = route
        return result  # type: ignore[no-any-return]

    def list_models(
        self,
        provider: str,
        *,
        api_key: str | None = None,
        api_base: str | None = None,
        api_version: str | None = None,
        timeout: Any = None,
        num_retries: int | None = None,
    ) -> list[ModelInfo]:
        """The provider's models from its discovery endpoint (``models.discovery``), each merged
        with what its spec knows; ``provider``: a name, alias or naming prefix."""
        name = self.provider_name(provider)
        client = self.client(
            name,
            api_key=api_key,
            api_base=api_base,
            api_version=api_version,
            timeout=timeout,
            num_retries=num_retries,
        )
        lister = getattr(client, "list_models", None)
        if lister is None:
            raise _no_mode(Route(name, ""), "models.discovery")
        return lister()  # type: ignore[no-any-return]

    async def alist_models(
        self,
        provider: str,
        *,
        api_key: str | None = None,
        api_base: str | None = None,
        api_version: str | None = None,
        timeout: Any = None,
        num_retries: int | None = None,
    ) -> list[ModelInfo]:
        """:meth:`list_models`, awaited."""
        name = self.provider_name(provider)
        client = self.aclient(
            name,
            api_key=api_key,
            api_base=api_base,
            api_version=api_version,
            timeout=timeout,
            num_retries=num_retries,
        )
        lister = getattr(client, "list_models", None)
        if lister is None:
            raise _no_mode(Route(name, ""), "models.discovery")
        return await lister()  # type: ignore[no-any-return]


def _no_mode(route: Route, mode: str) -> NotFoundError:
    return NotFoundError(
        f"provider {route.provider!r} declares no {mode} (its spec has no such mode)",
        provider=route.provider,
        model=route.model or None,
        status_code=None,
    )
