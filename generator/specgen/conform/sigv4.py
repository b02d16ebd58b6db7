"""SigV4 signing checked against AWS's published test vectors (``aws4_testsuite.json``).

Each vector is a raw HTTP request and the ``Authorization`` header AWS's reference signer gives it
(credentials ``AKIDEXAMPLE``, region ``us-east-1``, service ``service``, 2015-08-30T12:36:00Z). The
request is rebuilt as the ``httpx.Request`` an adapter would send, signed by
:func:`specgen_runtime.aws.sign` (the path every ``auth: sigv4`` client takes) and the header compared.
A few vectors describe requests an adapter cannot make (:data:`NOT_APPLICABLE`) and are left out.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from specgen.conform.mode_run import ModeRun

VECTORS = Path(__file__).with_name("aws4_testsuite.json")

#: vectors whose request no adapter sends (an httpx request cannot carry it as written)
NOT_APPLICABLE = {
    "get-header-key-duplicate": "a header repeated on two lines (httpx joins them as it sends them)",
    "get-header-value-multiline": "a header value folded over lines (obsolete in HTTP/1.1)",
    "get-vanilla-query-order-key": "a query key repeated (SDKs send each key once)",
    "get-vanilla-query-order-key-case": "a query key repeated (SDKs send each key once)",
    "get-vanilla-query-order-value": "a query key repeated (SDKs send each key once)",
    "post-sts-token/post-sts-header-after": "the session token added after signing (AWS services that sign it, as Bedrock does, take it before)",
    "get-utf8": "a path that is not ASCII, signed encoded once; an SDK signs the path it sends (already encoded) encoded again, as AWS services but S3 expect",
}


@dataclass
class Vector:
    name: str
    method: str
    target: str  # path and query as written on the request line
    headers: list[tuple[str, str]]
    body: bytes
    authz: str
    token: str | None = None


def load() -> tuple[dict[str, Any], list[Vector]]:
    data = json.loads(VECTORS.read_text(encoding="utf-8"))
    out = []
    for name, case in data["cases"].items():
        if name in NOT_APPLICABLE:
            continue
        head, _, body = case["req"].partition("\n\n")
        lines = head.split("\n")
        method, target, _version = lines[0].split(" ")
        headers = []
        for line in lines[1:]:
            if line:
                key, _, value = line.partition(":")
                headers.append((key, value))
        # the session token of a vector that uses one: the one its canonical request signs
        token = next(
            (ln.split(":", 1)[1] for ln in case["creq"].split("\n") if ln.startswith("x-amz-security-token:")),
            None,
        )
        out.append(Vector(name, method, target, headers, body.encode("utf-8"), case["authz"].strip(), token))
    return data, out


def check(vector: Vector, suite: dict[str, Any]) -> str | None:
    """None when the runtime's signature matches the vector's; else what differs."""
    import httpx
    from botocore.credentials import Credentials

    from specgen_runtime.aws import sign

    host = next(v for k, v in vector.headers if k.lower() == "host")
    token = vector.token
    url = httpx.URL("https://" + host.strip() + vector.target)
    headers = [(k, v) for k, v in vector.headers if k.lower() not in ("x-amz-date", "x-amz-security-token")]
    request = httpx.Request(vector.method, url, headers=headers, content=vector.body or None)
    if "content-length" in request.headers and not any(k.lower() == "content-length" for k, _ in vector.headers):
        del request.headers["content-length"]  # httpx adds it for a body; the vector's request has none
    creds = suite["credentials"]
    when = dt.datetime.strptime(suite["date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
    sign(
        request,
        Credentials(creds["access_key"], creds["secret_key"], token),
        region=suite["region"],
        service=suite["service"],
        now=when,
    )
    got = request.headers.get("authorization")
    return None if got == vector.authz else f"{vector.name}: expected {vector.authz!r}, signed {got!r}"


def failures() -> tuple[int, list[str]]:
    """(how many vectors were checked, what failed)."""
    suite, vectors = load()
    fails = [f for f in (check(v, suite) for v in vectors) if f]
    return len(vectors), fails


def signed_call(run: ModeRun) -> str | None:
    """One call with no API key and given credentials: the request the fake receives must carry
    a SigV4 signature of itself (re-signed here over the headers it names, at its own date) for
    the spec's service and the region the call was made in. None when it does."""
    import os

    import httpx
    from botocore.credentials import Credentials

    from specgen_runtime.aws import sign

    suite = json.loads(VECTORS.read_text(encoding="utf-8"))
    creds = suite["credentials"]
    sig = run.ir.sigv4 or {}
    hidden = {k: os.environ.pop(k) for k in run.ir.api_key_env if k in os.environ}
    run.fake.reset()
    run.fake.queue(run.ok_reply)
    failure: str | None = None
    try:
        options = {**run.options, "api_key": None, "credentials": {"aws_access_key_id": creds["access_key"], "aws_secret_access_key": creds["secret_key"]}}
        with run.module.Client(base_url=run.fake.url, max_retries=0, http_client=run.http, **options) as client:
            getattr(client, run.mode.name)(**run.base())
    except Exception as exc:  # the check reports it
        failure = f"a call signed with credentials raised {type(exc).__name__}: {exc}"
    finally:
        os.environ.update(hidden)
    if failure is not None:
        return failure
    rec = run.fake.last
    auth = rec.headers.get("authorization", "")
    parts = dict(p.strip().split("=", 1) for p in auth.removeprefix("AWS4-HMAC-SHA256 ").split(",") if "=" in p)
    scope = parts.get("Credential", "").split("/")
    region = str(run.options.get(sig.get("region", ""), ""))
    if not auth.startswith("AWS4-HMAC-SHA256 ") or len(scope) != 5:
        return f"a call with no API key was not signed (authorization {auth!r})"
    if scope[0] != creds["access_key"] or scope[2] != region or scope[3] != sig.get("service"):
        return f"signed for {'/'.join(scope[2:4])}, expected {region}/{sig.get('service')}"
    names = parts.get("SignedHeaders", "").split(";")
    query = "&".join(f"{k}={v}" for k, vs in rec.query.items() for v in vs)
    url = httpx.URL(run.fake.url + rec.path + ("?" + query if query else ""))
    again = httpx.Request(rec.method, url, headers=[(k, v) for k, v in rec.headers.items() if k in names and k != "x-amz-date"], content=rec.body)
    for extra in [k for k in again.headers if k not in names]:
        del again.headers[extra]
    when = dt.datetime.strptime(rec.headers.get("x-amz-date", ""), "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
    sign(again, Credentials(creds["access_key"], creds["secret_key"]), region=region, service=str(sig.get("service")), now=when)
    return None if again.headers.get("authorization") == auth else "the signature does not match the request the fake received"
