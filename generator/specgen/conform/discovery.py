"""``models.discovery``: ``Client.list_models()`` and ``AsyncClient.list_models()`` on the fake.

Self-check: the request goes to the declared method and path with the spec's auth, and the listed
models come back as ``ModelInfo`` entries, each id read from where the spec says and merged with
the spec's known models. Evidence: a recorded list body, ``fixtures/<p>/models/response.json``
and its ``transcripts.yaml`` saying which ids it must give (``expect: {ids: [...]}``; a child's own
folder first, then its parents'); without one the declaration is ``unverified``.
"""

from __future__ import annotations

import asyncio
import json
from types import ModuleType
from typing import Any

from specgen.build.ir import ProviderIR
from specgen.conform.fake import FakeProvider, Reply
from specgen.conform.mode_run import client_options
from specgen.results import FAIL, PASS, UNVERIFIED, Result
from specgen.spec.resolve import ResolvedSpec
from specgen.transcripts import ACCESS_TOKEN, API_KEY, load

__all__ = ["check"]


def _recorded(spec: ResolvedSpec) -> tuple[bytes, list[str], str] | None:
    """The recorded list body, the ids its transcript says it must give, and where it is."""
    for t in load(spec.sources, "models"):  # a child's own folder first, then its parents'
        if t.kind == "responses" and isinstance(t.expect.get("ids"), list):
            return t.body(), [str(i) for i in t.expect["ids"]], t.label
    return None


def check(spec: ResolvedSpec, ir: ProviderIR, module: ModuleType, fake: FakeProvider) -> list[Result]:
    """One result for the provider's discovery declaration (none when it declares none)."""
    if ir.discovery is None:
        return []
    where = ir.discovery["where"]
    name = f"models.discovery {ir.discovery['method']} list_models()"
    recorded = _recorded(spec)
    if recorded is None:
        return [Result(ir.name, "models", "response", name, UNVERIFIED, where, "no transcript of a recorded list (fixtures/<p>/models/)", [])]
    body, want, shown = recorded
    failures: list[str] = []
    options, tokens = client_options(ir)
    try:
        failures = _list_both(ir, module, fake, body, want, options)
    finally:
        if tokens is not None:
            tokens.stop()
    return [Result(ir.name, "models", "response", name, FAIL if failures else PASS, where, "; ".join(failures), [shown])]


def _list_both(ir: ProviderIR, module: ModuleType, fake: FakeProvider, body: bytes, want: list[str], options: dict[str, Any]) -> list[str]:
    assert ir.discovery is not None
    failures: list[str] = []
    options = {"api_key": API_KEY, **options}  # auth google: the options hold the credentials, no key
    for kind in ("Client", "AsyncClient"):
        fake.reset()
        fake.queue(Reply(200, body, {"content-type": "application/json"}))
        base = fake.url
        try:
            if kind == "Client":
                with module.Client(base_url=base, max_retries=0, **options) as client:
                    listed = client.list_models()
            else:

                async def run(url: str) -> list[Any]:
                    async with module.AsyncClient(base_url=url, max_retries=0, **options) as client:
                        return list(await client.list_models())

                listed = asyncio.run(run(base))
        except Exception as exc:  # the adapter's own error: a failing check, reported
            failures.append(f"{kind}.list_models() raised {type(exc).__name__}: {exc}")
            continue
        if not fake.received:
            failures.append(f"{kind}.list_models() sent nothing")
            continue
        got = fake.last
        if got.method != ir.discovery["method"]:
            failures.append(f"{kind}: method {got.method}, expected {ir.discovery['method']}")
        credential = ACCESS_TOKEN if ir.token_spec is not None or ir.google_auth is not None else API_KEY
        if ir.auth_type != "none" and credential not in json.dumps(dict(got.headers)) + json.dumps(got.query):
            failures.append(f"{kind}: the request carries no API key ({ir.auth_type})")
        ids = [m.get("id") for m in listed]
        if ids != want:
            failures.append(f"{kind}: ids {ids}, expected {want}")
        known = {str(m["id"]) for m in ir.models}
        merged = [m for m in listed if m.get("id") in known]
        if any(not m.get("known") for m in merged):
            failures.append(f"{kind}: a listed model the spec knows was not merged with MODELS")
    return failures
