"""auth type token: the API key is exchanged for an access token at a token endpoint (an IAM
API-key exchange, OAuth client credentials), cached until shortly before it expires, refreshed once
for concurrent calls (threads and tasks alike), never shown in an error."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from urllib.parse import parse_qs

import pytest

from specgen.conform.fake import FakeProvider, Reply
from specgen.conform.runner import built_adapters
from specgen_runtime import errors as E

from conftest import fixture_path

SPEC = """name: tokenish
extends: openai
model_naming: tokenish/<model>
base_url: https://api.tokenish.example/v1
env: { api_key: TOKENISH_API_KEY }
auth:
  type: token
  token:
    url: https://iam.tokenish.example/identity/token
    form: { grant_type: "urn:ibm:params:oauth:grant-type:apikey", apikey: $API_KEY }
    headers: { rquid: $UUID }
    expires_in: expires_in
"""
MSGS = [{"role": "user", "content": "Hi"}]
KEY = "iam-key-0123456789abcdef"


@pytest.fixture(scope="module")
def tokenish(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    specs = tmp_path_factory.mktemp("specs")
    (specs / "tokenish.yaml").write_text(SPEC)
    with built_adapters(Path(specs), ["tokenish"]) as built:
        yield built[0][1]


def _token(value: str, expires_in: int = 3600) -> Reply:
    return Reply.json({"access_token": value, "token_type": "Bearer", "expires_in": expires_in})


def _ok() -> Reply:
    return Reply.file(fixture_path("openai", "chat", "response.json"))


def test_the_key_is_exchanged_once_and_the_token_sent(fake: FakeProvider, tokenish: ModuleType) -> None:
    fake.queue(_token("tok-1"), _ok(), _ok())
    client = tokenish.Client(api_key=KEY, base_url=fake.url, token_url=fake.url + "/identity/token")
    client.chat(model="m", messages=MSGS)
    client.chat(model="m", messages=MSGS)
    paths = [r.path for r in fake.received]
    assert paths == ["/identity/token", "/chat/completions", "/chat/completions"]
    exchange = fake.received[0]
    assert parse_qs(exchange.body.decode()) == {"grant_type": ["urn:ibm:params:oauth:grant-type:apikey"], "apikey": [KEY]}
    assert exchange.headers["content-type"] == "application/x-www-form-urlencoded" and len(exchange.headers["rquid"]) == 36
    assert all(r.headers["authorization"] == "Bearer tok-1" for r in fake.received[1:])
    assert KEY not in repr(client) and "tok-1" not in repr(client)


def test_a_token_about_to_expire_is_refreshed(fake: FakeProvider, tokenish: ModuleType) -> None:
    fake.queue(_token("short", expires_in=30), _ok(), _token("next"), _ok())  # 30 s < the 60 s margin
    client = tokenish.Client(api_key=KEY, base_url=fake.url, token_url=fake.url + "/identity/token")
    client.chat(model="m", messages=MSGS)
    client.chat(model="m", messages=MSGS)
    assert [r.path for r in fake.received] == ["/identity/token", "/chat/completions", "/identity/token", "/chat/completions"]
    assert fake.received[3].headers["authorization"] == "Bearer next"


def test_concurrent_calls_share_one_refresh(fake: FakeProvider, tokenish: ModuleType) -> None:
    gate = threading.Event()
    fake.queue(Reply(**{**_token("shared").__dict__, "hold": gate}), *[_ok() for _ in range(4)])
    client = tokenish.Client(api_key=KEY, base_url=fake.url, token_url=fake.url + "/identity/token")
    threads = [threading.Thread(target=client.chat, kwargs={"model": "m", "messages": MSGS}) for _ in range(4)]
    for t in threads:
        t.start()
    threading.Timer(0.3, gate.set).start()
    for t in threads:
        t.join(10)
    gate.clear()

    async def tasks() -> None:
        async with tokenish.AsyncClient(api_key=KEY, base_url=fake.url, token_url=fake.url + "/identity/token") as ac:
            await asyncio.gather(*(ac.chat(model="m", messages=MSGS) for _ in range(4)))

    fake.queue(Reply(**{**_token("async").__dict__, "hold": gate}), *[_ok() for _ in range(4)])
    threading.Timer(0.3, gate.set).start()
    asyncio.run(tasks())
    paths = [r.path for r in fake.received]
    assert paths.count("/identity/token") == 2, paths  # one per client, however many calls
    assert [r.headers["authorization"] for r in fake.received if r.path != "/identity/token"][-4:] == ["Bearer async"] * 4


def test_a_refused_key_is_an_authentication_error_without_the_key(fake: FakeProvider, tokenish: ModuleType) -> None:
    fake.queue(Reply.json({"errorCode": "BXNIM0415E", "errorMessage": f"Provided API key could not be found: {KEY}"}, status=400))
    with pytest.raises(E.AuthenticationError) as caught:
        tokenish.Client(api_key=KEY, base_url=fake.url, token_url=fake.url + "/identity/token", max_retries=0).chat(model="m", messages=MSGS)
    err = caught.value
    assert KEY not in f"{err!s}{err!r}{err.args}{vars(err)}" and err.__context__ is None and err.__cause__ is None
    with pytest.raises(E.AuthenticationError, match="no API key"):
        tokenish.Client(api_key=None, base_url=fake.url, token_url=fake.url + "/x").chat(model="m", messages=MSGS)
