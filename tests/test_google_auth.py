"""auth type google: OAuth2 access tokens from google-auth, obtained on first use, refreshed before
they expire (once for concurrent callers: threads, tasks, and both at once), never shown in an
error; importing an adapter needs no google-auth, a call that does names the extra to install.

Everything runs against loopback servers: google-auth signs a real JWT for a service account whose
``token_uri`` is a fake token endpoint, and the adapter calls a fake Vertex AI."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

pytest.importorskip("google.auth")

from google.auth import credentials as gcreds

from specgen.adapters import built_adapters
from specgen.conform.fake import FakeProvider, Reply
from specgen.conform.samples import google_service_account
from specgen_runtime import errors as E
from specgen_runtime.google_auth import CLOUD_PLATFORM, EXTRA, GoogleCredentials, MissingExtraError

from conftest import ROOT, fixture_path

MSGS = [{"role": "user", "content": "Hi"}]


@pytest.fixture(scope="module")
def vertex() -> Iterator[ModuleType]:
    with built_adapters(ROOT / "specs", ["vertex_ai", "vertex_ai_anthropic"]) as built:
        yield dict((s.name, m) for s, m in built)["vertex_ai"]


@pytest.fixture
def tokens() -> Iterator[FakeProvider]:
    with FakeProvider() as server:
        yield server


@pytest.fixture(scope="module")
def sa_key() -> dict[str, Any]:
    return google_service_account("http://127.0.0.1:9/unused")  # token_uri replaced per test


def _sa(sa_key: dict[str, Any], tokens: FakeProvider) -> dict[str, Any]:
    return {**sa_key, "token_uri": tokens.url + "/token"}


def _token(value: str, expires_in: int = 3600) -> Reply:
    return Reply.json({"access_token": value, "expires_in": expires_in, "token_type": "Bearer"})


def _ok() -> Reply:
    return Reply.file(fixture_path("vertex_ai", "chat", "response.json"))


def _claims(jwt: str) -> dict[str, Any]:
    payload = jwt.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


def test_a_service_account_signs_a_jwt_and_the_token_is_sent(
    fake: FakeProvider, tokens: FakeProvider, vertex: ModuleType, sa_key: dict[str, Any]
) -> None:
    tokens.queue(_token("ya29.first-token"))
    fake.queue(_ok(), _ok())
    client = vertex.Client(credentials=_sa(sa_key, tokens), base_url=fake.url, project="my-project")
    r = client.chat(model="vertex_ai/gemini-2.5-flash", messages=MSGS)
    client.chat(model="gemini-2.5-flash", messages=MSGS)
    assert r.choices[0].finish_reason == "stop"
    assert len(tokens.received) == 1  # fetched once, then reused
    grant = parse_qs(tokens.received[0].body.decode())
    assert grant["grant_type"] == ["urn:ietf:params:oauth:grant-type:jwt-bearer"]
    claims = _claims(grant["assertion"][0])
    assert claims["scope"] == CLOUD_PLATFORM and claims["aud"] == "https://oauth2.googleapis.com/token"
    assert claims["iss"] == sa_key["client_email"]
    assert [r.headers["authorization"] for r in fake.received] == ["Bearer ya29.first-token"] * 2
    assert fake.received[0].path == "/v1/projects/my-project/locations/us-central1/publishers/google/models/gemini-2.5-flash:generateContent"
    assert "ya29" not in repr(client) and "PRIVATE KEY" not in repr(client._tokens)


def test_a_token_about_to_expire_is_refreshed_once(
    fake: FakeProvider, tokens: FakeProvider, vertex: ModuleType, sa_key: dict[str, Any]
) -> None:
    tokens.queue(_token("short", expires_in=30), _token("next", expires_in=3600))  # 30 s < the 60 s margin
    fake.queue(_ok(), _ok(), _ok())
    client = vertex.Client(credentials=_sa(sa_key, tokens), base_url=fake.url, project="p")
    for _ in range(3):
        client.chat(model="gemini-2.5-flash", messages=MSGS)
    assert len(tokens.received) == 2
    assert [r.headers["authorization"] for r in fake.received] == ["Bearer short", "Bearer next", "Bearer next"]


def test_concurrent_threads_and_tasks_share_one_refresh(
    fake: FakeProvider, tokens: FakeProvider, vertex: ModuleType, sa_key: dict[str, Any]
) -> None:
    gate = threading.Event()
    tokens.queue(Reply(**{**_token("shared").__dict__, "hold": gate}))
    fake.default = _ok()
    client = vertex.Client(credentials=_sa(sa_key, tokens), base_url=fake.url, project="p")
    threads = [threading.Thread(target=client.chat, kwargs={"model": "gemini-2.5-flash", "messages": MSGS}) for _ in range(4)]
    for t in threads:
        t.start()
    threading.Timer(0.3, gate.set).start()
    for t in threads:
        t.join(20)
    assert len(tokens.received) == 1
    assert [r.headers["authorization"] for r in fake.received] == ["Bearer shared"] * 4

    gate.clear()
    tokens.queue(Reply(**{**_token("async").__dict__, "hold": gate}))

    async def tasks() -> None:
        async with vertex.AsyncClient(credentials=_sa(sa_key, tokens), base_url=fake.url, project="p") as ac:
            await asyncio.gather(*(ac.chat(model="gemini-2.5-flash", messages=MSGS) for _ in range(4)))

    threading.Timer(0.3, gate.set).start()
    asyncio.run(tasks())
    assert len(tokens.received) == 2  # one more, for the async client's own credentials
    assert [r.headers["authorization"] for r in fake.received[4:]] == ["Bearer async"] * 4


class _Expiring(gcreds.Credentials):  # type: ignore[misc]
    """google-auth credentials whose every token lives ``lifetime`` seconds; counts refreshes."""

    def __init__(self, lifetime: float, gate: threading.Event | None = None) -> None:
        super().__init__()
        self.lifetime = lifetime
        self.gate = gate
        self.refreshes = 0
        self.lock = threading.Lock()

    def refresh(self, request: Any) -> None:
        if self.gate is not None:
            self.gate.wait(10)
        with self.lock:
            self.refreshes += 1
            n = self.refreshes
        self.token = f"fake-token-{n:04d}"
        self.expiry = dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(seconds=self.lifetime)


def test_sync_and_async_callers_of_one_credential_share_one_refresh() -> None:
    gate = threading.Event()
    creds = _Expiring(3600, gate)
    source = GoogleCredentials("vertex_ai", {}, creds)
    got: list[str] = []
    with httpx.Client() as http:
        threads = [threading.Thread(target=lambda: got.append(source.get(http))) for _ in range(3)]
        for t in threads:
            t.start()

        async def tasks() -> list[str]:
            threading.Timer(0.3, gate.set).start()
            return list(await asyncio.gather(*(source.aget() for _ in range(3))))

        got += asyncio.run(tasks())
        for t in threads:
            t.join(10)
    source.close()
    assert creds.refreshes == 1 and got == ["fake-token-0001"] * 6


def test_an_expired_token_is_refreshed_before_use() -> None:
    creds = _Expiring(lifetime=-5)  # every token it gives is already expired
    source = GoogleCredentials("vertex_ai", {}, creds)
    with httpx.Client() as http:
        assert source.get(http) == "fake-token-0001"
        assert source.get(http) == "fake-token-0002"  # the last one expired: refreshed, once per use
    creds.lifetime = 3600
    with httpx.Client() as http:
        assert source.get(http) == "fake-token-0003"
        assert source.get(http) == "fake-token-0003"
    assert creds.refreshes == 3


def test_an_api_key_is_a_ready_access_token(fake: FakeProvider, vertex: ModuleType) -> None:
    fake.queue(_ok())
    client = vertex.Client(api_key="ya29.given-token", base_url=fake.url, project="p", credentials=object())
    client.chat(model="gemini-2.5-flash", messages=MSGS)  # the credentials are never loaded
    assert fake.last.headers["authorization"] == "Bearer ya29.given-token"


def test_credentials_from_the_environment_path_or_json(
    fake: FakeProvider, tokens: FakeProvider, vertex: ModuleType, sa_key: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key_file = tmp_path / "sa.json"
    key_file.write_text(json.dumps(_sa(sa_key, tokens)))
    monkeypatch.setenv("VERTEXAI_PROJECT", "env-project")
    monkeypatch.setenv("VERTEXAI_LOCATION", "europe-west4")
    for value, token in ((str(key_file), "from-path"), (json.dumps(_sa(sa_key, tokens)), "from-json")):
        monkeypatch.setenv("VERTEXAI_CREDENTIALS", value)
        tokens.queue(_token(token))
        fake.queue(_ok())
        vertex.Client(base_url=fake.url).chat(model="gemini-2.5-flash", messages=MSGS)
        assert fake.last.headers["authorization"] == "Bearer " + token
        assert fake.last.path.startswith("/v1/projects/env-project/locations/europe-west4/")


def test_refused_credentials_raise_an_authentication_error_without_secrets(
    fake: FakeProvider, tokens: FakeProvider, vertex: ModuleType, sa_key: dict[str, Any]
) -> None:
    tokens.queue(Reply.json({"error": "invalid_grant", "error_description": "Invalid JWT Signature."}, status=400))
    client = vertex.Client(credentials=_sa(sa_key, tokens), base_url=fake.url, project="p", max_retries=0)
    with pytest.raises(E.AuthenticationError, match="refused") as caught:
        client.chat(model="gemini-2.5-flash", messages=MSGS)
    err = caught.value
    text = f"{err!s}{err!r}{err.args}{vars(err)}"
    assert "PRIVATE KEY" not in text and sa_key["private_key"][40:80] not in text
    assert err.__context__ is None and err.__cause__ is None and not fake.received


def test_an_unreachable_token_endpoint_is_a_connection_error(fake: FakeProvider, vertex: ModuleType, sa_key: dict[str, Any]) -> None:
    with FakeProvider() as gone:
        dead = {**sa_key, "token_uri": gone.url + "/token"}
    client = vertex.Client(credentials=dead, base_url=fake.url, project="p", max_retries=0)
    with pytest.raises(E.APIConnectionError) as caught:
        client.chat(model="gemini-2.5-flash", messages=MSGS)
    assert caught.value.__context__ is None


def test_unreadable_credentials_are_an_authentication_error(fake: FakeProvider, vertex: ModuleType, tmp_path: Path) -> None:
    for given in (str(tmp_path / "missing.json"), '{"type": "service_account"}', {"type": "no_such_type"}):
        with pytest.raises(E.AuthenticationError):
            vertex.Client(credentials=given, base_url=fake.url, project="p").chat(model="gemini-2.5-flash", messages=MSGS)
    assert not fake.received


def test_without_google_auth_the_call_names_the_extra(fake: FakeProvider, vertex: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [m for m in sys.modules if m == "google" or m.startswith("google.")]:
        monkeypatch.setitem(sys.modules, name, None)  # what an import sees when it is not installed
    monkeypatch.setitem(sys.modules, "google", None)
    with pytest.raises(MissingExtraError, match=r"specgen-providers\[gcp\]") as caught:
        vertex.Client(base_url=fake.url, project="p").chat(model="gemini-2.5-flash", messages=MSGS)
    assert isinstance(caught.value, E.AuthenticationError) and EXTRA in str(caught.value)
    assert caught.value.__context__ is None and not fake.received


def test_importing_an_adapter_does_not_import_google_auth(vertex: ModuleType) -> None:
    package_dir = Path(vertex.__file__ or "").parent
    code = (
        "import importlib, sys; "
        f"m = importlib.import_module({vertex.__name__!r}); "
        "c = m.Client(project='p'); "
        "assert not any(n == 'google' or n.startswith('google.') for n in sys.modules), sorted(sys.modules)"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(package_dir.parent), os.environ.get("PYTHONPATH", "")])}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=60)


def test_a_routed_claude_call_shares_the_clients_token(
    fake: FakeProvider, tokens: FakeProvider, vertex: ModuleType, sa_key: dict[str, Any]
) -> None:
    tokens.queue(_token("ya29.shared"))
    fake.queue(_ok(), Reply.file(fixture_path("anthropic", "chat", "response.json")))
    client = vertex.Client(credentials=_sa(sa_key, tokens), base_url=fake.url, project="p")
    client.chat(model="gemini-2.5-flash", messages=MSGS)
    client.chat(model="vertex_ai/claude-sonnet-4-5@20250929", messages=MSGS)
    assert len(tokens.received) == 1
    assert [r.path.rsplit(":", 1)[1] for r in fake.received] == ["generateContent", "rawPredict"]
    assert {r.headers["authorization"] for r in fake.received} == {"Bearer ya29.shared"}


def _refresh_check(monkeypatch: pytest.MonkeyPatch, **patches: Any) -> str:
    """``specgen conform vertex_ai`` (chat) with the runtime patched; the refresh check's status and detail."""
    import specgen_runtime.auth
    import specgen_runtime.google_auth
    from specgen.conform.runner import conform

    for name, value in patches.items():
        target = specgen_runtime.auth if name == "REFRESH_MARGIN" else specgen_runtime.google_auth.GoogleCredentials
        monkeypatch.setattr(target, name, value)
    results = conform(ROOT / "specs", ["vertex_ai"], mode="chat").results
    (r,) = [r for r in results if r.check.startswith("auth google: token refreshed")]
    return f"{r.status}: {r.detail}"


