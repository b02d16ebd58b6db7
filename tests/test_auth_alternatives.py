"""auth.alternatives: without an API key, a client uses the first alternative credential whose
environment variable is set: a ready bearer token, or the secret of another token exchange (an
Entra ID client-credentials grant whose url and form read more variables through $ENV{...})."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from urllib.parse import parse_qs

import pytest

from specgen.conform.fake import FakeProvider, Reply
from specgen.conform.runner import built_adapters
from specgen_runtime import errors as E

from conftest import fixture_path

SPEC = """name: alty
extends: openai
model_naming: alty/<model>
base_url: https://alty.example
env: { api_key: ALTY_API_KEY }
auth:
  type: header
  header: api-key
  alternatives:
    - { type: bearer, env: ALTY_AD_TOKEN }
    - type: token
      env: ALTY_CLIENT_SECRET
      token:
        url: "https://login.example/$ENV{ALTY_TENANT}/oauth2/v2.0/token"
        form: { grant_type: client_credentials, client_id: "$ENV{ALTY_CLIENT_ID}", client_secret: $API_KEY, scope: "$ENV{ALTY_SCOPE:https://alty.example/.default}" }
"""
MSGS = [{"role": "user", "content": "Hi"}]
VARS = ("ALTY_API_KEY", "ALTY_AD_TOKEN", "ALTY_CLIENT_SECRET", "ALTY_TENANT", "ALTY_CLIENT_ID", "ALTY_SCOPE")


@pytest.fixture(scope="module")
def alty(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    specs = tmp_path_factory.mktemp("specs")
    (specs / "alty.yaml").write_text(SPEC)
    with built_adapters(Path(specs), ["alty"]) as built:
        yield built[0][1]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in VARS:
        monkeypatch.delenv(name, raising=False)


def _ok() -> Reply:
    return Reply.file(fixture_path("openai", "chat", "response.json"))


def test_the_api_key_wins(fake: FakeProvider, alty: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALTY_AD_TOKEN", "ad-token-0123456789")
    fake.queue(_ok())
    alty.Client(api_key="key-0123456789", base_url=fake.url).chat(model="m", messages=MSGS)
    headers = fake.last.headers
    assert headers["api-key"] == "key-0123456789" and "authorization" not in headers


def test_a_ready_token_goes_in_its_own_header(fake: FakeProvider, alty: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALTY_AD_TOKEN", "ad-token-0123456789")
    monkeypatch.setenv("ALTY_CLIENT_SECRET", "never-used-0123")
    fake.queue(_ok())
    client = alty.Client(base_url=fake.url)
    client.chat(model="m", messages=MSGS)
    headers = fake.last.headers
    assert headers["authorization"] == "Bearer ad-token-0123456789" and "api-key" not in headers
    assert "ad-token" not in repr(client)


def test_a_client_credentials_exchange(fake: FakeProvider, alty: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALTY_CLIENT_SECRET", "secret-0123456789")
    monkeypatch.setenv("ALTY_TENANT", "tenant-1")
    monkeypatch.setenv("ALTY_CLIENT_ID", "client-1")
    fake.queue(Reply.json({"access_token": "entra-tok", "expires_in": 3600}), _ok(), _ok())
    client = alty.Client(base_url=fake.url, token_url=fake.url + "/tenant-1/oauth2/v2.0/token")
    client.chat(model="m", messages=MSGS)
    client.chat(model="m", messages=MSGS)
    assert [r.path for r in fake.received] == ["/tenant-1/oauth2/v2.0/token", "/chat/completions", "/chat/completions"]
    assert parse_qs(fake.received[0].body.decode()) == {
        "grant_type": ["client_credentials"],
        "client_id": ["client-1"],
        "client_secret": ["secret-0123456789"],
        "scope": ["https://alty.example/.default"],
    }
    assert all(r.headers["authorization"] == "Bearer entra-tok" and "api-key" not in r.headers for r in fake.received[1:])


def test_the_exchange_names_a_missing_variable(fake: FakeProvider, alty: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALTY_CLIENT_SECRET", "secret-0123456789")
    monkeypatch.setenv("ALTY_TENANT", "tenant-1")
    with pytest.raises(E.AuthenticationError, match="ALTY_CLIENT_ID") as caught:
        alty.Client(base_url=fake.url, token_url=fake.url + "/t", max_retries=0).chat(model="m", messages=MSGS)
    assert "secret-0123456789" not in str(caught.value) and not fake.received


def test_the_tenant_fills_the_token_url(alty: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    from specgen_runtime.auth import TokenSource

    monkeypatch.setenv("ALTY_TENANT", "tenant-9")
    monkeypatch.setenv("ALTY_CLIENT_ID", "c")
    token = alty.Client.auth_alternatives[1]["token"]
    request = TokenSource("alty", token, "s")._request()
    assert str(request.url) == "https://login.example/tenant-9/oauth2/v2.0/token"


def test_nothing_set_is_an_authentication_error(alty: ModuleType) -> None:
    with pytest.raises(E.AuthenticationError, match="no API key"):
        alty.Client(base_url="https://alty.example").chat(model="m", messages=MSGS)
