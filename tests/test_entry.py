"""completion(), acompletion(), embedding(), aembedding(), list_models(): one entry point for every
provider, over real loopback HTTP (the fake provider), on a package built from specs written here
(tests/entrypkg.py) and on the built-in one."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from entrypkg import PACKAGE, build_package
from hypothesis import given, settings
from hypothesis import strategies as st

import specgen_runtime
from specgen.conform.fake import FakeProvider, Reply
from specgen_runtime import errors as E
from specgen_runtime.entry import gateway
from specgen_runtime.exports import EXPORTS

from conftest import fixture_path

MSGS = [{"role": "user", "content": "Hello"}]
RESPONSE = fixture_path("openai", "chat", "response.json")
STREAM = fixture_path("openai", "chat", "stream.sse")


@pytest.fixture(scope="module")
def pkg(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    return build_package(tmp_path_factory.mktemp("entrypkg"))


def run(code: str) -> str:
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return proc.stdout.strip()


def test_importing_the_package_imports_no_adapter_nor_the_entry_points() -> None:
    code = (
        "import sys, specgen_providers as p;"
        "print(sorted(m for m in sys.modules if m.startswith(('specgen_providers.', 'specgen_runtime'))), 'httpx' in sys.modules);"
        "p.completion; p.RateLimitError; p.Router; p.get_model_info;"
        "print(sorted(m for m in sys.modules if m.startswith('specgen_providers.')), 'httpx' in sys.modules);"
        "from specgen_providers import anthropic;"
        "print(sorted(m for m in sys.modules if m.startswith('specgen_providers.')))"
    )
    before, touched, adapter = run(code).splitlines()
    assert before == "[] False"  # nothing but the package itself (no runtime, no httpx)
    assert touched == "[] False"  # the entry points are bound without loading any adapter or httpx
    assert adapter == "['specgen_providers.anthropic']"


def test_an_adapter_import_does_not_load_the_entry_points() -> None:
    assert run("import sys; from specgen_providers import openai; print('specgen_runtime.entry' in sys.modules)") == "False"


def test_every_export_resolves_and_errors_are_the_runtimes(pkg: ModuleType) -> None:
    for name in EXPORTS:
        assert getattr(pkg, name) is not None
    assert pkg.RateLimitError is E.RateLimitError
    assert pkg.ContextWindowExceededError is specgen_runtime.ContextWindowExceededError
    assert pkg.APIError is E.LLMError
    assert pkg.exceptions.RateLimitError is E.RateLimitError
    assert set(EXPORTS) <= set(dir(pkg))
    with pytest.raises(AttributeError):
        pkg.no_such_thing  # noqa: B018


def test_prefix_alias_name_and_bare_id_route_to_the_provider(pkg: ModuleType, fake: FakeProvider) -> None:
    for model in ("acme-ai/acme-large", "acme_old/acme-large", "acme/acme-large", "acme-large"):
        fake.queue(Reply.file(RESPONSE))
        r = pkg.completion(model=model, messages=MSGS, api_key="sk-acme", api_base=fake.url + "/v1")
        assert fake.last.path == "/v1/chat/completions"
        assert fake.last.json()["model"] == "acme-large", model
        assert fake.last.headers["authorization"] == "Bearer sk-acme"
        assert r.choices[0].message.content == "Hello! How can I assist you today?"
        assert r.to_dict() == json.loads(RESPONSE.read_text())  # the adapter's own result
    # custom_llm_provider names the provider for a model without a prefix
    fake.queue(Reply.file(RESPONSE))
    pkg.completion(model="anything-new", custom_llm_provider="beta", messages=MSGS, api_key="k", api_base=fake.url)
    assert fake.last.json()["model"] == "anything-new"
    assert pkg.get_llm_provider("acme-ai/acme-large") == ("acme-large", "acme", None, None)


def test_a_bare_id_several_specs_know_goes_to_the_one_that_extends_none(pkg: ModuleType, fake: FakeProvider) -> None:
    gw = gateway(PACKAGE)
    assert gw.resolve("claude-sonnet-4-5") == ("anthropic", "claude-sonnet-4-5")  # not resell (extends anthropic)
    assert gw.resolve("resell/claude-sonnet-4-5") == ("resell", "resell/claude-sonnet-4-5")
    assert pkg.get_model_info("resell/claude-sonnet-4-5")["max_input_tokens"] == 100000
    assert pkg.get_model_info("claude-sonnet-4-5")["provider"] == "anthropic"


def test_an_ambiguous_or_unknown_bare_model_is_a_bad_request(pkg: ModuleType) -> None:
    with pytest.raises(pkg.BadRequestError) as info:
        pkg.completion(model="shared-1", messages=MSGS)
    assert "acme-ai/shared-1" in info.value.message and "beta/shared-1" in info.value.message
    with pytest.raises(pkg.BadRequestError, match="cannot tell the provider"):
        pkg.completion(model="gpt-nothing", messages=MSGS)
    with pytest.raises(pkg.BadRequestError, match="unknown provider"):
        pkg.completion(model="x", custom_llm_provider="nope", messages=MSGS)


def test_clients_are_pooled_per_provider_base_url_and_key(pkg: ModuleType, fake: FakeProvider) -> None:
    gw = gateway(PACKAGE)
    fake.queue(*[Reply.file(RESPONSE) for _ in range(3)])
    before = fake.connections
    for _ in range(2):
        pkg.completion(model="acme-large", messages=MSGS, api_key="pool-key", api_base=fake.url)
    assert fake.connections - before == 1  # one client, one kept-alive connection
    one = gw.client("acme", api_key="pool-key", api_base=fake.url)
    assert gw.client("acme", api_key="pool-key", api_base=fake.url) is one
    assert gw.client("acme", api_key="other-key", api_base=fake.url) is not one
    assert gw.client("beta", api_key="pool-key", api_base=fake.url) is not one
    pkg.completion(model="acme-large", messages=MSGS, api_key="other-key", api_base=fake.url)
    assert fake.last.headers["authorization"] == "Bearer other-key"
    assert "pool-key" not in repr(one)


def test_stream_returns_an_iterator_and_extra_headers_pass(pkg: ModuleType, fake: FakeProvider) -> None:
    raw = STREAM.read_bytes()
    fake.queue(Reply.stream(raw, "text/event-stream", [raw[i : i + 7] for i in range(0, len(raw), 7)]))
    chunks = pkg.completion(
        model="acme-ai/acme-large", messages=MSGS, stream=True, api_key="k", api_base=fake.url, extra_headers={"x-trace": "1"}
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text and fake.last.json()["stream"] is True and fake.last.headers["x-trace"] == "1"


def test_errors_are_the_adapters_own_with_litellm_attributes(pkg: ModuleType, fake: FakeProvider) -> None:
    fake.queue(Reply.file(fixture_path("openai", "chat", "error_429.json"), status=429))
    with pytest.raises(pkg.RateLimitError) as info:
        pkg.completion(model="acme-large", messages=MSGS, api_key="sk-hidden-429", api_base=fake.url, num_retries=0)
    err = info.value
    assert (err.status_code, err.llm_provider, err.provider, err.model) == (429, "acme", "acme", "acme-large")
    assert err.message and "sk-hidden-429" not in str(err) + repr(err)
    assert len(fake.received) == 1  # num_retries=0: no retry
    fake.reset()
    fake.queue(Reply.file(fixture_path("openai", "chat", "error_429.json"), status=429, headers={"retry-after": "0"}), Reply.file(RESPONSE))
    pkg.completion(model="acme-large", messages=MSGS, api_key="k", api_base=fake.url, num_retries=1)
    assert len(fake.received) == 2  # num_retries=1: one retry


def test_drop_params_per_call_and_module_wide(pkg: ModuleType, fake: FakeProvider) -> None:
    base = {"model": "anthropic/claude-sonnet-4-5", "messages": MSGS, "api_key": "k", "api_base": fake.url}
    with pytest.raises(pkg.UnsupportedParamsError) as info:
        pkg.completion(**base, logprobs=True)
    assert info.value.param == "logprobs" and info.value.droppable
    fake.queue(Reply.file(fixture_path("anthropic", "chat", "response.json")))
    pkg.completion(**base, logprobs=True, frequency_penalty=0.5, drop_params=True)
    assert "logprobs" not in fake.last.json() and "frequency_penalty" not in fake.last.json()
    with pytest.raises(pkg.UnsupportedParamsError) as out_of_range:  # a value out of range is still refused
        pkg.completion(**base, temperature=1.5, drop_params=True)
    assert not out_of_range.value.droppable
    pkg.drop_params = True
    try:
        fake.queue(Reply.file(fixture_path("anthropic", "chat", "response.json")))
        pkg.completion(**base, top_logprobs=2)
        assert "top_logprobs" not in fake.last.json()
        with pytest.raises(pkg.UnsupportedParamsError):
            pkg.completion(**base, top_logprobs=2, drop_params=False)  # the call's switch wins
    finally:
        pkg.drop_params = False
    fake.queue(Reply.file(fixture_path("anthropic", "chat", "response.json")))
    pkg.completion(**base, top_k=3, additional_drop_params=["top_k"], metadata={"ignored": True})
    assert "top_k" not in fake.last.json() and "metadata" not in fake.last.json()


def test_embedding_and_list_models(pkg: ModuleType, fake: FakeProvider) -> None:
    fake.queue(Reply.file(fixture_path("openai", "embeddings", "response.json")))
    r = pkg.embedding(model="acme-ai/acme-embed", input=["a"], api_key="k", api_base=fake.url)
    assert fake.last.path == "/embeddings" and fake.last.json()["model"] == "acme-embed" and r.data
    fake.queue(Reply.file(fixture_path("openai", "models", "response.json")))
    models = pkg.list_models("acme-ai", api_key="k", api_base=fake.url)
    assert fake.last.path == "/models" and [m["id"] for m in models] == ["gpt-4o", "o3", "gpt-4.1-nano"]
    with pytest.raises(pkg.NotFoundError, match="no embeddings"):
        pkg.embedding(model="anthropic/claude-sonnet-4-5", input=["a"], api_key="k", api_base=fake.url)


def test_async_calls(pkg: ModuleType, fake: FakeProvider) -> None:
    raw = STREAM.read_bytes()
    fake.queue(
        Reply.file(RESPONSE),
        Reply.stream(raw, "text/event-stream"),
        Reply.file(fixture_path("openai", "embeddings", "response.json")),
        Reply.file(fixture_path("openai", "models", "response.json")),
        Reply.file(fixture_path("openai", "chat", "error_401.json"), status=401),
    )

    async def main() -> tuple[Any, ...]:
        r = await pkg.acompletion(model="acme-large", messages=MSGS, api_key="k", api_base=fake.url)
        stream = await pkg.acompletion(model="acme-large", messages=MSGS, api_key="k", api_base=fake.url, stream=True)
        text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
        emb = await pkg.aembedding(model="acme-embed", input="a", api_key="k", api_base=fake.url)
        listed = await pkg.alist_models("acme", api_key="k", api_base=fake.url)
        try:
            await pkg.acompletion(model="acme-large", messages=MSGS, api_key="k", api_base=fake.url)
        except pkg.AuthenticationError as exc:
            return r.choices[0].message.content, text, len(emb.data), len(listed), exc.status_code
        return ()

    content, text, n_emb, n_models, status = asyncio.run(main())
    assert content and text and n_emb and n_models == 3 and status == 401
    # a second event loop gets its own clients (connections belong to their loop)
    fake.queue(Reply.file(RESPONSE))
    assert asyncio.run(pkg.acompletion(model="acme-large", messages=MSGS, api_key="k", api_base=fake.url)).choices


def test_builtin_package_routes_to_the_builtin_adapters(fake: FakeProvider) -> None:
    import specgen_providers as litellm

    fake.queue(Reply.file(fixture_path("anthropic", "chat", "response.json")))
    r = litellm.completion(model="anthropic/claude-sonnet-4-5", messages=MSGS, api_key="k", api_base=fake.url, max_tokens=20)
    assert fake.last.path == "/v1/messages" and fake.last.json()["model"] == "claude-sonnet-4-5"
    assert r.choices[0].message.content == "Hi! My name is Claude."


LITELLM_SCRIPT = """
import asyncio, sys
import {module} as litellm

