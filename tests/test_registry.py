"""The model registry from the specs: get_model_info(), supports(), cost_per_token(),
completion_cost() (cached tokens at their own price) and model_cost."""

from __future__ import annotations

import subprocess
import sys
from types import ModuleType

import pytest
from entrypkg import build_package

from specgen.conform.fake import FakeProvider, Reply

MSGS = [{"role": "user", "content": "Hello"}]


@pytest.fixture(scope="module")
def pkg(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    return build_package(tmp_path_factory.mktemp("entrypkg"))


def test_get_model_info_has_litellm_keys_from_the_spec(pkg: ModuleType) -> None:
    info = pkg.get_model_info("acme-ai/acme-large")
    assert info == pkg.get_model_info("acme-large") == pkg.get_model_info("acme_old/acme-large")
    assert info["key"] == "acme-ai/acme-large" and info["provider"] == info["litellm_provider"] == "acme"
    assert (info["max_input_tokens"], info["max_output_tokens"], info["max_tokens"]) == (128000, 8192, 8192)
    assert (info["input_cost_per_token"], info["output_cost_per_token"]) == (0.000002, 0.00001)
    assert (info["cache_read_input_token_cost"], info["cache_creation_input_token_cost"]) == (0.0000005, 0.0000025)
    assert info["supports_function_calling"] and info["supports_vision"] and info["supports_prompt_caching"]
    assert info["supports_reasoning"] is None  # the spec does not say
    assert info["mode"] == "chat" and pkg.get_model_info("acme-embed")["mode"] == "embedding"
    # a dated snapshot id a provider answers with reads as the id it dates
    assert pkg.get_model_info("acme-large-20250101")["id"] == "acme-large"
    assert pkg.get_model_info("acme-ai/acme-large-2025-01-01")["id"] == "acme-large"
    with pytest.raises(pkg.NotFoundError):
        pkg.get_model_info("acme-ai/acme-unknown")
    with pytest.raises(pkg.BadRequestError, match="several providers"):
        pkg.get_model_info("shared-1")
    assert pkg.get_model_info("beta/shared-1")["max_input_tokens"] == 16000


def test_supports(pkg: ModuleType) -> None:
    assert pkg.supports("acme-large", "tools") and pkg.supports("acme-large", "function_calling")
    assert pkg.supports("acme-large", "vision") and not pkg.supports("acme-large", "reasoning")
    assert pkg.supports("acme-small", "reasoning") and pkg.supports("acme-small", "response_format")
    assert pkg.supports_function_calling("acme-large") and pkg.supports_vision("acme-ai/acme-large")
    assert pkg.supports_reasoning("acme-small") and pkg.supports_response_schema("acme-small")
    assert pkg.supports_prompt_caching("acme-large") and not pkg.supports_prompt_caching("acme-small")
    assert not pkg.supports("no-such-model", "tools")  # unknown: False, as LiteLLM answers
    with pytest.raises(ValueError, match="unknown capability"):
        pkg.supports("acme-large", "telepathy")


def test_cost_per_token_counts_cached_tokens_at_their_price(pkg: ModuleType) -> None:
    prompt, completion = pkg.cost_per_token(model="acme-large", prompt_tokens=1000, completion_tokens=100)
    assert prompt == pytest.approx(1000 * 0.000002) and completion == pytest.approx(100 * 0.00001)
    prompt, _ = pkg.cost_per_token(
        model="acme-ai/acme-large", prompt_tokens=1000, completion_tokens=0, cache_read_input_tokens=600, cache_creation_input_tokens=100
    )
    assert prompt == pytest.approx(300 * 0.000002 + 600 * 0.0000005 + 100 * 0.0000025)
    # no cache price in the spec: cached tokens cost the input price
    prompt, _ = pkg.cost_per_token(model="acme-small", prompt_tokens=1000, cache_read_input_tokens=600)
    assert prompt == pytest.approx(1000 * 0.0000001)
    with pytest.raises(pkg.NotFoundError):
        pkg.cost_per_token(model="acme-ai/nope", prompt_tokens=1)


def test_completion_cost_of_a_result(pkg: ModuleType, fake: FakeProvider) -> None:
    body = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "acme-large-2025-06-01",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1000, "completion_tokens": 50, "total_tokens": 1050, "prompt_tokens_details": {"cached_tokens": 400}},
    }
    fake.queue(Reply.json(body), Reply.json({**body, "model": "shared-1"}))
    r = pkg.completion(model="acme-large", messages=MSGS, api_key="k", api_base=fake.url)
    expected = 600 * 0.000002 + 400 * 0.0000005 + 50 * 0.00001
    assert pkg.completion_cost(completion_response=r) == pytest.approx(expected)
    assert pkg.completion_cost(completion_response=r.to_dict()) == pytest.approx(expected)  # a dict: by its model
    # the answer names a model several specs know: the provider completion() sent it to decides
    r = pkg.completion(model="beta/shared-1", messages=MSGS, api_key="k", api_base=fake.url)
    assert pkg.completion_cost(completion_response=r) == pytest.approx(1000 * 0.000003 + 50 * 0.000004)
    assert pkg.completion_cost(completion_response=r, model="acme-ai/shared-1") == pytest.approx(1000 * 0.000001 + 50 * 0.000002)
    with pytest.raises(pkg.BadRequestError):
        pkg.completion_cost(completion_response=r.to_dict())  # shared-1 alone: ambiguous
    with pytest.raises(pkg.BadRequestError):
        pkg.completion_cost()


