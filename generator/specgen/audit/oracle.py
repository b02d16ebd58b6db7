"""The differential oracle: a specgen adapter and LiteLLM on the same inputs, field by field.

``specgen conform --oracle litellm`` runs, for every built-in provider LiteLLM also has and
every mode both have (chat, embeddings):

* **requests** — the fixed corpus and hypothesis-generated requests (:mod:`specgen.audit.corpus`)
  plus every request transcript's params, through the adapter's ``build_request`` and through
  ``litellm.completion``/``embedding`` with its HTTP transport patched
  (:mod:`specgen.audit.litellm_capture`); the two wire requests are compared;
* **responses / streams** — every recorded provider response and stream in the provider's
  transcripts, through the adapter's ``parse_response``/``parse_stream`` and through LiteLLM;
  the OpenAI-shaped results are compared (a stream: what a caller accumulates);
* **errors** — every recorded error body with its status, plus a sweep of HTTP statuses with a
  neutral error body: the error class and status each side raises.

Nothing reaches a network: LiteLLM's requests are answered from memory, ours are only built.

How the two sides are compared (the views that fold equivalent encodings, field-level
differences): :mod:`specgen.audit.compare`.

Each difference is aggregated over the cases that show it under a stable id
``<provider>/<mode>/<phase>/<path>/<kind>`` (list indices in the path read ``[]``), with the
first case's two values as the example.  The result is ``checklist/oracle.json``;
``specgen audit`` lists every difference with the maintainer's verdict from
``checklist/oracle_verdicts.yaml`` (:mod:`specgen.audit.verdicts`).
"""

from __future__ import annotations

import copy
import functools
import importlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx

from specgen.adapters import accumulate, built_package
from specgen.audit import corpus
from specgen.audit.compare import (
    ABSENT,
    CHAT_SCHEMA,
    EMBEDDINGS_SCHEMA,
    KEY,
    STREAM_SCHEMA,
    Difference,
    compare_requests,
    diff,
    error_diffs,
    error_view,
    json_or_none,
    result_view,
    wire_view,
)

# re-exported: the tests read LiteLLM's refusals with it
from specgen.audit.compare import _refused as _refused
from specgen.audit.litellm_capture import (
    _NEEDS_API_BASE,
    _PREFIX,
    NOT_COMPARED,
    PLACEHOLDER_API_BASE,
    capture_request,
    litellm_model,
    replay_response,
)
from specgen.batch import RunCache, fork_map, input_key, spec_weight
from specgen.build.ir import ProviderIR, build_ir
from specgen.spec.resolve import ResolvedSpec, load_specs
from specgen.transcripts import Transcript, load
from specgen_runtime import wires

__all__ = [
    "ABSENT",
    "CHAT_SCHEMA",
    "ORACLE_FILE",
    "Difference",
    "OracleResult",
    "compare_requests",
    "diff",
    "dumps",
    "result_view",
    "run_oracle",
    "stale_report",
    "summary",
    "wire_view",
]

ORACLE_FILE = "oracle.json"
PHASES = ("request", "response", "stream", "error")
#: the statuses the error sweep sends (with a neutral body) besides the recorded error bodies
SWEEP_STATUSES = (400, 401, 402, 403, 404, 408, 409, 413, 422, 429, 500, 502, 503, 504, 529)


# --------------------------------------------------------------------------- the run


@dataclass
class OracleResult:
    """The oracle's findings: per provider and mode, the case counts and the differences."""

    litellm_version: str
    examples: int
    hypothesis_version: str = ""
    providers: dict[str, dict[str, Any]] = field(default_factory=dict)
    not_in_litellm: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "litellm_version": self.litellm_version,
            "generated_examples": self.examples,
            "hypothesis_version": self.hypothesis_version,
            "providers": self.providers,
            "not_in_litellm": sorted(self.not_in_litellm),
        }

    def differences(self) -> list[dict[str, Any]]:
        return [d for modes in self.providers.values() for m in modes.values() for d in m["differences"]]


def dumps(data: Mapping[str, Any]) -> str:
    return json.dumps(data, indent=1, ensure_ascii=False, sort_keys=True) + "\n"


class _Collector:
    def __init__(self, provider: str, mode: str) -> None:
        self.provider, self.mode = provider, mode
        self.found: dict[tuple[str, str, str], Difference] = {}
        self.counts = dict.fromkeys(PHASES, 0)

    def add(self, phase: str, case: str, diffs: Iterable[tuple[str, str, Any, Any]]) -> None:
        self.counts[phase] += 1
        for path, kind, ours, theirs in diffs:
            key = (phase, path, kind)
            d = self.found.get(key)
            if d is None:
                d = self.found[key] = Difference(self.provider, self.mode, phase, path, kind, ours, theirs)
            if case not in d.cases:
                d.cases.append(case)

    def result(self, model: str) -> dict[str, Any]:
        ordered = sorted(self.found.values(), key=lambda d: (PHASES.index(d.phase), d.path, d.kind))
        return {"litellm_model": model, "cases": self.counts, "differences": [d.to_dict() for d in ordered]}


