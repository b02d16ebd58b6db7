"""``Router``: LiteLLM's router configuration, taken as it is, over the generated adapters.

``Router(model_list=[{"model_name": alias, "litellm_params": {"model": "provider/model", ...}}],
fallbacks=[{alias: [other, ...]}], num_retries=2)``: several deployments under one alias, picked
by ``routing_strategy`` (``simple-shuffle``, weighted by ``weight``/``rpm``/``tpm`` when a
deployment gives one; ``least-busy``). A retryable error or a timeout moves the call to another
deployment (``num_retries`` more tries in all); a deployment that fails more than
``allowed_fails`` times in a minute, or answers 429, is cooled down for ``cooldown_time``
seconds (unless it is its alias's only one). Then ``context_window_fallbacks`` (on ``ContextWindowExceededError``),
``content_policy_fallbacks`` and ``fallbacks`` name other aliases to try. A stream falls back
only before its first chunk (the router reads that chunk before handing the stream over).

The deployment that served a call is on its result: ``result.deployment`` (``model_name``,
``model``, ``model_id``, ``api_base``), also as LiteLLM's ``result._hidden_params``.
"""

from __future__ import annotations

import bisect
import itertools
import random
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from specgen_runtime.errors import (
    AuthenticationError,
    BadRequestError,
    ContentPolicyViolationError,
    ContextWindowExceededError,
    LLMError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    Timeout,
)
from specgen_runtime.types import ChatCompletion, ChatCompletionChunk, EmbeddingResponse

if TYPE_CHECKING:
    from specgen_runtime.entry import Gateway

__all__ = [
    "AsyncRoutedStream",
    "Deployment",
    "RoutedCompletion",
    "RoutedEmbeddingResponse",
    "RoutedStream",
    "Router",
    "router_class",
]

STRATEGIES = ("simple-shuffle", "least-busy")
#: litellm_params that say where and how to call (or are LiteLLM's bookkeeping), not what to send
CONNECTION = (
    "model",
    "api_key",
    "api_base",
    "base_url",
    "api_version",
    "timeout",
    "stream_timeout",
    "max_retries",
    "custom_llm_provider",
    "weight",
    "rpm",
    "tpm",
    "order",
    # LiteLLM's bookkeeping, not sent: tags, per-deployment prices, credential references
    "tags",
    "input_cost_per_token",
    "output_cost_per_token",
    "litellm_credential_name",
    "use_in_pass_through",
)
#: per-call keywords the router itself reads
ROUTER_KEYS = frozenset(
    ("num_retries", "fallbacks", "context_window_fallbacks", "content_policy_fallbacks")
)
#: errors that say the deployment (its key, its model, its endpoint) is unwell, not the request
_DEPLOYMENT_ERRORS = (AuthenticationError, PermissionDeniedError, NotFoundError)


class Deployment:
    """One entry of ``model_list``: an alias's provider, model and connection, and its health."""

    def __init__(self, gateway: Gateway, entry: Mapping[str, Any], position: int) -> None:
        params = entry.get("litellm_params")
        alias = entry.get("model_name")
        if not isinstance(alias, str) or not alias or not isinstance(params, Mapping):
            raise BadRequestError(
                "each model_list entry needs a model_name and litellm_params with a model",
                provider="router",
            )
        model = params.get("model")
        if not isinstance(model, str) or not model:
            raise BadRequestError(
                f"deployment {alias!r}: litellm_params.model is required", provider="router"
            )
        info = entry.get("model_info") if isinstance(entry.get("model_info"), Mapping) else {}
        self.model_name = alias
        self.model = model
        self.model_id = str(info.get("id") or f"{alias}/{position}")  # type: ignore[union-attr]
        self.provider = params.get("custom_llm_provider")
        self.route = gateway.resolve(model, self.provider)  # an unknown provider fails here
        self.connection: dict[str, Any] = {
            "api_key": params.get("api_key"),
            "api_base": params.get("api_base") or params.get("base_url"),
            "api_version": params.get("api_version"),
            "timeout": params.get("timeout"),
            # the router retries across deployments; a deployment's own client does not, unless told
            "num_retries": int(params.get("max_retries") or 0),
        }
        self.defaults = {k: v for k, v in params.items() if k not in CONNECTION}
        weight = next(
            (
                v
                for k in ("weight", "rpm", "tpm")
                for v in (params.get(k), entry.get(k))
                if v is not None
            ),
            None,
        )
        self.weight = float(weight) if isinstance(weight, int | float) and weight > 0 else None
        self.fixed: dict[str, Any] = {}  # the call keywords the router fills in (Router.__init__)
        self.in_flight = 0
        self.fails: deque[float] = deque()
        self.cooled_until = 0.0
        self.info = {
            "model_name": alias,
            "model": model,
            "model_id": self.model_id,
            "api_base": self.connection["api_base"],
            "provider": self.route.provider,
        }

    def __repr__(self) -> str:  # never shows the key
        return f"Deployment({self.model_name!r} -> {self.model!r}, id={self.model_id!r})"


