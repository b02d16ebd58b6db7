"""Vertex AI: the host chosen by location (regional, global, multi-region), project and location
from arguments or the environment, and `routes:` handing Claude models to the Anthropic-wire adapter
(rawPredict / streamRawPredict) with the same connection and one shared credential."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from specgen.adapters import built_adapters
from specgen.conform.fake import FakeProvider, Reply
from specgen.spec.errors import SpecErrors
from specgen.spec.resolve import load_specs
from specgen_runtime import errors as E

from conftest import ROOT, fixture_path

MSGS = [{"role": "user", "content": "Hi"}]
CLAUDE = "vertex_ai/claude-sonnet-4-5@20250929"


@pytest.fixture(scope="module")
def built() -> Iterator[dict[str, ModuleType]]:
    with built_adapters(ROOT / "specs", ["vertex_ai", "vertex_ai_anthropic"]) as b:
        yield {s.name: m for s, m in b}


@pytest.fixture(scope="module")
def vertex(built: dict[str, ModuleType]) -> ModuleType:
    return built["vertex_ai"]


def _url(module: ModuleType, **params: str) -> str:
    request = module.chat.build_request({"model": "gemini-2.5-pro", "messages": MSGS, "project": "p", **params}, api_key="tok")
    return str(request.url)


@pytest.mark.parametrize(
    ("location", "host"),
    [
        ("us-central1", "https://us-central1-aiplatform.googleapis.com"),
        ("europe-west4", "https://europe-west4-aiplatform.googleapis.com"),
        ("global", "https://aiplatform.googleapis.com"),
        ("us", "https://aiplatform.us.rep.googleapis.com"),
        ("eu", "https://aiplatform.eu.rep.googleapis.com"),
    ],
)
def test_the_host_follows_the_location(vertex: ModuleType, location: str, host: str) -> None:
    assert _url(vertex, location=location) == f"{host}/v1/projects/p/locations/{location}/publishers/google/models/gemini-2.5-pro:generateContent"


def test_a_location_cannot_redirect_the_call(vertex: ModuleType) -> None:
    for bad in ("evil.example/x", "a@b", "x:1"):
        with pytest.raises(E.BadRequestError):
            _url(vertex, location=bad)


def test_project_and_location_from_the_environment(vertex: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VERTEX_PROJECT", "env-proj")
    monkeypatch.setenv("VERTEX_LOCATION", "asia-northeast1")
    request = vertex.chat.build_request({"model": "gemini-2.5-pro", "messages": MSGS}, api_key="tok")
    assert str(request.url).startswith("https://asia-northeast1-aiplatform.googleapis.com/v1/projects/env-proj/locations/asia-northeast1/")
    monkeypatch.delenv("VERTEX_PROJECT")
    for name in ("VERTEXAI_PROJECT", "GOOGLE_CLOUD_PROJECT"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(E.BadRequestError, match="project"):
        vertex.chat.build_request({"model": "gemini-2.5-pro", "messages": MSGS}, api_key="tok")


def test_a_base_url_or_its_variable_wins_over_the_location(vertex: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    request = vertex.chat.build_request({"model": "gemini-2.5-pro", "messages": MSGS, "project": "p", "location": "global"}, api_key="tok", base_url="https://proxy.example/vertex")
    assert str(request.url).startswith("https://proxy.example/vertex/v1/projects/p/locations/global/")
    monkeypatch.setenv("VERTEXAI_API_BASE", "https://gateway.example")
    assert _url(vertex, location="us").startswith("https://gateway.example/v1/")


def test_the_sans_io_request_needs_an_access_token(vertex: ModuleType) -> None:
    with pytest.raises(E.AuthenticationError, match="access token"):
        vertex.chat.build_request({"model": "gemini-2.5-pro", "messages": MSGS, "project": "p"})


def _anthropic_ok() -> Reply:
    return Reply.file(fixture_path("anthropic", "chat", "response.json"))


def _gemini_ok() -> Reply:
    return Reply.file(fixture_path("vertex_ai", "chat", "response.json"))


def test_claude_models_go_to_the_anthropic_wire_with_one_credential(fake: FakeProvider, vertex: ModuleType) -> None:
    from specgen_runtime.google_auth import GoogleCredentials

    fake.queue(_gemini_ok(), _anthropic_ok(), Reply.file(fixture_path("anthropic", "chat", "stream.sse")))
    client = vertex.Client(api_key="ya29.token", base_url=fake.url, project="proj", location="us-east5")
    gemini = client.chat(model="vertex_ai/gemini-2.5-flash", messages=MSGS)
    claude = client.chat(model=CLAUDE, messages=MSGS, max_tokens=64, temperature=0.3)
    chunks = list(client.chat(model=CLAUDE, messages=MSGS, stream=True))
    assert gemini.choices[0].message.content and claude.choices[0].message.content and chunks
    g, c, s = fake.received
    assert g.path == "/v1/projects/proj/locations/us-east5/publishers/google/models/gemini-2.5-flash:generateContent"
    assert c.path == "/v1/projects/proj/locations/us-east5/publishers/anthropic/models/claude-sonnet-4-5@20250929:rawPredict"
    assert s.path.endswith("/publishers/anthropic/models/claude-sonnet-4-5@20250929:streamRawPredict")
    body = c.json()
    assert body["anthropic_version"] == "vertex-2023-10-16" and "model" not in body
    assert body["max_tokens"] == 64 and body["temperature"] == 0.3
    assert s.json()["stream"] is True
    assert "anthropic-version" not in c.headers and "x-api-key" not in c.headers
    assert {r.headers["authorization"] for r in fake.received} == {"Bearer ya29.token"}
    sub = client._route_clients["vertex_ai_anthropic"]
    assert isinstance(client._tokens, GoogleCredentials) and sub._tokens is client._tokens  # one refresh for both
    assert sub._http is client._http


def test_claude_routes_from_the_async_client(fake: FakeProvider, vertex: ModuleType) -> None:
    fake.queue(_anthropic_ok(), Reply.file(fixture_path("anthropic", "chat", "stream.sse")))

    async def go() -> tuple[object, list[object]]:
        async with vertex.AsyncClient(api_key="ya29.token", base_url=fake.url, project="proj", location="global") as ac:
            r = await ac.chat(model=CLAUDE, messages=MSGS)
            chunks = [c async for c in await ac.chat(model=CLAUDE, messages=MSGS, stream=True)]
            return r, chunks

    r, chunks = asyncio.run(go())
    assert r and chunks
    assert [x.path.rsplit(":", 1)[1] for x in fake.received] == ["rawPredict", "streamRawPredict"]
    assert fake.received[0].path.startswith("/v1/projects/proj/locations/global/publishers/anthropic/")


def test_claude_route_errors_use_the_target_spec(fake: FakeProvider, vertex: ModuleType) -> None:
    fake.queue(Reply.file(fixture_path("anthropic", "chat", "error_529.json"), status=529))
    with pytest.raises(E.ServiceUnavailableError) as caught:
        vertex.Client(api_key="ya29.token", base_url=fake.url, project="p", max_retries=0).chat(model=CLAUDE, messages=MSGS)
    assert caught.value.provider == "vertex_ai_anthropic"


def test_a_route_whose_adapter_is_not_built_says_so(fake: FakeProvider) -> None:
    with built_adapters(ROOT / "specs", ["vertex_ai"]) as b:
        module = b[0][1]
        with pytest.raises(E.BadRequestError, match="vertex_ai_anthropic"):
            module.Client(api_key="t", base_url=fake.url, project="p").chat(model=CLAUDE, messages=MSGS)
        module.Client(api_key="t", base_url=fake.url, project="p")  # gemini models are unaffected
    assert not fake.received


def _specs(tmp_path: Path, vertex_text: str) -> Path:
    specs = tmp_path / "specs"
    specs.mkdir(parents=True)
    for name in ("gemini", "anthropic", "vertex_ai_anthropic"):
        shutil.copy(ROOT / "specs" / f"{name}.yaml", specs / f"{name}.yaml")
    (specs / "vertex_ai.yaml").write_text(vertex_text)
    return specs


def test_routes_and_base_urls_are_checked(tmp_path: Path) -> None:
    text = (ROOT / "specs" / "vertex_ai.yaml").read_text()
    cases = {
        "no spec named 'nowhere'": text.replace("provider: vertex_ai_anthropic", "provider: nowhere"),
        "cannot route to itself": text.replace("provider: vertex_ai_anthropic", "provider: vertex_ai"),
        "not a path param": text.replace("when: { location: global }", "when: { region: global }"),
        "auth type 'google' only": text.replace("type: google", "type: bearer"),
    }
    for i, (message, changed) in enumerate(cases.items()):
        assert changed != text, message
        with pytest.raises(SpecErrors, match=message):
            load_specs(_specs(tmp_path / str(i), changed), only=["vertex_ai"])


def test_a_route_target_must_not_route_further(tmp_path: Path) -> None:
    specs = _specs(tmp_path, (ROOT / "specs" / "vertex_ai.yaml").read_text())
    target = specs / "vertex_ai_anthropic.yaml"
    target.write_text(target.read_text() + "\nroutes:\n  - { models: 'x-*', provider: gemini }\n")
    with pytest.raises(SpecErrors, match="routes further"):
        load_specs(specs, only=["vertex_ai"])


def test_the_generated_module_lists_its_routes(vertex: ModuleType) -> None:
    assert vertex.ROUTES == ((("claude-*",), "vertex_ai_anthropic"),)
    assert json.loads(json.dumps(vertex.Client.google_auth)) == {"env": ["VERTEXAI_CREDENTIALS", "VERTEX_CREDENTIALS"]}


def test_embeddings_through_predict(fake: FakeProvider, vertex: ModuleType) -> None:
    fake.queue(Reply.file(fixture_path("vertex_ai", "embeddings", "response.json")))
    client = vertex.Client(api_key="ya29.token", base_url=fake.url, project="p")
    r = client.embeddings(model="vertex_ai/gemini-embedding-001", input=["What is life?", "Hello there"], dimensions=4)
    assert [d.index for d in r.data] == [0, 1] and len(r.data[0].embedding) == 4
    assert r.usage.prompt_tokens == 10 and r.usage.total_tokens == 10  # statistics.token_count, summed
    got = fake.last
    assert got.path == "/v1/projects/p/locations/us-central1/publishers/google/models/gemini-embedding-001:predict"
    assert got.json() == {"instances": [{"content": "What is life?"}, {"content": "Hello there"}], "parameters": {"outputDimensionality": 4}}


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"predictions": {}},
        {"predictions": [{"embeddings": {"values": "x"}}]},
        {"predictions": [{}]},
        {"predictions": [None]},
        {"predictions": [{"embeddings": {"values": [0.1], "statistics": {"token_count": "6"}}}]},
    ],
)
def test_a_malformed_prediction_is_a_typed_error(fake: FakeProvider, vertex: ModuleType, body: dict[str, object]) -> None:
    fake.queue(Reply.json(body))
    with pytest.raises(E.APIResponseValidationError) as caught:
        vertex.Client(api_key="t", base_url=fake.url, project="p").embeddings(model="text-embedding-005", input="x")
    assert caught.value.provider == "vertex_ai"


def test_a_mode_the_route_target_lacks_is_refused(fake: FakeProvider, vertex: ModuleType) -> None:
    with pytest.raises(E.BadRequestError, match="embeddings is not offered"):
        vertex.Client(api_key="t", base_url=fake.url, project="p").embeddings(model=CLAUDE, input="x")
    assert not fake.received


def test_predictions_without_statistics_report_no_usage(fake: FakeProvider, vertex: ModuleType) -> None:
    fake.queue(Reply.json({"predictions": [{"embeddings": {"values": [0.5, 0.25]}}]}))
    r = vertex.Client(api_key="t", base_url=fake.url, project="p").embeddings(model="text-embedding-005", input="x")
    assert r.data[0].embedding == [0.5, 0.25] and "usage" not in r.to_dict()



def test_the_sans_io_request_refuses_a_routed_model(vertex: ModuleType, built: dict[str, ModuleType]) -> None:
    with pytest.raises(E.BadRequestError, match="served by the adapter vertex_ai_anthropic"):
        vertex.chat.build_request({"model": CLAUDE, "messages": MSGS, "project": "p"}, api_key="tok")
    request = built["vertex_ai_anthropic"].chat.build_request({"model": "claude-sonnet-4-5@20250929", "messages": MSGS, "project": "p"}, api_key="tok")
    assert str(request.url) == "https://us-east5-aiplatform.googleapis.com/v1/projects/p/locations/us-east5/publishers/anthropic/models/claude-sonnet-4-5@20250929:rawPredict"
