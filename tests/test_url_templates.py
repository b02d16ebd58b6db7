"""URL templates: a base URL and an endpoint with named variables, filled from the client's keyword
arguments, the call's params or environment variables; an API version sent as a query parameter."""

from __future__ import annotations

from pathlib import Path

import pytest

from specgen.conform.runner import built_adapters
from specgen_runtime import errors as E

SPEC = """name: azureish
extends: openai
model_naming: azureish/<model>
base_url: https://{resource}.openai.example.com/openai
env: { api_key: AZUREISH_API_KEY }
auth: { type: header, header: api-key }
path_params:
  resource: { env: AZUREISH_RESOURCE }
  deployment: { env: AZUREISH_DEPLOYMENT }
api_versions: { default: "2024-10-21", env: AZUREISH_API_VERSION }
modes:
  chat:
    endpoint: { method: POST, path: "/deployments/{deployment}/chat/completions", query: { api-version: "{api_version}" } }
  embeddings:
    endpoint: { method: POST, path: "/deployments/{deployment}/embeddings", query: { api-version: "{api_version}" } }
"""
MSGS = [{"role": "user", "content": "Hi"}]


@pytest.fixture(scope="module")
def azureish(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    specs = tmp_path_factory.mktemp("specs")
    (specs / "azureish.yaml").write_text(SPEC)
    with built_adapters(Path(specs), ["azureish"]) as built:
        yield built[0][1]


def test_client_keywords_fill_the_base_url_path_and_query(azureish) -> None:  # type: ignore[no-untyped-def]
    client = azureish.Client(api_key="k", resource="myres", deployment="gpt-4o-prod")
    request = client._build(azureish.chat, {"model": "gpt-4o", "messages": MSGS}, "k")
    assert str(request.url) == "https://myres.openai.example.com/openai/deployments/gpt-4o-prod/chat/completions?api-version=2024-10-21"
    assert request.headers["api-key"] == "k"
    # the call's own value wins over the client's; an explicit api_version over the default
    request = azureish.Client(api_key="k", resource="myres", deployment="a", api_version="2025-04-01-preview")._build(
        azureish.embeddings, {"model": "m", "input": "x", "deployment": "emb"}, "k"
    )
    assert str(request.url) == "https://myres.openai.example.com/openai/deployments/emb/embeddings?api-version=2025-04-01-preview"


def test_environment_variables_are_the_fallback(azureish, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("AZUREISH_RESOURCE", "fromenv")
    monkeypatch.setenv("AZUREISH_DEPLOYMENT", "dep")
    monkeypatch.setenv("AZUREISH_API_VERSION", "2024-06-01")
    request = azureish.chat.build_request({"model": "m", "messages": MSGS}, api_key="k")
    assert str(request.url) == "https://fromenv.openai.example.com/openai/deployments/dep/chat/completions?api-version=2024-06-01"


def test_a_value_cannot_redirect_the_call(azureish, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("AZUREISH_RESOURCE", raising=False)
    with pytest.raises(E.BadRequestError, match="resource"):
        azureish.Client(api_key="k", resource="evil.example/x?", deployment="d")._build(azureish.chat, {"model": "m", "messages": MSGS}, "k")
    with pytest.raises(E.BadRequestError, match="path parameter 'resource' is required"):
        azureish.chat.build_request({"model": "m", "messages": MSGS, "deployment": "d"}, api_key="k")
    # a path value is percent-encoded: it cannot climb out of its segment
    request = azureish.chat.build_request({"model": "m", "messages": MSGS, "deployment": "../x", "resource": "r"}, api_key="k")
    assert request.url.raw_path.startswith(b"/openai/deployments/..%2Fx/chat/completions")


def test_a_base_url_variable_without_a_source_is_a_spec_error(tmp_path: Path) -> None:
    from specgen.spec.errors import SpecErrors
    from specgen.spec.resolve import load_specs

    (tmp_path / "bad.yaml").write_text(SPEC.replace("azureish", "bad").replace("https://{resource}.", "https://{tenant}."))
    with pytest.raises(SpecErrors, match=r"bad.yaml:4:\d+: path-template variable \{tenant\} has no source"):
        load_specs(tmp_path)