def test_anthropic_cache_usage_is_priced_per_kind(pkg: ModuleType, fake: FakeProvider) -> None:
    """Anthropic reports cache reads and writes apart; the adapter's usage keeps both."""
    from conftest import fixture_path

    fake.queue(Reply.file(fixture_path("anthropic", "chat", "response.json")))
    r = pkg.completion(model="anthropic/claude-sonnet-4-5", messages=MSGS, api_key="k", api_base=fake.url)
    usage = r.usage.to_dict()  # input 2095, cache read 1800, cache write 248, output 503
    assert usage["prompt_tokens"] == 2095 + 1800 + 248
    info = pkg.get_model_info("anthropic/claude-sonnet-4-5")
    read = info["cache_read_input_token_cost"] or info["input_cost_per_token"]
    write = info["cache_creation_input_token_cost"] or info["input_cost_per_token"]
    expected = 2095 * info["input_cost_per_token"] + 1800 * read + 248 * write + 503 * info["output_cost_per_token"]
    assert pkg.completion_cost(completion_response=r) == pytest.approx(expected)


def test_model_cost_is_a_lazy_mapping(pkg: ModuleType) -> None:
    assert pkg.model_cost["acme-ai/acme-large"]["input_cost_per_token"] == 0.000002
    assert "acme-large" in pkg.model_cost and "nope/nope" not in pkg.model_cost
    with pytest.raises(KeyError):
        pkg.model_cost["acme-ai/none"]
    keys = list(pkg.model_cost)
    assert "acme-ai/acme-large" in keys and "beta/shared-1" in keys and "anthropic/claude-sonnet-4-5" in keys
    assert len(pkg.model_cost) == len(keys)


def test_builtin_registry_imports_only_the_adapter_it_needs() -> None:
    code = (
        "import sys, specgen_providers as p;"
        "i = p.get_model_info('anthropic/claude-sonnet-4-5');"
        "print(i['max_input_tokens'], i['provider'], sorted(m for m in sys.modules if m.startswith('specgen_providers.')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "200000 anthropic ['specgen_providers._index', 'specgen_providers.anthropic']"


def test_the_audit_lists_where_known_models_differ_from_litellms_cost_map(tmp_path_factory: pytest.TempPathFactory) -> None:
    from entrypkg import ACME

    from specgen.audit import model_facts
    from specgen.audit.reference import _model_facts
    from specgen.build.ir import build_ir
    from specgen.spec.resolve import load_specs

    specs = tmp_path_factory.mktemp("facts")
    (specs / "acme.yaml").write_text(ACME)
    (spec,) = load_specs(specs)
    cost_map = {  # what `specgen reference sync` keeps of LiteLLM's cost map: chat and embedding models
        "acme-large": {"mode": "chat", "max_input_tokens": 128000, "max_output_tokens": 4096, "input_cost_per_token": 0.000002,
                       "output_cost_per_token": 0.00001, "cache_read_input_token_cost": 0.0000005, "supports_vision": True},
        "acme-small": {"mode": "chat", "max_input_tokens": 32000, "max_output_tokens": 2048, "input_cost_per_token": 0.0000001,
                       "output_cost_per_token": 0.0000004},
        "acme-image": {"mode": "image_generation", "input_cost_per_token": 1.0},
        "acme-unpriced": None,
    }  # fmt: skip
    facts = _model_facts(cost_map)
    assert sorted(facts) == ["acme-large", "acme-small"] and "supports_vision" not in facts["acme-large"]
    reference = {"acme_old": {"model_facts": facts}}  # LiteLLM names the provider by an alias of ours
    out = model_facts.compare({"acme": build_ir(spec)}, reference, {"acme": spec.aliases})
    rows = {(r["model"], r["fact"]): (r["kind"], r["spec"], r["litellm"]) for r in out["providers"]["acme"]["differences"]}
    assert rows[("acme-large", "max_output")] == ("differs", 8192, 4096)
    assert rows[("acme-large", "cache_creation_input_token_cost")] == ("spec only", 0.0000025, None)
    assert rows[("acme-small", "max_output")] == ("litellm only", None, 2048)
    assert ("acme-large", "input_cost_per_token") not in rows  # equal: not listed
    assert out["providers"]["acme"]["not_in_cost_map"] == ["acme-embed", "shared-1"]
    text = model_facts.markdown(out)
    assert "| acme | `acme-large` | max_output | 8192 | 4096 |" in text
    assert "acme: not in the cost map: `acme-embed`, `shared-1`" in text
    assert model_facts.markdown(out) == text  # deterministic
