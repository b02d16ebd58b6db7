"""One provider × mode run: its state, and how it drives the generated clients against the fake.

A :class:`ModeRun` holds what every check of a mode needs: the spec and its IR, the adapter module
built from it, the loopback :class:`~specgen.conform.fake.FakeProvider`, the mode's transcripts
and the :class:`~specgen.conform.ledger.Ledger`.  :meth:`ModeRun.call` makes one call through the
generated ``Client`` (:meth:`ModeRun.acall` through the ``AsyncClient``) with the replies the fake
should give, and returns what the fake received and what the call returned or raised.  The checks
(:mod:`~specgen.conform.requests`, :mod:`~specgen.conform.responses`,
:mod:`~specgen.conform.streams`, :mod:`~specgen.conform.errors_check`) are functions of a ModeRun.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import httpx

from specgen.build.ir import ModeIR, ProviderIR
from specgen.conform.fake import FakeProvider, Received, Reply
from specgen.conform.ledger import Ledger
from specgen.conform.samples import google_service_account, path_values, token_answer
from specgen.results import FAIL, PASS, Result
from specgen.spec.resolve import ResolvedSpec
from specgen.transcripts import (
    ACCESS_TOKEN,
    API_KEY,
    CAPTURED,
    DOCUMENTATION,
    UNSTATED,
    Transcript,
    load,
)
from specgen_runtime.google_auth import CLOUD_PLATFORM

CONTENT_TYPES = {
    "sse": "text/event-stream",
    "ndjson": "application/x-ndjson",
    "json_array": "application/json",
    "aws_eventstream": "application/vnd.amazon.eventstream",
}


def client_options(ir: ProviderIR) -> tuple[dict[str, Any], FakeProvider | None]:
    """The client keywords every conformance call passes: a value for each path parameter, and
    for ``auth.type: token`` the URL of a second loopback fake that plays the token endpoint
    (it answers every exchange with :data:`~specgen.transcripts.ACCESS_TOKEN`; returned to stop)."""
    options: dict[str, Any] = dict(path_values(ir.path_params, ir.body_fields))
    tokens: FakeProvider | None = None
    if ir.token_spec is not None:
        tokens = FakeProvider()
        tokens.default = Reply.json(token_answer(ir.token_spec, ACCESS_TOKEN))
        tokens.start()
        options["token_url"] = tokens.url + "/conform-token"
    elif ir.google_auth is not None:  # google-auth's own flow, with a service account whose token_uri is the fake
        tokens = FakeProvider()
        tokens.default = Reply.json({"access_token": ACCESS_TOKEN, "expires_in": 3600, "token_type": "Bearer"})
        tokens.start()
        try:  # one credentials object for the run: loading a key costs ~0.3 s; its token is then shared
            import importlib

            service_account: Any = importlib.import_module("google.oauth2.service_account")
        except ImportError:  # without google-auth the token is given as is: the auth check says why it fails
            options["api_key"] = ACCESS_TOKEN
        else:
            info = google_service_account(tokens.url + "/conform-token")
            options["credentials"] = service_account.Credentials.from_service_account_info(info, scopes=[CLOUD_PLATFORM])
            options["api_key"] = None  # an api_key would be sent as a ready token, skipping the flow
    return options, tokens


@dataclass
class Call:
    """One call's outcome: what the fake received (None: nothing was sent) and the value or error."""

    received: Received | None
    value: Any = None
    error: BaseException | None = None

    @property
    def body(self) -> Any:
        if self.received is None:
            return None
        try:
            return self.received.json()
        except ValueError:
            return None


