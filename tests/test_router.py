"""Router: LiteLLM's configuration as it is, over real loopback HTTP (two or three fake providers):
load balancing, moving on after a retryable error or a timeout, cooldowns, fallbacks, context
window fallbacks, streams that fall back only before their first chunk, sync and async."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest
from entrypkg import build_package

from specgen.conform.fake import FakeProvider, Reply

from conftest import fixture_path

MSGS = [{"role": "user", "content": "Hello"}]
RESPONSE = fixture_path("openai", "chat", "response.json")
STREAM = fixture_path("openai", "chat", "stream.sse")


def ok() -> Reply:
    return Reply.file(RESPONSE)


def status(code: int, name: str | None = None) -> Reply:
    path = fixture_path("openai", "chat", name or f"error_{code}.json")
    return Reply.file(path, status=code, headers={"retry-after": "0"})


@pytest.fixture(scope="module")
def pkg(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    return build_package(tmp_path_factory.mktemp("entrypkg"))


@pytest.fixture
def fakes() -> Iterator[tuple[FakeProvider, FakeProvider, FakeProvider]]:
    with FakeProvider() as a, FakeProvider() as b, FakeProvider() as c:
        yield a, b, c


def deployment(alias: str, server: FakeProvider, model: str = "acme-ai/acme-large", **extra: Any) -> dict[str, Any]:
    return {"model_name": alias, "litellm_params": {"model": model, "api_key": "sk-" + alias, "api_base": server.url, **extra}}


def test_a_retryable_error_moves_the_call_to_another_deployment(pkg: ModuleType, fakes: tuple[FakeProvider, ...]) -> None:
    a, b, _ = fakes
    router = pkg.Router(model_list=[deployment("main", a), deployment("main", b)], allowed_fails=100)
    a.default = status(503)
    b.default = ok()
    for _ in range(20):
        r = router.completion(model="main", messages=MSGS)
        assert r.deployment["api_base"] == b.url  # whichever was picked first, b served
    assert 1 <= len(a.received) < 20 and len(b.received) == 20
    assert r.deployment["model_name"] == "main" and r.deployment["model"] == "acme-ai/acme-large"
    assert r.deployment["provider"] == "acme" and r._hidden_params["model_id"] == r.deployment["model_id"]
    assert r.choices[0].message.content == "Hello! How can I assist you today?"
    assert isinstance(r, pkg.acme.ChatCompletion)  # the adapter's result type


def test_a_bad_request_does_not_move(pkg: ModuleType, fakes: tuple[FakeProvider, ...]) -> None:
    a, b, _ = fakes
    router = pkg.Router(model_list=[deployment("main", a), deployment("main", b)])
    a.default = b.default = status(400, "error_400_context.json")
    with pytest.raises(pkg.ContextWindowExceededError):
        router.completion(model="main", messages=MSGS)
    assert len(a.received) + len(b.received) == 1


def test_a_timeout_moves_the_call(pkg: ModuleType, fakes: tuple[FakeProvider, ...]) -> None:
    a, b, _ = fakes
    release = threading.Event()
    a.default = Reply(hold=release, body=RESPONSE.read_bytes(), headers={"content-type": "application/json"})
    b.default = ok()
    router = pkg.Router(model_list=[deployment("main", a, timeout=0.3, order=1)])
    router2 = pkg.Router(model_list=[deployment("main", a, timeout=0.3), deployment("main", b, timeout=0.3)], num_retries=3)
    try:
        for _ in range(4):
            r = router2.completion(model="main", messages=MSGS)
            assert r.deployment["api_base"] == b.url
        with pytest.raises(pkg.Timeout):
            router.completion(model="main", messages=MSGS, num_retries=0)
    finally:
        release.set()


def test_a_failing_deployment_is_cooled_down(pkg: ModuleType, fakes: tuple[FakeProvider, ...]) -> None:
    a, b, _ = fakes
    a.default = status(500)
    b.default = ok()
    router = pkg.Router(model_list=[deployment("main", a), deployment("main", b)], allowed_fails=1, cooldown_time=0.5)
    for _ in range(12):
        assert router.completion(model="main", messages=MSGS).deployment["api_base"] == b.url
    assert len(a.received) == 2  # its second failure put it past allowed_fails: no more calls
    time.sleep(0.6)
    a.default = ok()
    seen = {router.completion(model="main", messages=MSGS).deployment["api_base"] for _ in range(30)}
    assert seen == {a.url, b.url}  # back in the rotation after cooldown_time


def test_a_rate_limited_deployment_is_cooled_at_once(pkg: ModuleType, fakes: tuple[FakeProvider, ...]) -> None:
    a, b, _ = fakes
    a.default = status(429)
    b.default = ok()
    router = pkg.Router(model_list=[deployment("main", a), deployment("main", b)], cooldown_time=30)
    for _ in range(10):
        router.completion(model="main", messages=MSGS)
    assert len(a.received) <= 1
    # every deployment cooling: the alias is unavailable, a RateLimitError naming it
    single = pkg.Router(model_list=[deployment("solo", a), deployment("solo", a)], cooldown_time=30, num_retries=1)
    with pytest.raises(pkg.RateLimitError):
        single.completion(model="solo", messages=MSGS)
    with pytest.raises(pkg.RateLimitError, match="no deployment of 'solo' is available"):
        single.completion(model="solo", messages=MSGS)
    # an alias's only deployment never rests: its next call is sent
    only = pkg.Router(model_list=[deployment("only", b)], allowed_fails=0, cooldown_time=30, num_retries=0)
    b.queue(status(429))
    with pytest.raises(pkg.RateLimitError):
        only.completion(model="only", messages=MSGS)
    assert only.completion(model="only", messages=MSGS).deployment["model_name"] == "only"


def test_fallbacks_and_context_window_fallbacks(pkg: ModuleType, fakes: tuple[FakeProvider, ...]) -> None:
    a, b, c = fakes
    a.default = status(400, "error_400_context.json")
    b.default = ok()
    c.default = ok()
    model_list = [deployment("small", a), deployment("big", b, model="beta/shared-1"), deployment("other", c)]
    router = pkg.Router(
        model_list=model_list, context_window_fallbacks=[{"small": ["big"]}], fallbacks=[{"small": ["other"]}], num_retries=0
    )
    r = router.completion(model="small", messages=MSGS)
    assert r.deployment["model_name"] == "big" and b.last.json()["model"] == "shared-1"
    a.default = status(503)
    assert router.completion(model="small", messages=MSGS).deployment["model_name"] == "other"
    # per-call fallbacks, LiteLLM's keyword
    assert router.completion(model="small", messages=MSGS, fallbacks=[{"small": ["big"]}]).deployment["model_name"] == "big"
    # no fallback left: the original error
    bare = pkg.Router(model_list=model_list, num_retries=0)
    with pytest.raises(pkg.ServiceUnavailableError):
        bare.completion(model="small", messages=MSGS)


def test_streams_fall_back_only_before_the_first_chunk(pkg: ModuleType, fakes: tuple[FakeProvider, ...]) -> None:
    a, b, _ = fakes
    raw = STREAM.read_bytes()
    a.default = status(503)
    b.default = Reply.stream(raw, "text/event-stream")
    router = pkg.Router(model_list=[deployment("main", a), deployment("other", b)], fallbacks=[{"main": ["other"]}], num_retries=0)
    stream = router.completion(model="main", messages=MSGS, stream=True)
    assert stream.deployment["model_name"] == "other"
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    # a stream that fails after its first chunk raises to the caller: no fallback mid-stream
    first_event = raw.split(b"\n\n")[0] + b"\n\n"
    a.default = Reply.stream(first_event, "text/event-stream", [first_event, b'data: {"error": {"message": "boom", "type": "server_error"}}\n\n'])
    b.reset()
    stream = router.completion(model="main", messages=MSGS, stream=True)
    assert stream.deployment["model_name"] == "main"
    with pytest.raises(pkg.APIError):
        list(stream)
    assert b.received == []


def test_load_balancing_strategies(pkg: ModuleType, fakes: tuple[FakeProvider, ...]) -> None:
    a, b, _ = fakes
    weighted = pkg.Router(model_list=[deployment("m", a, weight=1), deployment("m", b, weight=99)])
    group = weighted.deployments("m")
    picks = [weighted._pick(group, set()) for _ in range(400)]
    assert sum(p is group[1] for p in picks) > 340
    shuffled = pkg.Router(model_list=[deployment("m", a), deployment("m", b)])
    group = shuffled.deployments("m")
    picks = [shuffled._pick(group, set()) for _ in range(400)]
    assert 100 < sum(p is group[0] for p in picks) < 300
    busy = pkg.Router(model_list=[deployment("m", a), deployment("m", b)], routing_strategy="least-busy")
    group = busy.deployments("m")
    group[0].in_flight = 3
    assert all(busy._pick(group, set()) is group[1] for _ in range(20))
    with pytest.raises(ValueError, match="routing_strategy"):
        pkg.Router(model_list=[deployment("m", a)], routing_strategy="latency-based-routing")
    with pytest.raises(pkg.BadRequestError, match="no deployment is named"):
        busy.completion(model="nope", messages=MSGS)
    with pytest.raises(pkg.BadRequestError):
        pkg.Router(model_list=[{"model_name": "m", "litellm_params": {"model": "nowhere/x"}}])
    with pytest.raises(pkg.BadRequestError, match="backup"):
        pkg.Router(model_list=[deployment("m", a)], fallbacks=[{"m": ["backup"]}])
    assert busy.get_model_names() == ["m"] and "sk-m" not in repr(group)


def test_in_flight_counts_settle(pkg: ModuleType, fakes: tuple[FakeProvider, ...]) -> None:
    a, _, _ = fakes
    raw = STREAM.read_bytes()
    a.queue(ok(), status(500), Reply.stream(raw, "text/event-stream"))
    router = pkg.Router(model_list=[deployment("m", a)], num_retries=0)
    router.completion(model="m", messages=MSGS)
    with pytest.raises(pkg.InternalServerError):
        router.completion(model="m", messages=MSGS)
    list(router.completion(model="m", messages=MSGS, stream=True))
    assert router.deployments("m")[0].in_flight == 0


def test_async_router(pkg: ModuleType, fakes: tuple[FakeProvider, ...]) -> None:
    a, b, c = fakes
    raw = STREAM.read_bytes()
    a.default = status(503)
    b.default = ok()
    c.default = Reply.stream(raw, "text/event-stream")
    router = pkg.Router(
        model_list=[deployment("main", a), deployment("main", b), deployment("streamer", a), deployment("streamer", c)],
        routing_strategy="least-busy",
    )

    async def main() -> tuple[str, str, str]:
        results = await asyncio.gather(*[router.acompletion(model="main", messages=MSGS) for _ in range(5)])
        assert {r.deployment["api_base"] for r in results} == {b.url}
        stream = await router.acompletion(model="streamer", messages=MSGS, stream=True)
        text = "".join([ch.choices[0].delta.content or "" async for ch in stream if ch.choices])
        return results[0].choices[0].message.content or "", text, stream.deployment["api_base"]

    content, text, base = asyncio.run(main())
    assert content and text and base == c.url


def test_router_embeddings(pkg: ModuleType, fakes: tuple[FakeProvider, ...]) -> None:
    a, b, _ = fakes
    a.default = status(503)
    b.default = Reply.file(fixture_path("openai", "embeddings", "response.json"))
    router = pkg.Router(model_list=[deployment("emb", a, model="acme-ai/acme-embed"), deployment("emb", b, model="acme-ai/acme-embed")])
    r = router.embedding(model="emb", input=["x"])
    assert r.deployment["api_base"] == b.url and r.data
    r = asyncio.run(router.aembedding(model="emb", input=["x"]))
    assert r.deployment["api_base"] == b.url
