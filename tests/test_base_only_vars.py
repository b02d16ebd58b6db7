"""A template variable only the default base URL names (Azure's {resource}, watsonx's {region}) is
asked for only when the base URL in use names it: a caller's own base URL (argument or environment)
does not need it; a variable the endpoint path names stays required."""

from __future__ import annotations

from pathlib import Path

import pytest

from specgen.conform.runner import built_adapters
from specgen_runtime import errors as E

SPEC = """name: hosty
extends: openai
model_naming: hosty/<model>
base_url: https://{region}.hosty.example
env: { api_key: HOSTY_API_KEY, base_url: HOSTY_URL }
path_params:
  region: { env: HOSTY_REGION }
  tenant: {}
modes:
  chat:
    endpoint: { path: "/tenants/{tenant}/chat/completions" }
models:
  discovery: { method: GET, path: /models }
"""
MSGS = [{"role": "user", "content": "Hi"}]


@pytest.fixture(scope="module")
def hosty(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    specs = tmp_path_factory.mktemp("specs")
    (specs / "hosty.yaml").write_text(SPEC)
    with built_adapters(Path(specs), ["hosty"]) as built:
        yield built[0][1]


def test_a_base_url_of_ones_own_needs_no_region(hosty, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("HOSTY_REGION", raising=False)
    request = hosty.chat.build_request({"model": "m", "messages": MSGS, "tenant": "t"}, api_key="k", base_url="https://proxy.example/x")
    assert str(request.url) == "https://proxy.example/x/tenants/t/chat/completions"
    monkeypatch.setenv("HOSTY_URL", "https://env.example")
    assert str(hosty.models.build_request({}, api_key="k").url) == "https://env.example/models"


def test_the_default_base_url_asks_for_it(hosty, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("HOSTY_REGION", raising=False)
    monkeypatch.delenv("HOSTY_URL", raising=False)
    with pytest.raises(E.BadRequestError, match="path parameter 'region' is required"):
        hosty.chat.build_request({"model": "m", "messages": MSGS, "tenant": "t"}, api_key="k")
    request = hosty.Client(api_key="k", region="eu-de", tenant="t")._build(hosty.chat, {"model": "m", "messages": MSGS}, "k")
    assert str(request.url) == "https://eu-de.hosty.example/tenants/t/chat/completions"


def test_a_path_variable_stays_required(hosty) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(E.BadRequestError, match="path parameter 'tenant' is required"):
        hosty.chat.build_request({"model": "m", "messages": MSGS}, api_key="k", base_url="https://proxy.example")