def _generated(mode: str, n: int) -> list[dict[str, Any]]:
    """``n`` generated requests, the same ones on every run (derandomized hypothesis); a copy."""
    return copy.deepcopy(_generate(mode, n))


@functools.lru_cache(maxsize=8)
def _generate(mode: str, n: int) -> list[dict[str, Any]]:
    from hypothesis import HealthCheck, Phase, given, settings

    strategy = corpus.strategy(mode)
    if strategy is None or n <= 0:
        return []
    out: list[dict[str, Any]] = []

    @settings(max_examples=n, derandomize=True, database=None, phases=[Phase.generate], deadline=None, suppress_health_check=list(HealthCheck))
    @given(strategy)
    def collect(params: dict[str, Any]) -> None:
        out.append(params)

    collect()
    return out[:n]


def litellm_counterpart(provider: str, mode: str, litellm: ModuleType) -> str | None:
    """LiteLLM's provider prefix for a specgen provider and mode, or None when it has none."""
    prefix = _PREFIX.get(provider, {}).get(mode)
    if prefix is not None:
        return prefix
    if mode in ("chat", "embeddings") and provider in getattr(litellm, "provider_list", ()):
        return provider
    return None


class _ModeOracle:
    def __init__(self, spec: ResolvedSpec, ir: ProviderIR, module: ModuleType, mode: str, examples: int) -> None:
        self.ir, self.mode_name = ir, mode
        self.mode = getattr(module, mode)
        self.module = module
        self.transcripts = load(spec.sources, mode)
        self.model = self._model()
        self.ll_model = litellm_model(ir.name, self.model, mode)
        # a provider LiteLLM cannot call without api_base (litellm_proxy): both sides get the
        # same placeholder, so the URL compares the path only
        self.base = PLACEHOLDER_API_BASE if ir.default_base_url is None or ir.name in _NEEDS_API_BASE else None
        self.examples = examples
        # a value for each URL template variable and body field the spec takes from the caller
        self.path_values = {name: default or f"oracle-{name.replace('_', '-')}" for name, _envs, default in ir.path_params}
        mode_ir = ir.mode(mode)
        # a wire whose JSON is protobuf's accepts snake_case and lowerCamelCase field names alike
        self.proto_json = mode_ir is not None and bool(getattr(wires.load(mode_ir.format), "PROTO_JSON", False))
        self.c = _Collector(ir.name, mode)

    def _model(self) -> str:
        for t in self.transcripts:
            model = t.params.get("model") if t.kind == "requests" else None
            if isinstance(model, str) and not t.options:
                return self.ir.bare_model(model)
        for m in self.ir.models:
            if m.get("mode", "chat") == self.mode_name and isinstance(m.get("id"), str):
                return str(m["id"])
        return "specgen-oracle-model"

    def _ours(self, params: dict[str, Any]) -> httpx.Request:
        request: httpx.Request = self.mode.build_request({**self.path_values, **params}, api_key=KEY, base_url=self.base)
        return request

    # ---------------------------------------------------------------- requests

    def requests(self) -> None:
        cases: list[tuple[str, dict[str, Any], str]] = []
        for t in self.transcripts:
            if t.kind == "requests" and not t.options:
                params = dict(t.params)
                model = self.ir.bare_model(str(params.pop("model", self.model)))
                cases.append((f"transcript:{t.name}", params, model))
        cases += [(f"corpus:{name}", params, self.model) for name, params in corpus.fixed(self.mode_name).items()]
        cases += [(f"generated:{i:02d}", params, self.model) for i, params in enumerate(_generated(self.mode_name, self.examples))]
        for name, params, model in cases:
            ll_model = litellm_model(self.ir.name, model, self.mode_name)

            def theirs(p: dict[str, Any], ll_model: str = ll_model) -> Any:
                return capture_request(ll_model, p, mode=self.mode_name, api_key=KEY, api_base=self.base)

            def ours(p: dict[str, Any], model: str = model) -> httpx.Request:
                return self._ours({"model": model, **p})

            self.c.add("request", name, compare_requests(ours, theirs, params, proto_json=self.proto_json))

    # ---------------------------------------------------------------- responses, streams, errors

    def _base_params(self, stream: bool = False) -> dict[str, Any]:
        if self.mode_name == "embeddings":
            return {"input": ["Hello"]}
        params: dict[str, Any] = {"messages": [{"role": "user", "content": "Hello"}]}
        if stream:
            params.update(stream=True, stream_options={"include_usage": True})
        return params

    def _content_type(self, t: Transcript) -> str:
        if t.file is not None and t.file.suffix == ".ndjson":
            return "application/x-ndjson"
        if t.file is not None and t.file.suffix == ".sse":
            return "text/event-stream"
        return "application/json"

    def _response(self, status: int, body: bytes, content_type: str, headers: Mapping[str, str]) -> httpx.Response:
        # answering the request our adapter builds, as a Client's response would
        request = self._ours({"model": self.model, **self._base_params()})
        return httpx.Response(status, content=body, headers={"content-type": content_type, **headers}, request=request)

    def results(self) -> None:
        schema = CHAT_SCHEMA if self.mode_name == "chat" else EMBEDDINGS_SCHEMA
        for t in self.transcripts:
            if t.kind not in ("responses", "streams", "errors"):
                continue
            body, ctype = t.body(), self._content_type(t)
            stream = t.kind == "streams"
            ours_view: Any
            try:
                if stream:
                    chunks = [c.to_dict() for c in self.mode.parse_stream([body], model=self.model)]
                    ours_view = result_view(accumulate(chunks), STREAM_SCHEMA, body)
                else:
                    parsed = self.mode.parse_response(self._response(t.status, body, ctype, t.headers))
                    ours_view = result_view(parsed.to_dict(), schema, body)
            except Exception as exc:
                ours_view = error_view(exc)
            theirs_view: Any
            try:
                got = replay_response(
                    self.ll_model, self._base_params(stream), body, status=t.status, content_type=ctype,
                    headers=t.headers, mode=self.mode_name, api_key=KEY, api_base=self.base,
                )  # fmt: skip
                if isinstance(got, list):
                    theirs_view = result_view(accumulate(got), STREAM_SCHEMA, body)
                else:
                    theirs_view = result_view(got, schema, body)
            except Exception as exc:
                theirs_view = error_view(exc)
            phase = "error" if t.kind == "errors" or "class" in ours_view or "class" in theirs_view else ("stream" if stream else "response")
            if phase == "error":
                self.c.add("error", t.name, error_diffs(t.name, ours_view, theirs_view))
            else:
                self.c.add(phase, t.name, diff(ours_view, theirs_view))

    def error_sweep(self) -> None:
        string_errors = any(
            t.kind == "errors" and isinstance(json_or_none(t.body()), dict) and isinstance(json_or_none(t.body()).get("error"), str)
            for t in self.transcripts
        )
        for status in SWEEP_STATUSES:
            message = f"specgen oracle: HTTP {status}"
            body = json.dumps({"error": message} if string_errors else {"error": {"message": message}}).encode()
            case = f"status {status}"
            try:
                ours_view = error_view(self.module.map_error(self._response(status, body, "application/json", {}), model=self.model))
            except Exception as exc:
                ours_view = error_view(exc)
            try:
                replay_response(self.ll_model, self._base_params(), body, status=status, mode=self.mode_name, api_key=KEY, api_base=self.base)
                theirs_view: dict[str, Any] = {"class": "<no error>", "status_code": None}
            except Exception as exc:
                theirs_view = error_view(exc)
            self.c.add("error", case, error_diffs(case, ours_view, theirs_view))

    def run(self) -> dict[str, Any]:
        self.requests()
        self.results()
        self.error_sweep()
        return self.c.result(self.ll_model)


