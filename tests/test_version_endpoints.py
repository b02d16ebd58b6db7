"""endpoint.by_api_version: another surface of a mode, chosen by the request's API version (Azure
OpenAI's v1 surface for v1, latest and preview); other versions keep the endpoint's path and query."""

from __future__ import annotations

from pathlib import Path

import pytest

from specgen.conform.runner import built_adapters

SPEC = """name: versioned
extends: openai
model_naming: versioned/<model>
base_url: https://{resource}.example.com
auth: { type: header, header: api-key }
path_params:
  resource: {}
api_versions: { default: "2024-10-21", env: VERSIONED_API_VERSION }
modes:
  chat:
    endpoint:
      path: /openai/deployments/{model}/chat/completions
      query: { api-version: "{api_version}" }
      by_api_version:
        - { api_version: [v1, latest], path: /openai/v1/chat/completions }
        - { api_version: preview, path: /openai/v1/chat/completions, query: { api-version: "{api_version}" } }
  embeddings:
    endpoint:
      path: /openai/deployments/{model}/embeddings
      query: { api-version: "{api_version}" }
      by_api_version:
        - { api_version: v1, path: /openai/v1/embeddings }
"""
MSGS = [{"role": "user", "content": "Hi"}]


@pytest.fixture(scope="module")
def versioned(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    specs = tmp_path_factory.mktemp("specs")
    (specs / "versioned.yaml").write_text(SPEC)
    with built_adapters(Path(specs), ["versioned"]) as built:
        yield built[0][1]


@pytest.mark.parametrize(
    ("version", "url"),
    [
        (None, "https://r.example.com/openai/deployments/dep/chat/completions?api-version=2024-10-21"),
        ("2025-04-01-preview", "https://r.example.com/openai/deployments/dep/chat/completions?api-version=2025-04-01-preview"),
        ("v1", "https://r.example.com/openai/v1/chat/completions"),
        ("latest", "https://r.example.com/openai/v1/chat/completions"),
        ("preview", "https://r.example.com/openai/v1/chat/completions?api-version=preview"),
    ],
)
def test_the_api_version_picks_the_surface(versioned, version: str | None, url: str) -> None:  # type: ignore[no-untyped-def]
    request = versioned.chat.build_request({"model": "dep", "messages": MSGS, "resource": "r"}, api_key="k", api_version=version)
    assert str(request.url) == url
    assert request.headers["api-key"] == "k"


def test_embeddings_and_the_environment(versioned, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("VERSIONED_API_VERSION", "v1")
    request = versioned.embeddings.build_request({"model": "emb", "input": "x", "resource": "r"}, api_key="k")
    assert str(request.url) == "https://r.example.com/openai/v1/embeddings"
    monkeypatch.delenv("VERSIONED_API_VERSION")
    request = versioned.embeddings.build_request({"model": "emb", "input": "x", "resource": "r"}, api_key="k")
    assert str(request.url) == "https://r.example.com/openai/deployments/emb/embeddings?api-version=2024-10-21"


def test_by_api_version_needs_api_versions(tmp_path: Path) -> None:
    from specgen.spec.errors import SpecErrors
    from specgen.spec.resolve import load_specs

    (tmp_path / "bad.yaml").write_text(SPEC.replace("versioned", "bad").replace('api_versions: { default: "2024-10-21", env: VERSIONED_API_VERSION }\n', ""))
    with pytest.raises(SpecErrors, match="by_api_version needs api_versions"):
        load_specs(tmp_path)
