"""The conformance runner: every declaration in a spec becomes a check against a loopback fake.

For each provider and mode the runner builds the spec fresh into a temporary package, starts a
:class:`~specgen.conform.fake.FakeProvider` (real HTTP on 127.0.0.1) and drives the generated
``Client`` and ``AsyncClient``.  Two kinds of evidence meet in each declaration's result:

* a *self-check*: the adapter does what the declaration says (a mapped param arrives at its
  target, transformed; a refused one raises; a retryable error row is retried …);
* *transcripts*: recorded wire exchanges from the provider's documentation, with what they
  must give (``fixtures/<provider>/<mode>/transcripts.yaml``).  They say whether the declaration
  is *true of the provider*.

A declaration about the provider's wire (a target path, a finish_reason row, an error row, a
stream event …) passes only when a transcript exercises it and agrees; with no transcript it is
``unverified``, never ``pass``.  A declaration of our own policy (drop, refuse, ranges, defaults,
retries) passes on its self-check.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import fnmatch
import importlib
import json
import os
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx

from specgen.build.ir import ErrorRowIR, ModeIR, ParamIR, ProviderIR, build_ir
from specgen.conform import match as M
from specgen.conform.fake import FakeProvider, Received, Reply
from specgen.conform.samples import example_model, other_model, sample
from specgen.conform.transcripts import API_KEY, Transcript, load
from specgen.spec.resolve import ResolvedSpec
from specgen_runtime import errors as E
from specgen_runtime import wires
from specgen_runtime.streams import JSONArrayDecoder, NDJSONDecoder, SSEDecoder

PASS, FAIL, UNVERIFIED = "pass", "fail", "unverified"
GROUPS = ("request", "response", "stream", "errors")
UNKNOWN_PARAM = "conform_unknown_param"
NO_EVIDENCE = "no transcript exercises it"
_UNSET: Any = object()  # a transcript param's value, when the caller has none to give
DECODERS: dict[str, Any] = {"sse": SSEDecoder, "ndjson": NDJSONDecoder, "json_array": JSONArrayDecoder}
CONTENT_TYPES = {"sse": "text/event-stream", "ndjson": "application/x-ndjson", "json_array": "application/json"}


@dataclass
class Result:
    provider: str
    mode: str
    group: str
    check: str
    status: str
    spec: str = ""  # "specs/x.yaml:12": the declaration's line
    detail: str = ""  # for a failure: expected vs received
    evidence: list[str] = field(default_factory=list)  # transcripts that exercised it

    @property
    def inherited_only(self) -> bool:
        """Passed on a parent's transcripts alone (``openai:basic``), none of the provider's own."""
        return bool(self.evidence) and all(":" in name for name in self.evidence)

    def to_dict(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "mode": self.mode,
            "group": self.group,
            "check": self.check,
            "status": self.status,
            "spec": self.spec,
            "detail": self.detail,
            "evidence": self.evidence,
            "inherited_only": self.inherited_only,
        }


@dataclass
class _Decl:
    """One declaration: its self-check outcome and the transcript evidence gathered for it."""

    group: str
    check: str
    spec: str
    needs_evidence: bool
    self_fail: str | None = None
    checked: bool = False
    evidence: list[tuple[str, str | None]] = field(default_factory=list)  # (transcript, failure or None)

    def result(self, provider: str, mode: str) -> Result:
        names = sorted({n for n, _ in self.evidence})
        if self.self_fail is not None:
            return Result(provider, mode, self.group, self.check, FAIL, self.spec, self.self_fail, names)
        for name, failure in self.evidence:
            if failure is not None:
                return Result(provider, mode, self.group, self.check, FAIL, self.spec, f"{failure} [transcript {name}]", names)
        if self.needs_evidence and not self.evidence:
            return Result(provider, mode, self.group, self.check, UNVERIFIED, self.spec, NO_EVIDENCE, names)
        if not self.needs_evidence and not self.checked and not self.evidence:
            return Result(provider, mode, self.group, self.check, UNVERIFIED, self.spec, "nothing could exercise it", names)
        return Result(provider, mode, self.group, self.check, PASS, self.spec, "", names)


class _Ledger:
    def __init__(self) -> None:
        self.decls: dict[tuple[str, ...], _Decl] = {}

    def declare(self, key: tuple[str, ...], group: str, check: str, spec: str, *, needs_evidence: bool) -> _Decl:
        if key not in self.decls:
            self.decls[key] = _Decl(group, check, spec.strip(), needs_evidence)
        return self.decls[key]

    def self_check(self, key: tuple[str, ...], failure: str | None) -> None:
        d = self.decls.get(key)
        if d is None:
            return
        d.checked = True
        if failure is not None and d.self_fail is None:
            d.self_fail = failure

    def evidence(self, key: tuple[str, ...], transcript: str, failure: str | None) -> None:
        d = self.decls.get(key)
        if d is not None:
            d.evidence.append((transcript, failure))


# ---------------------------------------------------------------------------- entry point


@dataclass
class Report:
    results: list[Result]
    seconds: float

    @property
    def failed(self) -> bool:
        return any(r.status == FAIL for r in self.results)


def conform(specs_dir: Path, names: list[str] | None = None, mode: str | None = None) -> Report:
    """Build ``specs_dir`` into a temporary package and check every provider (or ``names``)."""
    start = time.perf_counter()
    results: list[Result] = []
    with built_adapters(specs_dir, names) as built:
        for spec, module in built:
            results.extend(ProviderRun(spec, build_ir(spec), module).run(mode))
    return Report(results, time.perf_counter() - start)


@contextlib.contextmanager
def built_adapters(specs_dir: Path, names: list[str] | None = None) -> Iterator[list[tuple[ResolvedSpec, ModuleType]]]:
    """The specs, each with its adapter module freshly built into a temporary package (removed,
    with its modules, on exit). Raises :class:`~specgen.spec.errors.SpecErrors` for a bad spec."""
    from specgen.build.compiler import build
    from specgen.spec.resolve import load_specs

    specs = load_specs(specs_dir, only=names or None)
    tmp = Path(tempfile.mkdtemp(prefix="specgen-conform-"))
    package = f"_specgen_conform_{os.getpid()}_{random.randrange(1 << 30):x}"
    try:
        build(specs_dir, tmp / package, only=names or None, force=True)
        sys.path.insert(0, str(tmp))
        try:
            yield [(spec, importlib.import_module(f"{package}.{spec.name}")) for spec in specs]
        finally:
            sys.path.remove(str(tmp))
            for name in [m for m in sys.modules if m == package or m.startswith(package + ".")]:
                del sys.modules[name]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ---------------------------------------------------------------------------- one provider


@dataclass
class _Call:
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


class ProviderRun:
    def __init__(self, spec: ResolvedSpec, ir: ProviderIR, module: ModuleType) -> None:
        self.spec = spec
        self.ir = ir
        self.module = module
        self.fake: FakeProvider

    def run(self, only_mode: str | None) -> list[Result]:
        results: list[Result] = []
        with FakeProvider() as fake, _without_env(self.ir.api_key_env + self.ir.base_url_env + self.ir.version_env):
            self.fake = fake
            for mode in self.ir.modes:
                if only_mode and mode.name != only_mode:
                    continue
                results.extend(ModeRun(self, mode).run())
        return results


@contextlib.contextmanager
def _without_env(names: list[str]) -> Iterator[None]:
    saved = {n: os.environ.pop(n) for n in names if n in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)


class ModeRun:
    def __init__(self, provider: ProviderRun, mode: ModeIR) -> None:
        self.p = provider
        self.ir = provider.ir
        self.mode = mode
        self.fake = provider.fake
        self.module = provider.module
        self.ledger = _Ledger()
        self.transcripts = load(provider.spec.sources, mode.name)
        self.by_kind: dict[str, list[Transcript]] = {}
        for t in self.transcripts:
            self.by_kind.setdefault(t.kind, []).append(t)
        self.extra: list[Result] = []  # transcript checks
        self.http = httpx.Client(timeout=10.0)
        self.model = self._default_model()
        self.ok_reply = self._ok_reply()

    # -------------------------------------------------------------- helpers

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

    def _base(self, model: str | None = None) -> dict[str, Any]:
        params: dict[str, Any] = {"model": model or self.model}
        if self.mode.name == "chat":
            params["messages"] = [{"role": "user", "content": "Hello"}]
        elif self.mode.name == "embeddings":
            params["input"] = ["Hello"]
        return params

    def client(self, *, retries: int = 0, asynchronous: bool = False) -> Any:
        if asynchronous:
            return self.module.AsyncClient(api_key=API_KEY, base_url=self.fake.url, max_retries=retries, backoff=0.001, timeout=10.0)
        # one pooled httpx.Client for every sync call (a TLS context per client costs ~40 ms)
        return self.module.Client(api_key=API_KEY, base_url=self.fake.url, max_retries=retries, backoff=0.001, http_client=self.http)

    def call(self, params: dict[str, Any], *, api_version: str | None = None, replies: list[Reply] | None = None, retries: int = 0) -> _Call:
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
            return _Call(self.fake.received[-1] if self.fake.received else None, None, exc)
        return _Call(self.fake.received[-1] if self.fake.received else None, value)

    def acall(self, params: dict[str, Any], replies: list[Reply], retries: int = 0) -> _Call:
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
            return _Call(self.fake.received[-1] if self.fake.received else None, None, exc)
        return _Call(self.fake.received[-1] if self.fake.received else None, value)

    def transcript_result(self, group: str, t: Transcript, failure: str | None) -> None:
        self.extra.append(
            Result(self.ir.name, self.mode.name, group, f"transcript {t.kind}/{t.label}", FAIL if failure else PASS, t.source, failure or "", [t.label])
        )

    # -------------------------------------------------------------- run

    def run(self) -> list[Result]:
        try:
            return self._run()
        finally:
            self.http.close()

    def _run(self) -> list[Result]:
        self.declare()
        self.request_checks()
        self.request_transcripts()
        if self.mode.name == "chat":
            self.response_self_checks()
        self.response_transcripts()
        if self.mode.stream is not None:
            self.stream_checks()
        self.error_checks()
        out = [d.result(self.ir.name, self.mode.name) for d in self.ledger.decls.values()]
        return out + self.extra

    # -------------------------------------------------------------- declarations

    def declare(self) -> None:
        L, m, ir = self.ledger, self.mode, self.ir
        for prm in m.params:
            if prm.kind == "map":
                L.declare(("param", prm.name), "request", f"param {prm.name} → {'.'.join(prm.to)}", prm.where, needs_evidence=True)
                if prm.range:
                    L.declare(("range", prm.name), "request", f"param {prm.name} range {list(prm.range)}", prm.where, needs_evidence=False)
                if prm.enum:
                    L.declare(("enum", prm.name), "request", f"param {prm.name} enum", prm.where, needs_evidence=False)
                if prm.has_default:
                    L.declare(("default", prm.name), "request", f"param {prm.name} default {M.show(prm.default)}", prm.where, needs_evidence=False)
                if prm.required:
                    L.declare(("required", prm.name), "request", f"param {prm.name} required", prm.where, needs_evidence=False)
                if prm.values or prm.field_values:
                    L.declare(("values", prm.name), "request", f"param {prm.name} value map", prm.where, needs_evidence=True)
            else:
                L.declare(("unsupported", prm.name), "request", f"param {prm.name} unsupported: {prm.kind}", prm.where, needs_evidence=False)
        for name, target, where in m.aliases:
            L.declare(("alias", name), "request", f"param {name} alias of {target}", where, needs_evidence=False)
        L.declare(("leftovers",), "request", f"unsupported: {m.unsupported} (params the spec doesn't name)", m.where, needs_evidence=False)
        for i, rule in enumerate(m.rules):
            L.declare(("rule", str(i)), "request", f"model_rules {', '.join(rule.patterns)}", rule.where, needs_evidence=False)
        if ir.auth_type != "none":
            L.declare(("auth",), "request", f"auth {ir.auth_type}" + (f" {ir.auth_header}" if ir.auth_header else ""), ir.auth_where, needs_evidence=True)
        for name, _value in ir.headers:
            L.declare(("header", name), "request", f"header {name}", ir.auth_where, needs_evidence=True)
        L.declare(("path",), "request", f"{m.method} path", m.where, needs_evidence=True)
        if ir.versions_where:
            L.declare(("version", "default"), "request", f"api_version default {ir.version_default}", ir.versions_where, needs_evidence=True)
            for var, pats, version, where in ir.version_overrides:
                L.declare(("version", var), "request", f"api_version {version} for {', '.join(pats)}", where, needs_evidence=True)
        s = m.stream
        if s is not None:
            if s.flag:
                L.declare(("stream_flag",), "request", f"stream flag {'.'.join(s.flag)}", s.where, needs_evidence=True)
            if s.path_expr or s.query is not None:
                L.declare(("stream_path",), "request", "stream endpoint", s.where, needs_evidence=True)
            L.declare(("stream_chunking",), "stream", "any chunking gives the same chunks", s.where, needs_evidence=True)
            L.declare(("stream_cut",), "stream", "a stream cut short raises a typed error", s.where, needs_evidence=False)
            for path, values in s.emulate_when:
                L.declare(("emulate", ".".join(path)), "stream", f"stream emulated when {'.'.join(path)} in {M.show(values)}", s.where, needs_evidence=False)
            for ev in s.events:
                L.declare(("event", ev.key), "stream", f"event {ev.key}" + (" (ignore)" if ev.ignore else ""), ev.where, needs_evidence=True)
        if m.name == "chat":
            for raw, value in m.finish_map.items():
                L.declare(("finish", raw), "response", f"finish_reason {raw} → {value}", m.finish_where, needs_evidence=True)
            if m.finish_tool_calls:
                L.declare(("finish_tool_calls",), "response", "finish_reason tool_calls when tools are called", m.finish_where, needs_evidence=True)
        for key, src in m.usage:
            if ("usage", key) in L.decls:
                L.decls[("usage", key)].check += f" + {'.'.join(src)}"
            else:
                L.declare(("usage", key), "response", f"usage {key} ← {'.'.join(src)}", m.response_where, needs_evidence=True)
        for i, row in enumerate(ir.error_rows):
            L.declare(("error", str(i)), "errors", _row_name(row), row.where, needs_evidence=True)
            L.declare(("retry", str(i)), "errors", f"{_row_name(row)} {'retried' if row.retry else 'not retried'}", row.where, needs_evidence=False)
        if any(r.retry for r in ir.error_rows):
            L.declare(("retry_after",), "errors", "Retry-After is honoured", ir.error_rows[0].where, needs_evidence=False)

    # -------------------------------------------------------------- request self-checks

    def request_checks(self) -> None:
        L, m = self.ledger, self.mode
        base = self.call(self._base())
        if base.received is None:
            failure = f"the baseline request was not sent: {_describe(base.error)}"
            for key, d in L.decls.items():
                if d.group == "request":
                    L.self_check(key, failure)
            return
        body0 = base.body
        for prm in m.params:
            if prm.kind == "map":
                self._check_param(prm, body0)
            else:
                self._check_unsupported(prm)
        for name, target, _where in m.aliases:
            tprm = next((p for p in m.params if p.name == target), None)
            value = sample(target, tprm.transform if tprm else None, tprm.range if tprm else None, tprm.enum if tprm else None)
            via_alias = self.call({**self._base(), name: value})
            direct = self.call({**self._base(), target: value})
            if via_alias.received is None or direct.received is None:
                L.self_check(("alias", name), f"alias call not sent: {_describe(via_alias.error or direct.error)}")
            else:
                diffs = M.diff(direct.body, via_alias.body, exact=True)
                L.self_check(("alias", name), _first(diffs))
        self._check_leftovers(body0)
        for i, rule in enumerate(m.rules):
            self._check_rule(str(i), rule)
        self._check_auth_headers_path(base)
        if m.stream is not None:
            self._check_stream_request()

    def _check_param(self, prm: ParamIR, body0: Any) -> None:
        L = self.ledger
        value = sample(prm.name, prm.transform, prm.range, prm.enum)
        got = self.call({**self._base(), prm.name: value})
        key = ("param", prm.name)
        if got.received is None:
            L.self_check(key, f"{prm.name}={M.show(value)} was refused: {_describe(got.error)}")
        else:
            expected = _mapped(prm, value)
            if expected is not None and prm.transform:
                expected = wires.transforms()[prm.transform].function(expected)
            if expected is None and prm.location != "query":  # a value mapped to null: nothing is sent
                after = M.get(got.body, prm.to)
                L.self_check(key, None if after is M._MISSING else f"{prm.name}={M.show(value)}: expected nothing at {'.'.join(prm.to)}, received {M.show(after)}")
            elif prm.location == "query":
                received = _query1(got.received, ".".join(prm.to))
                exp_q = str(expected)
                L.self_check(key, None if received == exp_q else f"query {'.'.join(prm.to)}: expected {M.show(exp_q)}, received {M.show(received)}")
            else:
                before = M.get(body0, prm.to)
                if prm.merge and isinstance(before, dict) and isinstance(expected, dict):
                    expected = {**before, **expected}
                after = M.get(got.body, prm.to)
                root = _params_root(self.mode)
                if root:
                    after = M.get(got.body, (*root, *prm.to))
                # a merged value may gain keys from the format's finishing step (Anthropic's tool_choice.type)
                diffs = M.diff(expected, after if after is not M._MISSING else "<nothing>", exact=not prm.merge, where=("body", *root, *prm.to))
                L.self_check(key, _first(diffs))
        if prm.range:
            lo, hi = prm.range
            fails = []
            for edge in (lo, hi):
                if edge is not None and self.call({**self._base(), prm.name: edge}).received is None:
                    fails.append(f"{prm.name}={edge!r} (inside the range) was refused")
            for outside in ((lo - 1) if lo is not None else None, (hi + 1) if hi is not None else None):
                if outside is None:
                    continue
                c = self.call({**self._base(), prm.name: outside})
                if not isinstance(c.error, E.UnsupportedParamsError) or c.received is not None:
                    fails.append(f"{prm.name}={outside!r}: expected UnsupportedParamsError before sending, received {_describe(c.error) if c.error else 'a sent request'}")
            L.self_check(("range", prm.name), fails[0] if fails else None)
        if prm.enum:
            c = self.call({**self._base(), prm.name: "conform-not-in-enum"})
            ok = isinstance(c.error, E.UnsupportedParamsError) and c.received is None
            L.self_check(("enum", prm.name), None if ok else f"{prm.name} outside {prm.enum}: expected UnsupportedParamsError, received {_describe(c.error) if c.error else 'a sent request'}")
        if prm.values or prm.field_values:
            self._check_values(prm)
        if prm.has_default:
            c = self.call(self._base())
            exp = _mapped(prm, prm.default)
            if prm.transform and exp is not None:
                exp = wires.transforms()[prm.transform].function(exp)
            diffs = M.diff(exp, M.get(c.body, prm.to), exact=True, where=("body", *prm.to)) if prm.location == "body" else []
            L.self_check(("default", prm.name), _first(diffs))
        if prm.required:
            c = self.call(self._base())
            ok = isinstance(c.error, E.BadRequestError) and c.received is None
            L.self_check(("required", prm.name), None if ok else f"without {prm.name}: expected BadRequestError, received {_describe(c.error) if c.error else 'a sent request'}")

    def _check_values(self, prm: ParamIR) -> None:
        """Each entry of a value map: the OpenAI value sent arrives as the provider's (transformed)."""
        cases: list[tuple[Any, Any]] = [(k, v) for k, v in prm.values]
        base = sample(prm.name, prm.transform, None, None)
        for path, pairs in prm.field_values:
            for k, v in pairs:
                sent, want = copy.deepcopy(base if isinstance(base, dict) else {}), copy.deepcopy(base if isinstance(base, dict) else {})
                M.set_at(sent, ".".join(path), k)
                M.set_at(want, ".".join(path), v)
                cases.append((sent, want))
        fails = []
        for sent, want in cases:
            c = self.call({**self._base(), prm.name: sent})
            if c.received is None:
                fails.append(f"{prm.name}={M.show(sent)} was refused: {_describe(c.error)}")
                continue
            root = _params_root(self.mode)
            got = _query1(c.received, ".".join(prm.to)) if prm.location == "query" else M.get(c.body, (*root, *prm.to))
            if want is None:  # mapped to null: nothing is sent
                if got is not None and got is not M._MISSING:
                    fails.append(f"{prm.name}={M.show(sent)}: expected nothing at {'.'.join(prm.to)}, received {M.show(got)}")
                continue
            expected = wires.transforms()[prm.transform].function(want) if prm.transform else want
            if prm.location == "query":
                expected = str(expected)
            fails += M.diff(expected, got, exact=not prm.merge, where=("body", *root, *prm.to))
        self.ledger.self_check(("values", prm.name), fails[0] if fails else None)

    def _check_unsupported(self, prm: ParamIR) -> None:
        value = prm.enum[0] if prm.enum else sample(prm.name, None, None, None)
        c = self.call({**self._base(), prm.name: value})
        key = ("unsupported", prm.name)
        if prm.kind == "refuse":
            ok = isinstance(c.error, E.UnsupportedParamsError) and c.received is None
            self.ledger.self_check(key, None if ok else f"{prm.name}: expected UnsupportedParamsError before sending, received {_describe(c.error) if c.error else 'a sent request'}")
            return
        if c.received is None:
            self.ledger.self_check(key, f"{prm.name}={M.show(value)} should be dropped, but: {_describe(c.error)}")
            return
        if _mentions(c.body, prm.name):
            self.ledger.self_check(key, f"{prm.name} should be dropped, received body {M.show(c.body)}")
            return
        if prm.enum:
            c = self.call({**self._base(), prm.name: "conform-not-in-enum"})
            if not isinstance(c.error, E.UnsupportedParamsError):
                self.ledger.self_check(key, f"{prm.name} outside {prm.enum}: expected UnsupportedParamsError, received {_describe(c.error) if c.error else 'a sent request'}")
                return
        self.ledger.self_check(key, None)

    def _check_leftovers(self, body0: Any) -> None:
        c = self.call({**self._base(), UNKNOWN_PARAM: "x"})
        policy = self.mode.unsupported
        if policy == "refuse":
            ok = isinstance(c.error, E.UnsupportedParamsError) and c.received is None
            failure = None if ok else f"an unknown param: expected UnsupportedParamsError, received {_describe(c.error) if c.error else 'a sent request'}"
        elif policy == "passthrough":
            failure = None if (c.received and isinstance(c.body, dict) and c.body.get(UNKNOWN_PARAM) == "x") else f"an unknown param should pass through to the body, received {M.show(c.body)}"
        else:
            failure = _first(M.diff(body0, c.body, exact=True)) if c.received else f"an unknown param should be dropped, but: {_describe(c.error)}"
        self.ledger.self_check(("leftovers",), failure)

    def _check_rule(self, key: str, rule: Any) -> None:
        model = example_model(rule.patterns)
        other = other_model(rule.patterns, self.model)
        fails: list[str] = []
        for name in rule.drop:
            c = self.call({**self._base(model), name: sample(name, None, None, None)})
            if c.received is None or _mentions(c.body, name):
                fails.append(f"{name} not dropped for {model}: {_describe(c.error) if c.error else M.show(c.body)}")
            if other is not None:
                o = self.call({**self._base(other), name: sample(name, None, None, None)})
                if o.received is not None and not _mentions(o.body, name) and self.mode.unsupported == "passthrough":
                    fails.append(f"{name} dropped for {other} too, which no pattern matches")
        for name in rule.refuse:
            c = self.call({**self._base(model), name: sample(name, None, None, None)})
            if not isinstance(c.error, E.UnsupportedParamsError) or c.received is not None:
                fails.append(f"{name} not refused for {model}: {_describe(c.error) if c.error else 'a sent request'}")
        for old, new in rule.rename:
            value = sample(new, None, None, None)
            a = self.call({**self._base(model), old: value})
            b = self.call({**self._base(model), new: value})
            if a.error or b.error:
                fails.append(f"rename {old} → {new} for {model}: {_describe(a.error or b.error)}")
            else:
                d = M.diff(b.body, a.body, exact=True)
                if d:
                    fails.append(f"rename {old} → {new} for {model}: {d[0]}")
        self.ledger.self_check(("rule", key), fails[0] if fails else None)

    def _check_auth_headers_path(self, base: _Call) -> None:
        L, ir, m = self.ledger, self.ir, self.mode
        rec = base.received
        assert rec is not None
        if ir.auth_type == "bearer":
            exp = "Bearer " + ir.auth_prefix + API_KEY
            got = rec.headers.get("authorization")
            L.self_check(("auth",), None if got == exp else f"authorization: expected {M.show(exp)}, received {M.show(got)}")
        elif ir.auth_type == "header" and ir.auth_header:
            exp = ir.auth_prefix + API_KEY
            got = rec.headers.get(ir.auth_header.lower())
            L.self_check(("auth",), None if got == exp else f"{ir.auth_header}: expected {M.show(exp)}, received {M.show(got)}")
        elif ir.auth_type == "query" and ir.auth_query:
            got = _query1(rec, ir.auth_query)
            L.self_check(("auth",), None if got == ir.auth_prefix + API_KEY else f"query {ir.auth_query}: received {M.show(got)}")
        for name, value in ir.headers:
            got = rec.headers.get(name)
            L.self_check(("header", name), None if got == value else f"header {name}: expected {M.show(value)}, received {M.show(got)}")
        version = ir.version_default
        exp_path = self._path(self.model, version)
        L.self_check(("path",), None if rec.path == exp_path and rec.method == m.method else f"expected {m.method} {exp_path}, received {rec.method} {rec.path}")
        if ir.versions_where:
            L.self_check(("version", "default"), None if rec.path == exp_path else f"path: expected {exp_path}, received {rec.path}")
            for var, pats, version_o, _where in ir.version_overrides:
                model = example_model(pats)
                c = self.call(self._base(model))
                exp = self._path(model, version_o)
                got = c.received.path if c.received else _describe(c.error)
                L.self_check(("version", var), None if got == exp else f"model {model}: expected path {exp}, received {got}")

    def _path(self, model: str, version: str | None, stream: bool = False) -> str:
        """The endpoint path the spec declares, with its variables filled in."""
        from urllib.parse import quote

        data = self.p.spec.data["modes"][self.mode.name]
        template = str(data["endpoint"]["path"])
        if stream and data.get("stream") is not None and "path" in (data["stream"].get("endpoint") or {}):
            template = str(data["stream"]["endpoint"]["path"])
        values = {"model": model, "api_version": version or ""}
        for name, _env, default in self.ir.path_params:
            values[name] = default or ""
        for name, value in values.items():
            template = template.replace("{" + name + "}", quote(str(value), safe=""))
        return template

    def _check_stream_request(self) -> None:
        s = self.mode.stream
        assert s is not None
        reply = self._stream_reply()
        c = self.call({**self._base(), "stream": True}, replies=[reply])
        if c.received is None:
            self.ledger.self_check(("stream_flag",), f"stream request not sent: {_describe(c.error)}")
            self.ledger.self_check(("stream_path",), f"stream request not sent: {_describe(c.error)}")
            return
        if s.flag:
            got = M.get(c.body, s.flag)
            failure = None if got is True else f"body.{'.'.join(s.flag)}: expected true, received {M.show(got if got is not M._MISSING else None)}"
            if failure is None and s.flag_when_off:
                off = self.call(self._base())
                got_off = M.get(off.body, s.flag)
                failure = None if got_off is False else f"without stream: body.{'.'.join(s.flag)}: expected false, received {M.show(got_off)}"
            self.ledger.self_check(("stream_flag",), failure)
        if s.path_expr or s.query is not None:
            exp = self._path(self.model, self.ir.version_default, stream=True)
            fails = [] if c.received.path == exp else [f"stream path: expected {exp}, received {c.received.path}"]
            for k, v in s.query or ():
                got = _query1(c.received, k)
                if got != v:
                    fails.append(f"stream query {k}: expected {M.show(v)}, received {M.show(got)}")
            self.ledger.self_check(("stream_path",), fails[0] if fails else None)

    def _stream_reply(self) -> Reply:
        s = self.mode.stream
        assert s is not None
        for t in self.by_kind.get("streams", ()):
            if not t.raises:
                return Reply.stream(t.body(), CONTENT_TYPES.get(s.protocol, "text/event-stream"))
        return Reply.stream(b"", CONTENT_TYPES.get(s.protocol, "text/event-stream"))

    # -------------------------------------------------------------- request transcripts

    def request_transcripts(self) -> None:
        for t in self.by_kind.get("requests", ()):
            failure = self._run_request_transcript(t)
            self.transcript_result("request", t, failure)

    def _run_request_transcript(self, t: Transcript) -> str | None:
        L, ir, m = self.ledger, self.ir, self.mode
        params = dict(t.params)
        expect = _substitute(t.expect)
        if t.owner and t.owner != ir.name:
            params, expect = self._as_own(t, params, expect)
        model = ir.bare_model(str(params.get("model", self.model)))
        reply = self._stream_reply() if params.get("stream") and m.stream is not None else self.ok_reply
        c = self.call(params, api_version=t.options.get("api_version"), replies=[reply])
        if t.raises:
            got = type(c.error).__name__ if c.error else None
            failure = None if got == t.raises and c.received is None else f"expected {t.raises} before sending, received {_describe(c.error) if c.error else 'a sent request'}"
            for name in params:
                self._attribute_param(name, t.label, failure, params[name])
            return failure
        if c.received is None:
            failure = f"expected the request to be sent, received {_describe(c.error)}"
            for name in params:
                self._attribute_param(name, t.label, failure, params[name])
            return failure
        rec = c.received
        diffs: list[str] = []
        if "method" in expect and rec.method != expect["method"]:
            diffs.append(f"method: expected {expect['method']}, received {rec.method}")
        path_fail = None
        if "path" in expect and rec.path != expect["path"]:
            path_fail = f"path: expected {expect['path']}, received {rec.path}"
            diffs.append(path_fail)
        query_fail = None
        if "query" in expect:
            got_q = {k: v[0] if len(v) == 1 else v for k, v in rec.query.items()}
            qd = M.diff({str(k): str(v) for k, v in expect["query"].items()}, got_q, exact=True, where=("query",))
            query_fail = _first(qd)
            diffs.extend(qd)
        header_fails: dict[str, str | None] = {}
        for name, value in (expect.get("headers") or {}).items():
            got = rec.headers.get(str(name).lower())
            header_fails[str(name).lower()] = None if got == str(value) else f"header {name}: expected {M.show(value)}, received {M.show(got)}"
        diffs.extend(f for f in header_fails.values() if f)
        body_diffs: list[str] = []
        if "body" in expect:
            body_diffs = M.diff(expect["body"], c.body, exact=True, where=("body",))
            diffs.extend(body_diffs)
        failure = "; ".join(diffs[:4]) + (f" (+{len(diffs) - 4} more)" if len(diffs) > 4 else "") if diffs else None

        # attribute: each named param, auth, headers, path, version, stream flag
        if "body" in expect or "query" in expect:
            body_failure = _first(body_diffs) or query_fail
            for name in params:
                self._attribute_param(name, t.label, body_failure if body_failure else None, params[name])
        if ir.auth_type == "header" and ir.auth_header and ir.auth_header.lower() in header_fails:
            L.evidence(("auth",), t.label, header_fails[ir.auth_header.lower()])
        elif ir.auth_type == "bearer" and "authorization" in header_fails:
            L.evidence(("auth",), t.label, header_fails["authorization"])
        elif ir.auth_type == "query" and ir.auth_query and ir.auth_query in (expect.get("query") or {}):
            L.evidence(("auth",), t.label, query_fail)
        for name, _v in ir.headers:
            if name in header_fails:
                L.evidence(("header", name), t.label, header_fails[name])
        if "path" in expect:
            streaming = bool(params.get("stream")) and m.stream is not None and (m.stream.path_expr or m.stream.query is not None)
            L.evidence(("stream_path",) if streaming else ("path",), t.label, path_fail or (query_fail if streaming else None))
            if ir.versions_where and not t.options.get("api_version"):
                var = next((v for v, pats, _ver, _w in ir.version_overrides if any(fnmatch.fnmatchcase(model, p) for p in pats)), "default")
                L.evidence(("version", var), t.label, path_fail)
        if params.get("stream") and m.stream is not None and m.stream.flag and "body" in expect:
            flag = M.get(expect["body"], m.stream.flag)
            if flag is not M._MISSING:
                L.evidence(("stream_flag",), t.label, _first(M.diff(flag, M.get(c.body, m.stream.flag))))
        return failure

    def _as_own(self, t: Transcript, params: dict[str, Any], expect: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """A parent's request transcript as this child sends it: the child's own model prefix for
        the parent's, and the child's auth for the parent's (the wire request is what is checked)."""
        ir = self.ir
        model = params.get("model")
        parent_prefix = f"{t.owner}/"
        if isinstance(model, str) and model.startswith(parent_prefix):
            params["model"] = (ir.model_prefix or "") + model[len(parent_prefix) :]
        headers = expect.get("headers")
        if isinstance(headers, dict) and any(API_KEY in str(v) for v in headers.values()):
            own = {k: v for k, v in headers.items() if API_KEY not in str(v)}
            if ir.auth_type == "bearer":
                own["authorization"] = "Bearer " + ir.auth_prefix + API_KEY
            elif ir.auth_type == "header" and ir.auth_header:
                own[ir.auth_header.lower()] = ir.auth_prefix + API_KEY
            expect = {**expect, "headers": own}
        return params, expect

    def _attribute_param(self, name: str, transcript: str, failure: str | None, value: Any = _UNSET) -> None:
        if name in ("model", "messages", "stream", "extra_body", "extra_headers") or (name == "input" and not self.mode.input_param):
            return
        alias = next((target for n, target, _w in self.mode.aliases if n == name), None)
        if alias is not None:
            self.ledger.evidence(("alias", name), transcript, failure)
            name = alias
        for key in (("param", name), ("unsupported", name)):
            self.ledger.evidence(key, transcript, failure)
        prm = next((p for p in self.mode.params if p.name == name and (p.values or p.field_values)), None)
        if prm is not None and value is not _UNSET and _value_mapped(prm, value):
            self.ledger.evidence(("values", name), transcript, failure)

    # -------------------------------------------------------------- responses

    def response_self_checks(self) -> None:
        """Each finish row and usage row, on a variant of the first recorded response."""
        m = self.mode
        base_t = next((t for t in self.by_kind.get("responses", ()) if t.status == 200 and not t.raises and not _expects_tools(t)), None)
        if base_t is None:
            return
        prefix = _choice_prefix(m)
        data = json.loads(base_t.body())
        if m.finish_from:
            finish_path = prefix + ".".join(m.finish_from)
            for raw, value in m.finish_map.items():
                variant = json.loads(json.dumps(data))
                try:
                    M.set_at(variant, finish_path, raw)
                except (KeyError, IndexError, TypeError, ValueError):
                    continue
                c = self.call(self._base(), replies=[Reply.json(variant)])
                got = _finish_of(c.value)
                self.ledger.self_check(("finish", raw), None if got == value else f"{finish_path}={raw!r}: expected finish_reason {value!r}, received {M.show(got) if c.error is None else _describe(c.error)}")
        sources: dict[str, list[tuple[str, ...]]] = {}
        for key, src in m.usage:
            sources.setdefault(key, []).append(src)
        for i, (key, srcs) in enumerate(sources.items()):
            variant = json.loads(json.dumps(data))
            numbers = [900001 + 1000 * i + j for j in range(len(srcs))]  # several paths: summed
            try:
                for src, number in zip(srcs, numbers, strict=True):
                    M.set_at(variant, ".".join(src), number)
            except (KeyError, IndexError, TypeError, ValueError):
                continue
            c = self.call(self._base(), replies=[Reply.json(variant)])
            usage = c.value.to_dict().get("usage") if c.value is not None else None
            got = M.get(usage, key.split("."))
            sent = " + ".join(f"{'.'.join(src)}={n}" for src, n in zip(srcs, numbers, strict=True))
            self.ledger.self_check(("usage", key), None if got == sum(numbers) else f"{sent}: expected usage.{key}={sum(numbers)}, received {M.show(got if got is not M._MISSING else None)}")

    def response_transcripts(self) -> None:
        m = self.mode
        for t in self.by_kind.get("responses", ()):
            reply = Reply(t.status, t.body(), {"content-type": "application/json", **t.headers})
            c = self.call(self._base(), replies=[reply])
            a = self.acall(self._base(), [reply])
            if t.raises:
                failure = _raised(t.raises, c.error) or _raised(t.raises, a.error, "AsyncClient: ")
                self.transcript_result("response", t, failure)
                continue
            if c.error is not None:
                self.transcript_result("response", t, f"raised {_describe(c.error)}")
                continue
            got = c.value.to_dict()
            diffs = M.diff(t.expect, got)
            if not diffs and a.error is None:
                diffs = [f"AsyncClient: {d}" for d in M.diff(_stable(got), _stable(a.value.to_dict()), exact=True)]
            elif a.error is not None:
                diffs.append(f"AsyncClient raised {_describe(a.error)}")
            failure = "; ".join(diffs[:4]) if diffs else None
            self.transcript_result("response", t, failure)
            if m.name != "chat":
                for key, src in m.usage:
                    self._usage_evidence(key, src, t, got)
                continue
            # attribute finish rows and usage rows
            raw = json.loads(t.body())
            expected_finish = [ch.get("finish_reason") for ch in t.expect.get("choices") or () if isinstance(ch, dict) and "finish_reason" in ch]
            got_finish = [ch.get("finish_reason") for ch in got.get("choices") or ()]
            if expected_finish:
                ok = expected_finish == got_finish[: len(expected_finish)]
                fdetail = None if ok else f"finish_reason: expected {M.show(expected_finish)}, received {M.show(got_finish)}"
                self._finish_evidence(raw, expected_finish, t.label, fdetail, [m.finish_from] if m.finish_from else [])
            for key, src in m.usage:
                self._usage_evidence(key, src, t, got)

    def _finish_evidence(self, raw: Any, expected: list[Any], name: str, failure: str | None, paths: list[Any]) -> None:
        m = self.mode
        keys = {p[-1] for p in paths if p}
        values = {v for v in _values_under(raw, keys) if isinstance(v, str)}
        if m.finish_tool_calls and "tool_calls" in expected:
            self.ledger.evidence(("finish_tool_calls",), name, failure)
            return
        for v in values:
            if v in m.finish_map:
                self.ledger.evidence(("finish", v), name, failure)

    def _usage_evidence(self, key: str, src: tuple[str, ...], t: Transcript, got: dict[str, Any]) -> None:
        exp_usage = t.expect.get("usage")
        if not isinstance(exp_usage, dict):
            return
        exp = M.get(exp_usage, key.split("."))
        if exp is M._MISSING:
            return
        got_v = M.get(got.get("usage"), key.split("."))
        failure = None if M._same(exp, got_v) else f"usage.{key}: expected {M.show(exp)}, received {M.show(got_v if got_v is not M._MISSING else None)}"
        self.ledger.evidence(("usage", key), t.label, failure)

    # -------------------------------------------------------------- streams

    def stream_checks(self) -> None:
        s = self.mode.stream
        assert s is not None
        ctype = CONTENT_TYPES.get(s.protocol, "text/event-stream")
        for t in self.by_kind.get("streams", ()):
            data = t.body()
            rng = random.Random(t.name)
            pieces = _cut(data, rng)
            params = {**self._base(), "stream": True}
            c = self.call(params, replies=[Reply.stream(data, ctype, pieces)])
            a = self.acall(params, [Reply.stream(data, ctype, _cut(data, rng))])
            if t.raises:
                failure = _raised(t.raises, c.error) or _raised(t.raises, a.error, "AsyncClient: ")
            elif c.error is not None:
                failure = f"raised {_describe(c.error)}"
            elif a.error is not None:
                failure = f"AsyncClient raised {_describe(a.error)}"
            else:
                acc = accumulate(c.value)
                diffs = M.diff(t.expect, acc)
                if not diffs:
                    diffs = [f"AsyncClient: {d}" for d in M.diff(_stable(acc), _stable(accumulate(a.value)), exact=True)]
                failure = "; ".join(diffs[:4]) if diffs else None
            chunk_failure = None if t.raises else self._rechunk(t, data)
            self.transcript_result("stream", t, failure)
            self.ledger.evidence(("stream_chunking",), t.label, chunk_failure)
            # which event rows this transcript exercised
            frames = _frames(s.protocol, data)
            for key in {self._event_key(obj, event) for event, obj in frames} - {None}:
                self.ledger.evidence(("event", str(key)), t.label, failure)
            if t.raises and frames and isinstance(frames[-1][1], dict):
                row = self._row_for(_event_status(frames[-1][1]), frames[-1][1])
                if row is not None:
                    self.ledger.evidence(("error", str(row)), t.label, failure)
            if not t.raises and "finish_reason" in t.expect:
                paths = [self.mode.finish_from] + [ev.finish for ev in s.events if ev.finish]
                fdetail = None
                if failure and c.error is None:
                    got = accumulate(c.value).get("finish_reason")
                    fdetail = None if got == t.expect["finish_reason"] else f"finish_reason: expected {M.show(t.expect['finish_reason'])}, received {M.show(got)}"
                elif failure:
                    fdetail = failure
                self._finish_evidence([o for _e, o in frames], [t.expect["finish_reason"]], t.label, fdetail, [p for p in paths if p])
            if not t.raises and c.error is None and isinstance(t.expect.get("usage"), dict):
                acc = accumulate(c.value)
                for key, src in self.mode.usage:
                    self._usage_evidence(key, src, t, {"usage": acc.get("usage")})
        self._check_cut(ctype)
        for path, values in s.emulate_when:
            self._check_emulated(path, values)

    def _check_emulated(self, path: tuple[str, ...], values: list[Any]) -> None:
        """A stream=True call the provider cannot stream goes out unstreamed (no stream flag, the
        plain endpoint) and the response comes back as the chunks of the same completion."""
        s = self.mode.stream
        assert s is not None
        params: dict[str, Any] = {**self._base(), "stream": True, "stream_options": {"include_usage": True}}
        target: dict[str, Any] = params
        for key in path[:-1]:
            target = target.setdefault(key, {})
        target[path[-1]] = values[0]
        plain = self.call({k: v for k, v in params.items() if k not in ("stream", "stream_options")})
        c = self.call(params)
        a = self.acall(params, [self.ok_reply])
        failure: str | None = None
        if c.error is not None or a.error is not None or plain.error is not None:
            failure = f"raised {_describe(c.error or a.error or plain.error)}"
        elif c.received is None:
            failure = "nothing was sent"
        else:
            flag = M.get(c.body, list(s.flag)) if s.flag else M._MISSING
            if flag is True:
                failure = f"the request still sets {'.'.join(s.flag or ())} = true"
            elif c.received.path != (plain.received.path if plain.received else None):
                failure = f"sent to {c.received.path}, not the plain endpoint"
            elif c.body and "stream_options" in c.body:
                failure = "stream_options sent without a stream"
            else:
                want = plain.value.to_dict()
                acc = accumulate(c.value)
                got = {"content": acc["content"], "finish_reason": acc["finish_reason"], "usage": acc["usage"]}
                choice = (want.get("choices") or [{}])[0]
                expected = {"content": (choice.get("message") or {}).get("content"), "finish_reason": choice.get("finish_reason"), "usage": want.get("usage")}
                diffs = M.diff(expected, got, exact=True)
                if not diffs:
                    diffs = [f"AsyncClient: {d}" for d in M.diff(_stable(acc), _stable(accumulate(a.value)), exact=True)]
                failure = "; ".join(diffs[:4]) if diffs else None
        self.ledger.self_check(("emulate", ".".join(path)), failure)

    def _rechunk(self, t: Transcript, data: bytes) -> str | None:
        """Hypothesis: any cut of the recorded bytes gives the chunks the whole bytes give."""
        from hypothesis import HealthCheck, given, settings
        from hypothesis import strategies as st

        parse = self.module.chat.parse_stream if hasattr(self.module, "chat") else None
        if parse is None:
            return None

        def chunks(pieces: list[bytes]) -> Any:
            return _normalize([c.to_dict() for c in parse(iter(pieces), model=self.model)], data)

        try:
            whole = chunks([data])
        except E.LLMError as exc:
            return f"the whole transcript raised {_describe(exc)}"
        failures: list[str] = []

        @settings(max_examples=25, derandomize=True, database=None, deadline=None, suppress_health_check=list(HealthCheck))
        @given(st.lists(st.integers(0, max(0, len(data))), max_size=12))
        def prop(cuts: list[int]) -> None:
            points = sorted(set(cuts))
            pieces = [data[i:j] for i, j in zip([0, *points], [*points, len(data)], strict=True)]
            got = chunks(pieces)
            if got != whole:
                d = M.diff(whole, got, exact=True)
                failures.append(f"cut at {points}: {d[0] if d else 'differs'}")
                raise AssertionError

        try:
            prop()
        except AssertionError:
            pass
        except E.LLMError as exc:
            return f"a re-chunked transcript raised {_describe(exc)}"
        return failures[-1] if failures else None

    def _check_cut(self, ctype: str) -> None:
        t = next((t for t in self.by_kind.get("streams", ()) if not t.raises), None)
        if t is None:
            return
        data = t.body()
        half = data[: max(1, len(data) // 2)]
        c = self.call({**self._base(), "stream": True}, replies=[Reply.stream(half, ctype, [half], cut=True)])
        a = self.acall({**self._base(), "stream": True}, [Reply.stream(half, ctype, [half], cut=True)])
        fails = []
        for label, r in (("Client", c), ("AsyncClient", a)):
            if not isinstance(r.error, E.LLMError):
                fails.append(f"{label}: a stream cut in half: expected a typed error, received {_describe(r.error) if r.error else 'a normal end'}")
        self.ledger.self_check(("stream_cut",), fails[0] if fails else None)

    def _event_key(self, obj: Any, event: str) -> str | None:
        s = self.mode.stream
        assert s is not None
        if not s.events or not isinstance(obj, dict):
            return None
        parts: list[str] = []
        for level in s.dispatch:
            if level == "$event":
                parts.append(event)
                continue
            value = None
            for path in level:
                v = M.get(obj, list(path))
                if isinstance(v, str):
                    value = v
                    break
            if value is None:
                break
            parts.append(value)
        keys = {ev.key for ev in s.events}
        for n in range(len(parts), 0, -1):
            cand = "/".join(parts[:n])
            if cand in keys:
                return cand
        return "*" if "*" in keys else None

    # -------------------------------------------------------------- errors

    def error_checks(self) -> None:
        L, ir = self.ledger, self.ir
        for t in self.by_kind.get("errors", ()):
            reply = Reply(t.status, t.body(), {"content-type": "application/json", **t.headers})
            c = self.call(self._base(), replies=[reply])
            failure = _raised(t.raises or "", c.error)
            self.transcript_result("errors", t, failure)
            row = self._row_for(t.status, t.body())
            if row is not None:
                L.evidence(("error", str(row)), t.label, failure)
        if self.mode is not self.ir.modes[0]:
            # the error table is the provider's: self-check it once, under the first mode
            for key in [k for k in L.decls if k[0] in ("error", "retry", "retry_after")]:
                if not L.decls[key].evidence:
                    del L.decls[key]
            return
        statuses = {s for r in ir.error_rows for s in r.statuses}
        spare = next(s for s in (418, 422, 409, 451, 499, 599) if s not in statuses)
        for i, erow in enumerate(ir.error_rows):
            status = erow.statuses[0] if erow.statuses else spare
            reply = Reply(status, json.dumps(self._error_body(erow)).encode(), {"content-type": "application/json"})
            c = self.call(self._base(), replies=[reply])
            L.self_check(("error", str(i)), _raised(erow.cls, c.error))
            self._check_retry(str(i), erow, reply)
        first_retry = next((i for i, r in enumerate(ir.error_rows) if r.retry), None)
        if first_retry is not None:
            rrow = ir.error_rows[first_retry]
            status = rrow.statuses[0] if rrow.statuses else spare
            reply = Reply(status, json.dumps(self._error_body(rrow)).encode(), {"content-type": "application/json", "retry-after": "1"})
            start = time.perf_counter()
            c = self.call(self._base(), replies=[reply, self.ok_reply], retries=1)
            waited = time.perf_counter() - start
            ok = len(self.fake.received) == 2 and waited >= 0.9
            L.self_check(("retry_after",), None if ok else f"Retry-After: 1 on {status}: expected a retry after ≥1 s, received {len(self.fake.received)} requests in {waited:.2f} s")

    def _check_retry(self, key: str, row: ErrorRowIR, reply: Reply) -> None:
        fast = Reply(reply.status, reply.body, {**reply.headers, "retry-after-ms": "1"})
        c = self.call(self._base(), replies=[fast, fast, self.ok_reply], retries=2)
        n = len(self.fake.received)
        if row.retry:
            failure = None if n == 3 else f"retryable row: expected 3 requests (2 retries), received {n}"
            if failure is None:
                a = self.acall(self._base(), [fast, self.ok_reply], retries=1)
                if len(self.fake.received) != 2:
                    failure = f"AsyncClient: expected 2 requests (1 retry), received {len(self.fake.received)} ({_describe(a.error)})"
        else:
            failure = None if n == 1 and isinstance(c.error, E.LLMError) else f"non-retryable row: expected 1 request and an error, received {n}"
        self.ledger.self_check(("retry", key), failure)

    def _error_body(self, row: ErrorRowIR) -> dict[str, Any]:
        body: dict[str, Any] = {}
        msg_path = self.ir.error_message_paths[0] if self.ir.error_message_paths else ("error", "message")
        M.set_at(body, ".".join(msg_path), f"conform: {row.match}" if row.match else "conform error")
        if row.code is not None:
            code_path = self.ir.error_code_paths[0] if self.ir.error_code_paths else ("error", "code")
            M.set_at(body, ".".join(code_path), row.code)
        return body

    def _row_for(self, status: int | None, raw: bytes | dict[str, Any]) -> int | None:
        """The error-table row the spec says applies (first match), as the adapter decides it."""
        try:
            body = json.loads(raw) if isinstance(raw, bytes) else raw
        except ValueError:
            body = None
        message = ""
        for path in self.ir.error_message_paths:
            v = M.get(body, list(path))
            if isinstance(v, str):
                message = v
                break
        code = None
        for path in self.ir.error_code_paths:
            v = M.get(body, list(path))
            if isinstance(v, str | int) and not isinstance(v, bool):
                code = str(v)
                break
        lowered = message.casefold()
        for i, row in enumerate(self.ir.error_rows):
            if row.statuses and status not in row.statuses:
                continue
            if row.match is not None and row.match.casefold() not in lowered:
                continue
            if row.code is not None and code != row.code:
                continue
            return i
        return None


# ---------------------------------------------------------------------------- small helpers


def _event_status(obj: Any) -> int | None:
    """The status a mid-stream error event carries, as the adapter reads it: a top-level
    ``status``, else a numeric ``error.code`` (Gemini); None when it has neither."""
    if not isinstance(obj, dict):
        return None
    if isinstance(obj.get("status"), int) and not isinstance(obj.get("status"), bool):
        return int(obj["status"])
    nested = M.get(obj, ["error", "code"])
    return nested if isinstance(nested, int) and not isinstance(nested, bool) and 100 <= nested <= 599 else None


def _choice_prefix(mode: ModeIR) -> str:
    """Where a response's first choice lives: the spec's response table says, else the wire."""
    if mode.message_table is not None:
        at = mode.message_table.get("choices")
        return ".".join(at) + ".0." if at else ""
    return wires.load(mode.format).CHOICE_PREFIX


def _mapped(prm: ParamIR, value: Any) -> Any:
    """``value`` through the param's value maps (None when mapped to null: sent as nothing)."""
    from specgen_runtime.core import MISSING, map_field, map_value

    out = map_value(value, tuple(prm.values)) if prm.values else value
    for path, pairs in prm.field_values:
        out = map_field(out, path, tuple(pairs))
    return None if out is MISSING else out


def _value_mapped(prm: ParamIR, value: Any) -> bool:
    """Whether a transcript's value for ``prm`` goes through one of its value-map entries."""
    from specgen_runtime.core import get_path, map_value

    if prm.values and map_value(value, tuple(prm.values)) is not value:
        return True
    return any(
        isinstance(value, dict) and map_value(get_path(value, path), tuple(pairs)) is not get_path(value, path)
        for path, pairs in prm.field_values
    )


def _query1(received: Received, name: str) -> str | None:
    values = received.query.get(name)
    return values[0] if values else None


def _params_root(mode: ModeIR) -> tuple[str, ...]:
    """Where a format puts mapped params (Gemini batchEmbedContents: inside each request)."""
    return wires.load(mode.format).PARAMS_ROOT.get(mode.name, ())


def _row_name(row: ErrorRowIR) -> str:
    bits = []
    if row.statuses:
        bits.append("/".join(str(s) for s in row.statuses))
    if row.code is not None:
        bits.append(f"code {row.code}")
    if row.match is not None:
        bits.append(f"match {row.match!r}")
    return f"error {' '.join(bits)} → {row.cls}"


def _describe(exc: BaseException | None) -> str:
    if exc is None:
        return "nothing raised"
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text[:160]}"


def _raised(expected: str, exc: BaseException | None, label: str = "") -> str | None:
    got = type(exc).__name__ if exc is not None else None
    if got == expected:
        return None
    return f"{label}expected {expected}, received {_describe(exc) if exc else 'no error'}"


def _first(diffs: list[str]) -> str | None:
    if not diffs:
        return None
    return diffs[0] if len(diffs) == 1 else f"{diffs[0]} (+{len(diffs) - 1} more)"


def _mentions(body: Any, name: str) -> bool:
    return isinstance(body, dict) and name in body


def _expects_tools(t: Transcript) -> bool:
    return any(isinstance(ch, dict) and ch.get("finish_reason") == "tool_calls" for ch in t.expect.get("choices") or ())


def _finish_of(value: Any) -> Any:
    if value is None:
        return None
    choices = value.to_dict().get("choices") or []
    return choices[0].get("finish_reason") if choices else None


def _substitute(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("$API_KEY", API_KEY)
    if isinstance(value, dict):
        return {k: _substitute(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v) for v in value]
    return value


def _values_under(data: Any, keys: set[str]) -> Iterator[Any]:
    if isinstance(data, dict):
        for k, v in data.items():
            if k in keys:
                yield v
            yield from _values_under(v, keys)
    elif isinstance(data, list):
        for v in data:
            yield from _values_under(v, keys)


def _cut(data: bytes, rng: random.Random) -> list[bytes]:
    points = sorted(rng.sample(range(1, len(data)), min(len(data) - 1, 8))) if len(data) > 1 else []
    return [data[i:j] for i, j in zip([0, *points], [*points, len(data)], strict=True)]


def _frames(protocol: str, data: bytes) -> list[tuple[str, Any]]:
    dec = DECODERS.get(protocol, SSEDecoder)()
    out = []
    for event, text in [*dec.feed(data), *dec.close()]:
        try:
            out.append((event, json.loads(text)))
        except ValueError:
            continue
    return out


def accumulate(chunks: list[dict[str, Any]]) -> dict[str, Any]:
    """Stream chunks folded into one result: what a caller ends up with."""
    out: dict[str, Any] = {"id": None, "model": None, "content": None, "reasoning_content": None, "tool_calls": [], "finish_reason": None, "usage": None, "chunks": len(chunks)}
    calls: dict[int, dict[str, Any]] = {}
    for ch in chunks:
        if out["id"] is None and ch.get("id"):
            out["id"] = ch["id"]
        if ch.get("model"):
            out["model"] = ch["model"]
        for choice in ch.get("choices") or ():
            delta = choice.get("delta") or {}
            for key in ("content", "reasoning_content"):
                if isinstance(delta.get(key), str):
                    out[key] = (out[key] or "") + delta[key]
            for tc in delta.get("tool_calls") or ():
                slot = calls.setdefault(int(tc.get("index", len(calls))), {"id": None, "type": "function", "function": {"name": None, "arguments": ""}})
                if tc.get("id"):
                    slot["id"] = tc["id"]
                fn = tc.get("function") or {}
                if fn.get("name"):
                    slot["function"]["name"] = fn["name"]
                if isinstance(fn.get("arguments"), str):
                    slot["function"]["arguments"] += fn["arguments"]
            if choice.get("finish_reason"):
                out["finish_reason"] = choice["finish_reason"]
        if ch.get("usage"):
            out["usage"] = ch["usage"]
    out["tool_calls"] = [calls[i] for i in sorted(calls)]
    return out


def _normalize(value: Any, raw: bytes) -> Any:
    """Ids and timestamps the adapter made up (not in the transcript) compare equal."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k in ("id", "created") and isinstance(v, str | int) and str(v).encode() not in raw:
                out[k] = f"<{k}>"
            else:
                out[k] = _normalize(v, raw)
        return out
    if isinstance(value, list):
        return [_normalize(v, raw) for v in value]
    return value


def _stable(value: Any) -> Any:
    return _normalize(value, b"")