def run_oracle(
    specs_dir: Path,
    names: list[str] | None = None,
    *,
    mode: str | None = None,
    examples: int = 25,
    progress: Callable[[str], None] | None = None,
    jobs: int = 1,
    cache_dir: Path | None = None,
    rerun: bool = False,
) -> OracleResult:
    """Run the oracle for the specs in ``specs_dir`` (or ``names``); needs ``specgen[reference]``
    (raises :class:`~specgen.audit.LiteLLMMissingError` without it). ``jobs`` providers run at a
    time in forked processes; with ``cache_dir`` a provider whose inputs (and LiteLLM's and
    hypothesis's versions) are unchanged reuses its last findings (``rerun``: runs them all, and
    refreshes the cache)."""
    from specgen.audit.reference import import_litellm

    import_litellm()  # raises LiteLLMMissingError now, before any work, when it is not installed
    import importlib.metadata

    # the generated requests depend on hypothesis's exact version (specgen[reference] pins it)
    result = OracleResult(importlib.metadata.version("litellm"), examples, importlib.metadata.version("hypothesis"))
    specs = load_specs(specs_dir, only=names or None)
    cache = RunCache(cache_dir) if cache_dir is not None else None
    options = ("oracle", result.litellm_version, result.hypothesis_version, str(examples), mode or "")
    keys = {s.name: input_key(s, *options) for s in specs} if cache is not None else {}
    found: dict[str, dict[str, Any]] = {}
    for spec in specs:
        hit = cache.get(spec.name, keys[spec.name]) if cache is not None and not rerun else None
        if isinstance(hit, dict) and isinstance(hit.get("modes"), dict) and isinstance(hit.get("not_in_litellm"), list):
            found[spec.name] = hit
    todo = [s for s in specs if s.name not in found]
    if todo:
        for m in ("chat", "embeddings"):
            _generated(m, examples)  # made once, before the workers fork
        with built_package(specs_dir, [s.name for s in todo]) as package:
            _WORK.update({s.name: (package, s, mode, examples) for s in todo})
            try:
                for name, out in fork_map(_oracle_one, [s.name for s in todo], jobs, weight=lambda n: spec_weight(_WORK[n][1])):
                    found[name] = out
                    if cache is not None:
                        cache.put(name, keys[name], out)
                    if progress:
                        progress(name)
            finally:
                _WORK.clear()
    for spec in specs:
        if found[spec.name]["modes"]:
            result.providers[spec.name] = found[spec.name]["modes"]
        result.not_in_litellm += found[spec.name]["not_in_litellm"]
    return result