def test_conformance_exercises_the_refresh(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _refresh_check(monkeypatch).startswith("pass")


def test_conformance_fails_a_token_kept_past_its_margin(monkeypatch: pytest.MonkeyPatch) -> None:
    assert "called 1 times, expected 2" in _refresh_check(monkeypatch, REFRESH_MARGIN=0)


def test_conformance_fails_a_refresh_per_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    def unlocked(self: GoogleCredentials, http: httpx.Client) -> str:
        return self._fresh() or self._refresh_locked(http)

    assert "called 4 times, expected 1" in _refresh_check(monkeypatch, get=unlocked)


def test_the_project_falls_back_to_the_credentials(
    fake: FakeProvider, tokens: FakeProvider, vertex: ModuleType, sa_key: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("VERTEXAI_PROJECT", "VERTEX_PROJECT", "GOOGLE_CLOUD_PROJECT"):
        monkeypatch.delenv(name, raising=False)
    tokens.queue(_token("t1"), _token("t2"), _token("t3"))
    fake.default = _ok()
    key = {**_sa(sa_key, tokens), "project_id": "key-project"}
    vertex.Client(credentials=key, base_url=fake.url).chat(model="gemini-2.5-flash", messages=MSGS)
    vertex.Client(credentials=key, base_url=fake.url, project="given").chat(model="gemini-2.5-flash", messages=MSGS)
    monkeypatch.setenv("VERTEX_PROJECT", "env-project")
    vertex.Client(credentials=key, base_url=fake.url).chat(model="gemini-2.5-flash", messages=MSGS)
    assert [r.path.split("/")[3] for r in fake.received] == ["key-project", "given", "env-project"]