URL = sys.argv[1]


def say(*values):
    print("|", *values)  # LiteLLM prints lines of its own


MSGS = [{{"role": "user", "content": "Hello"}}]
resp = litellm.completion(model="openai/gpt-4o", messages=MSGS, api_base=URL, api_key="sk-test", temperature=0.2)
say(resp.choices[0].message.content)
say(resp["choices"][0]["message"]["content"])
say(resp.usage.prompt_tokens, resp.usage.completion_tokens)
text = ""
for chunk in litellm.completion(model="openai/gpt-4o", messages=MSGS, api_base=URL, api_key="sk-test", stream=True):
    if chunk.choices:
        text += chunk.choices[0].delta.content or ""
say(bool(text))
try:
    litellm.completion(model="openai/gpt-4o", messages=MSGS, api_base=URL, api_key="sk-test", num_retries=0)
except litellm.RateLimitError as e:
    say("RateLimitError", e.status_code, e.llm_provider)
say(round(litellm.completion_cost(completion_response=resp), 8))
say(litellm.cost_per_token(model="gpt-4o", prompt_tokens=1000, completion_tokens=100))
info = litellm.get_model_info("gpt-4o")
say(info["max_input_tokens"], info["input_cost_per_token"])
say(litellm.supports_vision("gpt-4o"), litellm.supports_function_calling("openai/gpt-4o"))
router = litellm.Router(model_list=[
    {{"model_name": "main", "litellm_params": {{"model": "openai/gpt-4o", "api_key": "sk-test", "api_base": URL}}}},
])
say(router.completion(model="main", messages=MSGS).choices[0].message.content)
async def main():
    r = await litellm.acompletion(model="openai/gpt-4o", messages=MSGS, api_base=URL, api_key="sk-test")
    return r.choices[0].message.content