class ModeRun:
    def __init__(self, spec: ResolvedSpec, ir: ProviderIR, module: ModuleType, fake: FakeProvider, mode: ModeIR) -> None:
        self.spec = spec
        self.ir = ir
        self.mode = mode
        self.fake = fake
        self.module = module
        self.ledger = Ledger()
        self.transcripts = load(spec.sources, mode.name)
        self.by_kind: dict[str, list[Transcript]] = {}
        for t in self.transcripts:
            self.by_kind.setdefault(t.kind, []).append(t)
        self.extra: list[Result] = []  # transcript checks
        self.http = httpx.Client(timeout=10.0)
        self.options, self.token_fake = client_options(ir)
        self.model = self._default_model()
        self.ok_reply = self._ok_reply()

    def close(self) -> None:
        self.http.close()
        if self.token_fake is not None:
            self.token_fake.stop()

    def results(self) -> list[Result]:
        """Each declaration's result, then each transcript's, each with what its evidence rests on."""
        out = self.ledger.results(self.ir.name, self.mode.name) + self.extra
        bases = {t.label: t.basis for t in self.transcripts}
        for r in out:
            found = {bases.get(label, UNSTATED) for label in r.evidence}
            r.basis = next((b for b in (DOCUMENTATION, CAPTURED, UNSTATED) if b in found), "")
        return out

    def _default_model(self) -> str:
        for t in self.by_kind.get("requests", ()):
            model = t.params.get("model")
            if isinstance(model, str) and not t.options.get("api_version"):
                return self.ir.bare_model(model)
        for m in self.ir.models:
            if m.get("mode", "chat") == self.mode.name and isinstance(m.get("id"), str):
                return str(m["id"])
        return "conform-model"

    def _ok_reply(self) -> Reply:
        for t in self.by_kind.get("responses", ()):
            if t.status == 200 and not t.raises:
                return Reply(200, t.body(), {"content-type": "application/json"})
        return Reply.json({})

    def stream_reply(self) -> Reply:
        """The first recorded stream that ends normally (an empty stream when there is none)."""
        s = self.mode.stream
        assert s is not None
        for t in self.by_kind.get("streams", ()):
            if not t.raises:
                return Reply.stream(t.body(), CONTENT_TYPES.get(s.protocol, "text/event-stream"))
        return Reply.stream(b"", CONTENT_TYPES.get(s.protocol, "text/event-stream"))

    def base(self, model: str | None = None) -> dict[str, Any]:
        """The smallest valid params of the mode (a model and one message, or one input)."""
        params: dict[str, Any] = {"model": model or self.model}
        if self.mode.name == "chat":
            params["messages"] = [{"role": "user", "content": "Hello"}]
        elif self.mode.name == "embeddings":
            params["input"] = ["Hello"]
        elif self.mode.name == "completions":
            params["prompt"] = "def hello():"
        return params

    def client(self, *, retries: int = 0, asynchronous: bool = False) -> Any:
        options = {"api_key": API_KEY, **self.options}
        if asynchronous:
            return self.module.AsyncClient(base_url=self.fake.url, max_retries=retries, backoff=0.001, timeout=10.0, **options)
        # one pooled httpx.Client for every sync call (a TLS context per client costs ~40 ms)
        return self.module.Client(base_url=self.fake.url, max_retries=retries, backoff=0.001, http_client=self.http, **options)

    def call(self, params: dict[str, Any], *, api_version: str | None = None, replies: list[Reply] | None = None, retries: int = 0) -> Call:
        """One call through the sync client; returns what the fake received and the outcome."""
        self.fake.reset()
        self.fake.queue(*(replies if replies is not None else [self.ok_reply]))
        client = self.client(retries=retries)
        if api_version:
            client.api_version = api_version
        params = dict(params)
        stream = bool(params.pop("stream", False))
        try:
            with client:
                method = getattr(client, self.mode.name)
                if stream:
                    value: Any = [c.to_dict() for c in method(stream=True, **params)]
                else:
                    value = method(**params)
        except BaseException as exc:
            if isinstance(exc, KeyboardInterrupt):
                raise
            return Call(self.fake.received[-1] if self.fake.received else None, None, exc)
        return Call(self.fake.received[-1] if self.fake.received else None, value)

    def acall(self, params: dict[str, Any], replies: list[Reply], retries: int = 0) -> Call:
        """The same through the AsyncClient."""
        self.fake.reset()
        self.fake.queue(*replies)

        async def go() -> Any:
            p = dict(params)
            stream = bool(p.pop("stream", False))
            async with self.client(retries=retries, asynchronous=True) as client:
                method = getattr(client, self.mode.name)
                if stream:
                    return [c.to_dict() async for c in await method(stream=True, **p)]
                return await method(**p)

        try:
            value = asyncio.run(go())
        except BaseException as exc:
            if isinstance(exc, KeyboardInterrupt):
                raise
            return Call(self.fake.received[-1] if self.fake.received else None, None, exc)
        return Call(self.fake.received[-1] if self.fake.received else None, value)

    def transcript_result(self, group: str, t: Transcript, failure: str | None) -> None:
        """A transcript's own check (``transcript requests/basic``), beside the declarations'."""
        self.extra.append(
            Result(self.ir.name, self.mode.name, group, f"transcript {t.kind}/{t.label}", FAIL if failure else PASS, t.source, failure or "", [t.label])
        )
