"""SigV4 (``specgen_runtime.aws``): AWS's published test vectors through the signing path every
``auth: sigv4`` client takes; botocore's credential chain; signed calls checked by a loopback server
that verifies the signature; secrets kept out of errors and reprs; botocore as an optional extra."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from botocore.credentials import Credentials

from specgen.conform import sigv4 as vectors
from specgen.conform.fake import FakeProvider, Received, Reply
from specgen_providers import bedrock
from specgen_runtime import aws
from specgen_runtime.errors import AuthenticationError

from conftest import ROOT

SUITE, VECTORS = vectors.load()
KEY_ID, SECRET = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
RESPONSE = (ROOT / "specs/fixtures/bedrock/chat/response.json").read_bytes()


@pytest.mark.parametrize("vector", VECTORS, ids=[v.name for v in VECTORS])
def test_aws_sigv4_test_suite(vector: vectors.Vector) -> None:
    assert vectors.check(vector, SUITE) is None


def test_the_suite_is_mostly_applicable() -> None:
    assert len(VECTORS) >= 19
    assert set(vectors.NOT_APPLICABLE) <= set(SUITE["cases"])


def _verify(rec: Received, base_url: str, secret: str, token: str | None = None) -> tuple[str, str]:
    """Re-sign what the server received over the headers its signature names; return (region,
    service) of its scope. Asserts the signature matches."""
    auth = rec.headers["authorization"]
    assert auth.startswith("AWS4-HMAC-SHA256 ")
    parts = dict(p.strip().split("=", 1) for p in auth[len("AWS4-HMAC-SHA256 ") :].split(","))
    names = parts["SignedHeaders"].split(";")
    scope = parts["Credential"].split("/")
    again = httpx.Request(
        rec.method,
        base_url + rec.path,
        headers=[(k, v) for k, v in rec.headers.items() if k in names and k not in aws._SIGNATURE_HEADERS],
        content=rec.body,
    )
    when = dt.datetime.strptime(rec.headers["x-amz-date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
    aws.sign(again, Credentials(scope[0], secret, token), region=scope[2], service=scope[3], now=when)
    assert again.headers["authorization"] == auth
    if token:
        assert rec.headers["x-amz-security-token"] == token
        assert "x-amz-security-token" in names
    return scope[2], scope[3]


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[pytest.MonkeyPatch]:
    """No AWS configuration from this machine: no files, no metadata endpoints, no key."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    yield monkeypatch