class RoutedCompletion(ChatCompletion):
    """A router's completion: the adapter's result plus the deployment that served it."""

    __slots__ = ("deployment",)
    deployment: dict[str, Any]

    @property
    def _hidden_params(self) -> dict[str, Any]:
        return _hidden(self.deployment)


class RoutedEmbeddingResponse(EmbeddingResponse):
    """A router's embeddings result, with the deployment that served it."""

    __slots__ = ("deployment",)
    deployment: dict[str, Any]

    @property
    def _hidden_params(self) -> dict[str, Any]:
        return _hidden(self.deployment)


def _hidden(info: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "model_id": info["model_id"],
        "api_base": info["api_base"],
        "model_group": info["model_name"],
        "custom_llm_provider": info["provider"],
    }


class RoutedStream(Iterator[ChatCompletionChunk]):
    """A router's stream: the adapter's chunks (its first one already read), and ``deployment``."""

    def __init__(
        self,
        first: ChatCompletionChunk | None,
        rest: Iterator[ChatCompletionChunk],
        dep: Deployment,
    ) -> None:
        self._first = first
        self._rest = rest
        self._dep: Deployment | None = dep
        self.deployment = dep.info

    @property
    def _hidden_params(self) -> dict[str, Any]:
        return _hidden(self.deployment)

    def __iter__(self) -> RoutedStream:
        return self

    def __next__(self) -> ChatCompletionChunk:
        first = self._first
        if first is not None:
            self._first = None
            return first
        try:
            return next(self._rest)
        except BaseException:
            self._done()
            raise

    def close(self) -> None:
        close = getattr(self._rest, "close", None)
        if close is not None:
            close()
        self._done()

    def _done(self) -> None:
        if self._dep is not None:
            self._dep.in_flight -= 1
            self._dep = None

    def __del__(self) -> None:
        self._done()


class AsyncRoutedStream(AsyncIterator[ChatCompletionChunk]):
    """:class:`RoutedStream` for ``acompletion``."""

    def __init__(
        self,
        first: ChatCompletionChunk | None,
        rest: AsyncIterator[ChatCompletionChunk],
        dep: Deployment,
    ) -> None:
        self._first = first
        self._rest = rest
        self._dep: Deployment | None = dep
        self.deployment = dep.info

    @property
    def _hidden_params(self) -> dict[str, Any]:
        return _hidden(self.deployment)

    def __aiter__(self) -> AsyncRoutedStream:
        return self

    async def __anext__(self) -> ChatCompletionChunk:
        first = self._first
        if first is not None:
            self._first = None
            return first
        try:
            return await self._rest.__anext__()
        except BaseException:
            self._done()
            raise

    async def aclose(self) -> None:
        aclose = getattr(self._rest, "aclose", None)
        if aclose is not None:
            await aclose()
        self._done()

    def _done(self) -> None:
        if self._dep is not None:
            self._dep.in_flight -= 1
            self._dep = None

    def __del__(self) -> None:
        self._done()


def _fallback_map(value: Any, name: str) -> dict[str, list[str]]:
    """LiteLLM's ``[{alias: [other, ...]}, ...]`` as one mapping."""
    out: dict[str, list[str]] = {}
    for item in value or ():
        if not isinstance(item, Mapping):
            raise BadRequestError(
                f"{name}: each entry is {{alias: [other, ...]}}", provider="router"
            )
        for alias, others in item.items():
            targets = [others] if isinstance(others, str) else list(others or ())
            out.setdefault(str(alias), []).extend(str(t) for t in targets)
    return out