#: what a worker needs for each provider (package, spec, mode, examples): set before the workers fork
_WORK: dict[str, tuple[str, ResolvedSpec, str | None, int]] = {}


def _oracle_one(name: str) -> tuple[str, dict[str, Any]]:
    """One provider's findings (in a worker process, or in this one): per mode, and the modes
    LiteLLM has no counterpart for."""
    from specgen.audit.reference import import_litellm

    package, spec, only_mode, examples = _WORK[name]
    litellm = import_litellm()
    module = importlib.import_module(f"{package}.{name}")
    ir = build_ir(spec)
    out: dict[str, Any] = {"modes": {}, "not_in_litellm": []}
    for m in ir.modes:
        if only_mode and m.name != only_mode:
            continue
        if ir.name in NOT_COMPARED or litellm_counterpart(ir.name, m.name, litellm) is None:
            out["not_in_litellm"].append(f"{ir.name}/{m.name}")
            continue
        out["modes"][m.name] = _ModeOracle(spec, ir, module, m.name, examples).run()
    return name, out


def summary(result: OracleResult, verdicts: list[Any], out: Any) -> None:
    """One line per provider and mode: cases compared, differences, how many have no verdict."""
    from specgen.audit.verdicts import verdict_for

    rows = [("provider", "mode", "requests", "responses", "streams", "errors", "differences", "unreviewed")]
    for name, modes in sorted(result.providers.items()):
        for mode, data in sorted(modes.items()):
            diffs = data["differences"]
            unreviewed = sum(verdict_for(d["id"], verdicts) is None for d in diffs)
            c = data["cases"]
            rows.append((name, mode, str(c["request"]), str(c["response"]), str(c["stream"]), str(c["error"]), str(len(diffs)), str(unreviewed)))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        out.write("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() + "\n")
    if result.not_in_litellm:
        out.write(f"\nno LiteLLM counterpart: {', '.join(sorted(result.not_in_litellm))}\n")
    total = len(result.differences())
    out.write(f"\n{total} differences (LiteLLM {result.litellm_version}, {result.examples} generated requests per mode)\n")


def stale_report(committed: Path, result: OracleResult) -> list[str]:
    """What differs between a committed ``oracle.json`` and this run, for ``--check``."""
    try:
        old = json.loads(committed.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return [f"{committed}: missing or unreadable"]
    new = result.to_dict()
    lines = [
        f"{key}: committed {old.get(key)!r}, this run {new[key]!r}"
        for key in ("litellm_version", "hypothesis_version", "generated_examples")
        if old.get(key) != new[key]
    ]
    old_ids = {d["id"] for modes in old.get("providers", {}).values() for m in modes.values() for d in m.get("differences", [])}
    new_ids = {d["id"] for d in result.differences()}
    lines += [f"new difference: {i}" for i in sorted(new_ids - old_ids)[:20]]
    lines += [f"gone: {i}" for i in sorted(old_ids - new_ids)[:20]]
    return lines or ["the same differences; their counts, cases or example values changed"]