def test_client_signs_with_the_environment_chain(fake: FakeProvider, clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("AWS_ACCESS_KEY_ID", KEY_ID)
    clean_env.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    clean_env.setenv("AWS_SESSION_TOKEN", "session-token-123456")
    clean_env.setenv("AWS_REGION", "eu-central-1")
    fake.queue(Reply.json(RESPONSE))
    with bedrock.Client(base_url=fake.url) as client:
        r = client.chat(model="bedrock/anthropic.claude-sonnet-4-5-20250929-v1:0", messages=[{"role": "user", "content": "Hi"}])
    assert r.choices[0].message.content == "Hello! How can I help you today?"
    rec = fake.last
    assert rec.path == "/model/anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse"
    assert _verify(rec, fake.url, SECRET, "session-token-123456") == ("eu-central-1", "bedrock")


def test_shared_credentials_file_and_profile(fake: FakeProvider, clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "credentials").write_text(
        f"[team]\naws_access_key_id = AKIDPROFILE\naws_secret_access_key = {SECRET}\n"
    )
    clean_env.setenv("AWS_PROFILE", "team")
    fake.queue(Reply.json(RESPONSE))
    with bedrock.Client(base_url=fake.url, region="ap-southeast-2") as client:
        client.chat(model="bedrock/amazon.nova-lite-v1:0", messages=[{"role": "user", "content": "Hi"}])
    assert fake.last.headers["authorization"].split("Credential=")[1].startswith("AKIDPROFILE/")
    assert _verify(fake.last, fake.url, SECRET) == ("ap-southeast-2", "bedrock")


def test_async_client_signs_streams(fake: FakeProvider, clean_env: pytest.MonkeyPatch) -> None:
    data = (ROOT / "specs/fixtures/bedrock/chat/stream.eventstream").read_bytes()
    fake.queue(Reply.stream(data, "application/vnd.amazon.eventstream", [data[:50], data[50:]]))

    async def run() -> str:
        client = bedrock.AsyncClient(base_url=fake.url, credentials={"aws_access_key_id": KEY_ID, "aws_secret_access_key": SECRET})
        try:
            stream = await client.chat(model="bedrock/amazon.nova-lite-v1:0", messages=[{"role": "user", "content": "Hi"}], stream=True)
            return "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
        finally:
            await client.aclose()

    assert asyncio.run(run()) == "Hello! How can I help you today?"
    assert fake.last.path.endswith("/converse-stream")
    assert _verify(fake.last, fake.url, SECRET) == ("us-west-2", "bedrock")


def test_a_retry_is_sent_signed(fake: FakeProvider, clean_env: pytest.MonkeyPatch) -> None:
    fake.queue(Reply.json({"message": "Too many requests"}, status=429, headers={"retry-after": "0"}), Reply.json(RESPONSE))
    creds = {"aws_access_key_id": KEY_ID, "aws_secret_access_key": SECRET}
    with bedrock.Client(base_url=fake.url, credentials=creds, backoff=0.001) as client:
        client.chat(model="bedrock/amazon.nova-lite-v1:0", messages=[{"role": "user", "content": "Hi"}])
    assert len(fake.received) == 2
    for rec in fake.received:
        _verify(rec, fake.url, SECRET)


def test_an_api_key_is_a_bearer_token_and_nothing_is_signed(fake: FakeProvider, clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("AWS_BEARER_TOKEN_BEDROCK", "bedrock-api-key-abcdef")
    fake.queue(Reply.json(RESPONSE))
    with bedrock.Client(base_url=fake.url) as client:
        client.chat(model="bedrock/amazon.nova-lite-v1:0", messages=[{"role": "user", "content": "Hi"}])
    assert fake.last.headers["authorization"] == "Bearer bedrock-api-key-abcdef"
    assert "x-amz-date" not in fake.last.headers


def test_sans_io_request_is_marked_and_signed_by_hand(clean_env: pytest.MonkeyPatch) -> None:
    request = bedrock.chat.build_request({"model": "bedrock/amazon.nova-lite-v1:0", "messages": [{"role": "user", "content": "Hi"}], "region": "us-east-2"})
    assert request.extensions[aws.SIGV4] == ("bedrock", "us-east-2")
    assert request.url.host == "bedrock-runtime.us-east-2.amazonaws.com"
    aws.sign(request, Credentials(KEY_ID, SECRET))
    assert request.headers["authorization"].startswith(f"AWS4-HMAC-SHA256 Credential={KEY_ID}/")
    assert "/us-east-2/bedrock/aws4_request" in request.headers["authorization"]


def test_no_credentials_is_an_authentication_error_naming_the_ways(fake: FakeProvider, clean_env: pytest.MonkeyPatch) -> None:
    with bedrock.Client(base_url=fake.url) as client, pytest.raises(AuthenticationError) as info:
        client.chat(model="bedrock/amazon.nova-lite-v1:0", messages=[{"role": "user", "content": "Hi"}])
    text = str(info.value)
    assert "AWS_ACCESS_KEY_ID" in text and "AWS_BEARER_TOKEN_BEDROCK" in text
    assert fake.received == []


def test_secrets_stay_out_of_errors_and_reprs(fake: FakeProvider, clean_env: pytest.MonkeyPatch) -> None:
    secret = "s3cr3t/KEY+never+shown+anywhere00"
    token = "SESSIONTOKENnevershown0123456789"
    fake.queue(Reply.json({"message": f"The request signature we calculated does not match ({secret}, {token})"}, status=403))
    creds = {"aws_access_key_id": KEY_ID, "aws_secret_access_key": secret, "aws_session_token": token}
    with bedrock.Client(base_url=fake.url, credentials=creds) as client:
        with pytest.raises(Exception) as info:
            client.chat(model="bedrock/amazon.nova-lite-v1:0", messages=[{"role": "user", "content": "Hi"}])
        shown = repr(client) + repr(client._signer) + str(info.value) + repr(info.value) + repr(info.value.args)
    assert secret not in shown and token not in shown


def test_importing_an_adapter_needs_no_botocore() -> None:
    """Without botocore the adapter imports and a bearer call works; a call that must sign, or a
    stream to decode, raises an error naming the extra."""
    code = textwrap.dedent(
        """
        import sys
        sys.modules["botocore"] = None  # as if not installed
        from specgen_providers import bedrock
        from specgen_runtime.streams import EventStreamDecoder
        import os
        for k in [k for k in os.environ if k.startswith("AWS_")]:
            del os.environ[k]
        os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
        request = bedrock.chat.build_request({"model": "bedrock/m", "messages": [{"role": "user", "content": "x"}]})
        try:
            bedrock.Client(base_url="http://127.0.0.1:9").chat(model="bedrock/m", messages=[{"role": "user", "content": "x"}])
        except Exception as exc:
            print(type(exc).__name__, exc)
        try:
            EventStreamDecoder()
        except Exception as exc:
            print(type(exc).__name__, exc)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert len(lines) == 2
    for line in lines:
        assert line.startswith("MissingExtraError") and "specgen-providers[aws]" in line