class Router:
    """LiteLLM's ``Router`` over the generated adapters (see the module's docstring)."""

    _gateway: Gateway  # set by :func:`router_class` for each generated package

    def __init__(
        self,
        model_list: Sequence[Mapping[str, Any]] | None = None,
        *,
        num_retries: int | None = None,
        fallbacks: Sequence[Mapping[str, Any]] | None = None,
        context_window_fallbacks: Sequence[Mapping[str, Any]] | None = None,
        content_policy_fallbacks: Sequence[Mapping[str, Any]] | None = None,
        default_fallbacks: Sequence[str] | None = None,
        routing_strategy: str = "simple-shuffle",
        allowed_fails: int | None = None,
        cooldown_time: float | None = None,
        timeout: float | None = None,
        retry_after: float = 0.0,
        **_ignored: Any,
    ) -> None:
        """Unknown LiteLLM keywords (caching, Redis, logging, ...) are accepted and ignored; an
        unknown ``routing_strategy`` is refused (``ValueError``)."""
        if routing_strategy not in STRATEGIES:
            raise ValueError(
                f"routing_strategy {routing_strategy!r} is not supported: one of {', '.join(STRATEGIES)}"
            )
        self.routing_strategy = routing_strategy
        self.num_retries = 2 if num_retries is None else max(0, int(num_retries))
        self.allowed_fails = 3 if allowed_fails is None else int(allowed_fails)
        self.cooldown_time = 5.0 if cooldown_time is None else float(cooldown_time)
        self.timeout = timeout
        self.retry_after = float(retry_after)
        self.fallbacks = _fallback_map(fallbacks, "fallbacks")
        self.context_window_fallbacks = _fallback_map(
            context_window_fallbacks, "context_window_fallbacks"
        )
        self.content_policy_fallbacks = _fallback_map(
            content_policy_fallbacks, "content_policy_fallbacks"
        )
        self.default_fallbacks = list(default_fallbacks or ()) or self.fallbacks.get("*", [])
        self.model_list = [dict(m) for m in model_list or ()]
        self._groups: dict[str, list[Deployment]] = {}
        for i, entry in enumerate(self.model_list):
            dep = Deployment(self._gateway, entry, i)
            conn = dep.connection
            dep.fixed = {
                "model": dep.model,
                "custom_llm_provider": dep.provider,
                "api_key": conn["api_key"],
                "api_base": conn["api_base"],
                "api_version": conn["api_version"],
                "timeout": conn["timeout"] or timeout,
                "num_retries": conn["num_retries"],
            }
            self._groups.setdefault(dep.model_name, []).append(dep)
        #: per alias, the cumulative weights of its deployments, when one gives a weight
        self._cum_weights: dict[str, list[float]] = {}
        for alias, group in self._groups.items():
            if any(d.weight for d in group):
                self._cum_weights[alias] = list(
                    itertools.accumulate(d.weight or 1.0 for d in group)
                )
        self._cooled_until = 0.0  # the latest cooldown's end, over every deployment
        for name, table in (
            ("fallbacks", self.fallbacks),
            ("context_window_fallbacks", self.context_window_fallbacks),
            ("content_policy_fallbacks", self.content_policy_fallbacks),
        ):
            unknown = sorted({t for targets in table.values() for t in targets} - set(self._groups))
            if unknown:
                raise BadRequestError(
                    f"{name} names aliases no model_list entry has: {', '.join(unknown)}",
                    provider="router",
                )
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ LiteLLM's accessors

    def get_model_names(self) -> list[str]:
        return list(self._groups)

    def get_model_list(self) -> list[dict[str, Any]]:
        return list(self.model_list)

    def deployments(self, model_name: str) -> list[Deployment]:
        return list(self._groups.get(model_name, ()))

    # ------------------------------------------------------------------ choosing and health

    def _group(self, alias: str) -> list[Deployment]:
        group = self._groups.get(alias)
        if not group:
            raise BadRequestError(
                f"no deployment is named {alias!r} in the router's model_list "
                f"(names: {', '.join(self._groups) or 'none'})",
                provider="router",
                model=alias,
            )
        return group

    def _pick(self, group: list[Deployment], tried: set[int]) -> Deployment | None:
        now = time.monotonic()
        if len(group) == 1:
            only = group[0]
            return only if only.cooled_until <= now else None
        if not tried and self._cooled_until <= now and self.routing_strategy == "simple-shuffle":
            # the happy path: nothing cooling, a first try: one draw over the precomputed weights
            cum = self._cum_weights.get(group[0].model_name)
            if cum is None:
                return group[int(random.random() * len(group))]
            return group[bisect.bisect(cum, random.random() * cum[-1])]
        healthy = [d for d in group if d.cooled_until <= now]
        fresh = [d for d in healthy if id(d) not in tried] or healthy
        if not fresh:
            return None
        if self.routing_strategy == "least-busy":
            low = min(d.in_flight for d in fresh)
            return random.choice([d for d in fresh if d.in_flight == low])
        if any(d.weight for d in fresh):
            return random.choices(fresh, weights=[d.weight or 1.0 for d in fresh])[0]
        return random.choice(fresh)

    def _failed(self, dep: Deployment, group: list[Deployment], error: LLMError) -> None:
        """Count a failure against ``dep``; cool it down past ``allowed_fails`` in a minute, or at
        once on a 429. An alias's only deployment is never cooled (as LiteLLM): there is nowhere
        else to send its calls, and its fallbacks still apply."""
        if len(group) < 2:
            return
        if not (error.retryable or isinstance(error, (Timeout, *_DEPLOYMENT_ERRORS))):
            return  # the request's fault, not the deployment's
        now = time.monotonic()
        with self._lock:
            fails = dep.fails
            fails.append(now)
            while fails and fails[0] < now - 60.0:
                fails.popleft()
            if len(fails) > self.allowed_fails or isinstance(error, RateLimitError):
                wait = self.cooldown_time
                if isinstance(error, RateLimitError) and error.retry_after:
                    wait = max(wait, min(float(error.retry_after), 60.0))
                dep.cooled_until = now + wait
                self._cooled_until = max(self._cooled_until, dep.cooled_until)
                fails.clear()

    @staticmethod
    def _moves(error: LLMError) -> bool:
        """Whether the call goes on to another try (another deployment when there is one)."""
        return error.retryable or isinstance(error, Timeout)

    def _unavailable(self, alias: str, group: list[Deployment]) -> RateLimitError:
        wait = max(0.0, min(d.cooled_until for d in group) - time.monotonic())
        return RateLimitError(
            f"no deployment of {alias!r} is available: all {len(group)} are cooling down",
            provider="router",
            model=alias,
            retryable=True,
            retry_after=wait,
        )

    def _fallbacks_for(self, alias: str, error: LLMError, kwargs: Mapping[str, Any]) -> list[str]:
        order: list[str] = []
        if isinstance(error, ContextWindowExceededError):
            cw = kwargs.get("context_window_fallbacks")
            order += (
                _fallback_map(cw, "context_window_fallbacks").get(alias, [])
                if cw is not None
                else self.context_window_fallbacks.get(alias, [])
            )
        if isinstance(error, ContentPolicyViolationError):
            cp = kwargs.get("content_policy_fallbacks")
            order += (
                _fallback_map(cp, "content_policy_fallbacks").get(alias, [])
                if cp is not None
                else self.content_policy_fallbacks.get(alias, [])
            )
        fb = kwargs.get("fallbacks")
        order += (_fallback_map(fb, "fallbacks") if fb is not None else self.fallbacks).get(
            alias, []
        ) or self.default_fallbacks
        seen = {alias}
        return [a for a in order if not (a in seen or seen.add(a))]  # type: ignore[func-returns-value]

    def _call_args(self, dep: Deployment, kwargs: Mapping[str, Any]) -> dict[str, Any]:
        """The call's keywords for ``dep``: its litellm_params' defaults, the call's own, then
        where and how to call (the deployment's; a call's ``timeout`` wins)."""
        if not kwargs.keys().isdisjoint(ROUTER_KEYS):
            kwargs = {k: v for k, v in kwargs.items() if k not in ROUTER_KEYS}
        args = {**dep.defaults, **kwargs, **dep.fixed} if dep.defaults else {**kwargs, **dep.fixed}
        timeout = kwargs.get("timeout")
        if timeout:
            args["timeout"] = timeout
        return args

    def _retries(self, kwargs: Mapping[str, Any]) -> int:
        n = kwargs.get("num_retries")
        return self.num_retries if n is None else max(0, int(n))

    # ------------------------------------------------------------------ sync

    def completion(
        self, model: str, messages: list[dict[str, Any]] | None = None, **kwargs: Any
    ) -> Any:
        """A chat completion from one of ``model``'s deployments (``stream=True``: a stream)."""
        return self._with_fallbacks("completion", model, {**kwargs, "messages": messages})

    def embedding(self, model: str, input: Any = None, **kwargs: Any) -> Any:
        """Embeddings from one of ``model``'s deployments."""
        return self._with_fallbacks("embedding", model, {**kwargs, "input": input})

    def _with_fallbacks(self, kind: str, alias: str, kwargs: dict[str, Any]) -> Any:
        error: LLMError | None = None
        try:
            return self._group_call(kind, alias, kwargs)
        except LLMError as exc:
            error = exc
        for other in self._fallbacks_for(alias, error, kwargs):
            try:
                return self._group_call(kind, other, kwargs)
            except LLMError:
                continue
        raise error

    def _group_call(self, kind: str, alias: str, kwargs: dict[str, Any]) -> Any:
        group = self._group(alias)
        tried: set[int] = set()
        error: LLMError | None = None
        for attempt in range(1 + self._retries(kwargs)):
            dep = self._pick(group, tried)
            if dep is None:
                break
            if id(dep) in tried and attempt:
                time.sleep(self._pause(error))
            tried.add(id(dep))
            dep.in_flight += 1
            try:
                return self._one(kind, dep, kwargs)
            except LLMError as exc:
                dep.in_flight -= 1
                error = exc
            self._failed(dep, group, error)
            if not self._moves(error):
                break
        raise error if error is not None else self._unavailable(alias, group)

    def _one(self, kind: str, dep: Deployment, kwargs: Mapping[str, Any]) -> Any:
        gw = self._gateway
        args = self._call_args(dep, kwargs)
        if kind == "embedding":
            emb = gw.embedding(**args)
            dep.in_flight -= 1
            return _routed_embeddings(emb, dep)
        if args.get("stream"):
            stream: Any = gw.completion(**args)
            first = next(stream, None)  # an error before the first chunk still falls back
            return RoutedStream(first, stream, dep)
        result = gw.completion(**args)
        dep.in_flight -= 1
        return _routed(result, dep)

    def _pause(self, error: LLMError | None) -> float:
        after = error.retry_after if error is not None and error.retry_after else 0.0
        return min(max(self.retry_after, after), 60.0)

    # ------------------------------------------------------------------ async

    async def acompletion(
        self, model: str, messages: list[dict[str, Any]] | None = None, **kwargs: Any
    ) -> Any:
        """:meth:`completion`, awaited (``stream=True``: an async stream)."""
        return await self._awith_fallbacks("completion", model, {**kwargs, "messages": messages})

    async def aembedding(self, model: str, input: Any = None, **kwargs: Any) -> Any:
        """:meth:`embedding`, awaited."""
        return await self._awith_fallbacks("embedding", model, {**kwargs, "input": input})

    async def _awith_fallbacks(self, kind: str, alias: str, kwargs: dict[str, Any]) -> Any:
        error: LLMError | None = None
        try:
            return await self._agroup_call(kind, alias, kwargs)
        except LLMError as exc:
            error = exc
        for other in self._fallbacks_for(alias, error, kwargs):
            try:
                return await self._agroup_call(kind, other, kwargs)
            except LLMError:
                continue
        raise error

    async def _agroup_call(self, kind: str, alias: str, kwargs: dict[str, Any]) -> Any:
        import asyncio

        group = self._group(alias)
        tried: set[int] = set()
        error: LLMError | None = None
        for attempt in range(1 + self._retries(kwargs)):
            dep = self._pick(group, tried)
            if dep is None:
                break
            if id(dep) in tried and attempt:
                await asyncio.sleep(self._pause(error))
            tried.add(id(dep))
            dep.in_flight += 1
            try:
                return await self._aone(kind, dep, kwargs)
            except LLMError as exc:
                dep.in_flight -= 1
                error = exc
            self._failed(dep, group, error)
            if not self._moves(error):
                break
        raise error if error is not None else self._unavailable(alias, group)

    async def _aone(self, kind: str, dep: Deployment, kwargs: Mapping[str, Any]) -> Any:
        gw = self._gateway
        args = self._call_args(dep, kwargs)
        if kind == "embedding":
            emb = await gw.aembedding(**args)
            dep.in_flight -= 1
            return _routed_embeddings(emb, dep)
        if args.get("stream"):
            astream: Any = await gw.acompletion(**args)
            try:
                first = (
                    await astream.__anext__()
                )  # an error before the first chunk still falls back
            except StopAsyncIteration:
                first = None
            return AsyncRoutedStream(first, astream, dep)
        result = await gw.acompletion(**args)
        dep.in_flight -= 1
        return _routed(result, dep)


def _routed(result: Any, dep: Deployment) -> RoutedCompletion:
    out = RoutedCompletion(result.to_dict())
    out.deployment = dep.info
    out._origin = dep.route
    return out


def _routed_embeddings(result: Any, dep: Deployment) -> RoutedEmbeddingResponse:
    out = RoutedEmbeddingResponse(result.to_dict())
    out.deployment = dep.info
    out._origin = dep.route
    return out


_CLASSES: dict[int, type[Router]] = {}


def router_class(gateway: Gateway) -> type[Router]:
    """The ``Router`` of one generated package (``specgen_providers.Router``)."""
    cls = _CLASSES.get(id(gateway))
    if cls is None:
        cls = _CLASSES[id(gateway)] = type(
            "Router", (Router,), {"_gateway": gateway, "__module__": gateway.package}
        )
    return cls