say(asyncio.run(main()))
"""


@pytest.mark.parametrize("module", ["specgen_providers", "litellm"])
def test_a_litellm_script_runs_unchanged(module: str, fake: FakeProvider, tmp_path: Path) -> None:
    """One script written against LiteLLM's common path, run with ``import specgen_providers as
    litellm`` and (when installed) with LiteLLM itself: the same output."""
    if module == "litellm":
        pytest.importorskip("litellm")
    rate = Reply.file(fixture_path("openai", "chat", "error_429.json"), status=429)
    raw = STREAM.read_bytes()
    fake.queue(
        Reply.file(RESPONSE), Reply.stream(raw, "text/event-stream"), rate, rate, rate, Reply.file(RESPONSE), Reply.file(RESPONSE)
    )
    script = tmp_path / "script.py"
    script.write_text(LITELLM_SCRIPT.format(module=module))
    env = {"LITELLM_LOCAL_MODEL_COST_MAP": "True", "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([sys.executable, str(script), fake.url], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = [line[2:] for line in proc.stdout.splitlines() if line.startswith("| ")]
    hello = "Hello! How can I assist you today?"
    assert lines[:5] == [hello, hello, "19 10", "True", "RateLimitError 429 openai"]
    assert lines[5] == str(round(19 * 2.5e-06 + 10 * 1e-05, 8))
    assert lines[6:] == ["(0.0025, 0.001)", "128000 2.5e-06", "True True", hello, hello]


@given(text=st.text(alphabet=st.characters(blacklist_characters="/", blacklist_categories=("Cs",)), min_size=1, max_size=30))
@settings(max_examples=60, deadline=None)
def test_every_prefix_routes_any_model_to_its_provider(text: str) -> None:
    """Over the built-in package's index: ``slug/model`` goes to the slug's provider, whose adapter
    then sends ``model`` (its own prefix stripped, a name or alias never sent)."""
    import specgen_providers._index as index

    gw = gateway("specgen_providers")
    for slug, provider in index.PREFIXES.items():
        route = gw.resolve(f"{slug}/{text}")
        assert route.provider == provider
        own = index.MODEL_PREFIXES[provider]
        sent = route.model[len(own) :] if own and route.model.startswith(own) else route.model
        assert sent == text or route.model in index.KNOWN  # a known id that begins with the prefix is sent whole


REFUSED = {"logprobs": True, "top_logprobs": 2, "frequency_penalty": 0.5, "presence_penalty": 0.5, "logit_bias": {"1": 1}}


@given(refused=st.sets(st.sampled_from(sorted(REFUSED))), temperature=st.floats(0, 1))
@settings(max_examples=25, deadline=None)
def test_drop_params_leaves_out_exactly_the_refused_params(refused: set[str], temperature: float) -> None:
    """Anthropic refuses these params as such: with drop_params every one is left out, the rest of
    the request is as without them (the request is built without I/O, so no server is needed)."""
    from specgen_providers import anthropic

    client = anthropic.Client(api_key="k", base_url="http://127.0.0.1:9")
    client.drop_params = True
    params = {"model": "claude-sonnet-4-5", "messages": MSGS, "temperature": temperature, "max_tokens": 10}
    with_refused = client._build(anthropic.chat, {**params, **{k: REFUSED[k] for k in refused}}, "k")
    plain = client._build(anthropic.chat, params, "k")
    assert with_refused.content == plain.content
    client.drop_params = False
    if refused:
        with pytest.raises(E.UnsupportedParamsError):
            client._build(anthropic.chat, {**params, **{k: REFUSED[k] for k in refused}}, "k")
