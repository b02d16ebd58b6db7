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

Comparing: a request is viewed as method, URL (scheme, host, path), query, headers and JSON
body; transport headers (host, content-length, user-agent, accept*, connection, x-stainless-*)
are not compared and the API key (the same placeholder on both sides) reads ``$API_KEY``.
Equivalent encodings compare equal: key order, ``1`` and ``1.0``, a ``content``/``system``
string and a list holding one plain text part with that string, a content-type's
``charset=utf-8``, and for Gemini (a protobuf JSON API) a field's snake_case and lowerCamelCase
names.  A result is viewed through the OpenAI schema only (fields either side adds
beyond it are not compared), with ``null``, an empty list and a missing field equal, zero token-detail counts
equal to missing ones, tool-call ``arguments`` compared as parsed JSON, and volatile values
(``created``; an ``id`` the provider did not send) left out.

Each difference is aggregated over the cases that show it under a stable id
``<provider>/<mode>/<phase>/<path>/<kind>`` (list indices in the path read ``[]``), with the
first case's two values as the example.  The result is ``checklist/oracle.json``;
``specgen audit`` lists every difference with the maintainer's verdict from
``checklist/oracle_verdicts.yaml`` (:mod:`specgen.audit.verdicts`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import httpx

from specgen.audit import corpus
from specgen.audit.litellm_capture import (
    _NEEDS_API_BASE,
    _PREFIX,
    PLACEHOLDER_API_BASE,
    PLACEHOLDER_API_KEY,
    capture_request,
    describe_error,
    litellm_model,
    replay_response,
)
from specgen.build.ir import ProviderIR, build_ir
from specgen.conform.runner import accumulate, built_adapters
from specgen.conform.transcripts import Transcript, load
from specgen.spec.resolve import ResolvedSpec

__all__ = [
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
KEY = PLACEHOLDER_API_KEY
#: the statuses the error sweep sends (with a neutral body) besides the recorded error bodies
SWEEP_STATUSES = (400, 401, 402, 403, 404, 408, 409, 413, 422, 429, 500, 502, 503, 504, 529)
TRANSPORT_HEADERS = {"host", "content-length", "user-agent", "accept", "accept-encoding", "connection"}
#: the longest example value kept (JSON text); longer ones are cut with an ellipsis
MAX_SHOWN = 240

_ANY = object()
_USAGE: dict[str, Any] = {
    "prompt_tokens": None,
    "completion_tokens": None,
    "total_tokens": None,
    "prompt_tokens_details": {"cached_tokens": None, "audio_tokens": None},
    "completion_tokens_details": {"reasoning_tokens": None, "audio_tokens": None, "accepted_prediction_tokens": None, "rejected_prediction_tokens": None},
}
_TOOL_CALLS = [{"id": None, "type": None, "function": {"name": None, "arguments": None}}]
#: the OpenAI chat.completion fields compared (``reasoning_content`` and ``images`` are the common
#: extensions both sides emit for a model's visible reasoning and its generated images)
CHAT_SCHEMA: dict[str, Any] = {
    "id": None,
    "object": None,
    "model": None,
    "system_fingerprint": None,
    "service_tier": None,
    "choices": [
        {
            "index": None,
            "finish_reason": None,
            "logprobs": _ANY,
            "message": {"role": None, "content": None, "refusal": None, "reasoning_content": None, "annotations": _ANY, "audio": _ANY, "images": _ANY, "tool_calls": _TOOL_CALLS},
        }
    ],
    "usage": _USAGE,
}
EMBEDDINGS_SCHEMA: dict[str, Any] = {
    "object": None,
    "model": None,
    "data": [{"object": None, "index": None, "embedding": _ANY}],
    "usage": {"prompt_tokens": None, "total_tokens": None},
}
#: what a caller accumulates from a stream (:func:`specgen.conform.runner.accumulate`)
STREAM_SCHEMA: dict[str, Any] = {
    "id": None,
    "model": None,
    "content": None,
    "reasoning_content": None,
    "tool_calls": _TOOL_CALLS,
    "finish_reason": None,
    "usage": _USAGE,
}


# --------------------------------------------------------------------------- differences


@dataclass
class Difference:
    """One way the two sides differ, over every case that shows it."""

    provider: str
    mode: str
    phase: str  # request | response | stream | error
    path: str  # body.messages[].content, headers.anthropic-beta, error_529.json:class ...
    kind: str  # value | ours-only | litellm-only | outcome
    ours: Any
    litellm: Any
    cases: list[str] = field(default_factory=list)

    @property
    def id(self) -> str:
        return f"{self.provider}/{self.mode}/{self.phase}/{self.path}/{self.kind}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "phase": self.phase,
            "path": self.path,
            "kind": self.kind,
            "ours": _shown(self.ours),
            "litellm": _shown(self.litellm),
            "count": len(self.cases),
            "cases": self.cases[:5],
        }


def _shown(value: Any) -> str:
    text = value if isinstance(value, str) and value.startswith(("<", "raises ", "accepts", "refuses")) else json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 1] + "…"


ABSENT = "<absent>"


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return float(a) == float(b)
    return bool(a == b)


def diff(ours: Any, theirs: Any, path: str = "") -> list[tuple[str, str, Any, Any]]:
    """Field-level differences between two canonical views: ``(path, kind, ours, litellm)``
    with ``kind`` one of ``value``, ``ours-only``, ``litellm-only``; list indices read ``[]``.
    Lists of different lengths differ as a whole."""
    if isinstance(ours, dict) and isinstance(theirs, dict):
        out: list[tuple[str, str, Any, Any]] = []
        for key in sorted(set(ours) | set(theirs), key=str):
            sub = f"{path}.{key}" if path else str(key)
            if key not in theirs:
                out.append((sub, "ours-only", ours[key], ABSENT))
            elif key not in ours:
                out.append((sub, "litellm-only", ABSENT, theirs[key]))
            else:
                out.extend(diff(ours[key], theirs[key], sub))
        return out
    if isinstance(ours, list) and isinstance(theirs, list) and len(ours) == len(theirs):
        out = []
        for a, b in zip(ours, theirs, strict=True):
            out.extend(diff(a, b, f"{path}[]"))
        return out
    return [] if _same(ours, theirs) else [(path or "(whole)", "value", ours, theirs)]


# --------------------------------------------------------------------------- request views


def _mask(text: str) -> str:
    return text.replace(KEY, "$API_KEY")


def _one_text_part(value: Any) -> str | None:
    if isinstance(value, list) and len(value) == 1 and isinstance(value[0], dict):
        part = value[0]
        if part.get("type") == "text" and set(part) == {"type", "text"} and isinstance(part["text"], str):
            return part["text"]
    return None


def canonical_body(value: Any) -> Any:
    """A JSON body with equivalent encodings folded: a ``content``/``system`` list holding one
    plain text part reads as its string."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            text = _one_text_part(v) if k in ("content", "system") else None
            out[k] = text if text is not None else canonical_body(v)
        return out
    if isinstance(value, list):
        return [canonical_body(v) for v in value]
    return value


#: keys whose values are the caller's own data (tool arguments, JSON schemas): never renamed
FREE_FORM = {"args", "response", "parameters", "properties", "responseSchema", "responseJsonSchema", "parametersJsonSchema", "schema", "metadata"}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(w[:1].upper() + w[1:] for w in rest)


def proto_names(value: Any) -> Any:
    """Field names in lowerCamelCase: a protobuf JSON parser (Google's APIs) accepts a field's
    original snake_case name and its lowerCamelCase JSON name alike, so ``max_output_tokens``
    and ``maxOutputTokens`` are the same field. The caller's own data is left alone."""
    if isinstance(value, dict):
        return {_camel(k): (v if _camel(k) in FREE_FORM else proto_names(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [proto_names(v) for v in value]
    return value


def wire_view(method: str, url: str, headers: Mapping[str, str], content: bytes, *, proto_json: bool = False) -> dict[str, Any]:
    """The comparable view of one HTTP request (see the module docstring); ``proto_json``:
    the provider parses its body as protobuf JSON (snake_case and lowerCamelCase names alike)."""
    u = urlsplit(url)
    try:
        body: Any = json.loads(content) if content else None
        body = canonical_body(proto_names(body) if proto_json else body)
    except ValueError:
        body = content.decode("utf-8", "replace")
    shown: dict[str, str] = {}
    for name, value in headers.items():
        low = name.lower()
        if low in TRANSPORT_HEADERS or low.startswith("x-stainless-"):
            continue
        if low == "content-type":
            value = re.sub(r";\s*charset=utf-8\s*$", "", value, flags=re.IGNORECASE)
        shown[low] = _mask(value)
    return {
        "method": method.upper(),
        "url": f"{u.scheme}://{u.netloc.lower()}{unquote(u.path)}",
        "query": {k: _mask(v) for k, v in parse_qsl(u.query, keep_blank_values=True)},
        "headers": shown,
        "body": body,
    }


# LiteLLM's wordings: "... does not support parameters: ['seed', 'n'], for model=...",
# "... does not support parameters: {'user': 'u'}, for model=..." and
# "Setting {'user': 'u'} is not supported by ollama ..."
_LITELLM_REFUSAL = re.compile(r"(?:does not support parameters:\s*|Setting )(\[[^\]]*\]|\{.*?\})")


def _refused(exc: BaseException) -> list[str]:
    """The params an UnsupportedParamsError names (ours: ``.param``; LiteLLM: its message)."""
    param = getattr(exc, "param", None)
    if isinstance(param, str):
        return [param]
    found = _LITELLM_REFUSAL.search(str(exc))
    if found is None:
        return []
    listed = found.group(1)
    return re.findall(r"'([^']+)'", listed) if listed.startswith("[") else re.findall(r"'([^']+)':", listed)


def _outcome(exc: BaseException | None) -> str:
    return "accepts" if exc is None else f"raises {type(exc).__name__}"


def _refusals(side: Callable[[dict[str, Any]], Any], params: Mapping[str, Any]) -> tuple[set[str], Any, BaseException | None]:
    """Every param ``side`` refuses in ``params``: call it, leave out what it names as
    unsupported, call again (a side names the first refusal only, or several at once).
    Returns the refused params, the request it sent at last (or None) and its last error."""
    refused: set[str] = set()
    for _ in range(len(params) + 1):
        try:
            return refused, side({k: v for k, v in params.items() if k not in refused}), None
        except Exception as exc:
            named = {n for n in _refused(exc) if n in params and n not in refused}
            if not named:
                return refused, None, exc
            refused |= named
    return refused, None, None  # pragma: no cover - every param refused one by one


def compare_requests(
    ours: Callable[[dict[str, Any]], httpx.Request],
    theirs: Callable[[dict[str, Any]], Any],
    params: Mapping[str, Any],
    *,
    proto_json: bool = False,
) -> list[tuple[str, str, Any, Any]]:
    """The differences between the two wire requests for ``params``.

    ``ours`` builds the adapter's ``httpx.Request``; ``theirs`` returns LiteLLM's captured
    request (or raises). Each side's refusals are found on its own; a param one side refuses
    and the other accepts is an ``outcome`` difference at ``params.<name>``. Every refused
    param is then left out on both sides and the two requests compared field by field."""
    ours_refused, _, ours_failed = _refusals(ours, params)
    theirs_refused, _, theirs_failed = _refusals(theirs, params)
    out: list[tuple[str, str, Any, Any]] = []
    for name in sorted(ours_refused ^ theirs_refused):
        # "accepts" is only known of a side whose call went through in the end
        if (theirs_failed if name in ours_refused else ours_failed) is None:
            out.append((f"params.{name}", "outcome", "refuses" if name in ours_refused else "accepts", "refuses" if name in theirs_refused else "accepts"))
    rest = {k: v for k, v in params.items() if k not in ours_refused | theirs_refused}
    ours_req: httpx.Request | None = None
    ours_err: BaseException | None = None
    theirs_req: Any = None
    theirs_err: BaseException | None = None
    try:
        ours_req = ours(dict(rest))
    except Exception as exc:
        ours_err = exc
    try:
        theirs_req = theirs(dict(rest))
    except Exception as exc:
        theirs_err = exc
    if ours_req is None or theirs_req is None:
        if type(ours_err) is not type(theirs_err):
            out.append(("(call)", "outcome", _outcome(ours_err), _outcome(theirs_err)))
        return out
    a = wire_view(ours_req.method, str(ours_req.url), ours_req.headers, ours_req.read(), proto_json=proto_json)
    b = wire_view(theirs_req.method, theirs_req.url, theirs_req.headers, theirs_req.content, proto_json=proto_json)
    return out + diff(a, b)


# --------------------------------------------------------------------------- result views


def _fit(value: Any, schema: Any) -> Any:
    if schema is _ANY:
        return value
    if isinstance(schema, dict):
        if not isinstance(value, dict):
            return value
        out = {}
        for k, sub in schema.items():
            v = _fit(value.get(k), sub)
            if v is None or v == {}:
                continue
            out[k] = v
        return out
    if isinstance(schema, list):
        if not isinstance(value, list):
            return value
        return [_fit(v, schema[0]) for v in value] or None
    return value


def _fold(value: Any, raw: bytes, key: str = "") -> Any:
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k == "created":
                continue
            if k == "id" and isinstance(v, str) and v.encode() not in raw:
                continue  # made up by the side that reports it
            if k == "arguments" and isinstance(v, str):
                v = _json_or_none(v.encode()) if v else {}
                if v is None:
                    v = value[k]  # not JSON: compared as the text it is
            v = _fold(v, raw, k)
            if key.endswith("_tokens_details") and v == 0:
                continue
            if v is None or v == {} or v == []:
                continue
            out[k] = v
        return out
    if isinstance(value, list):
        return [_fold(v, raw) for v in value]
    return value


def result_view(value: Mapping[str, Any], schema: Mapping[str, Any], raw: bytes) -> Any:
    """An OpenAI-shaped result, as compared (see the module docstring)."""
    return _fold(_fit(dict(value), schema), raw)


def _error_view(exc: BaseException) -> dict[str, Any]:
    d = describe_error(exc)
    return {"class": d["type"], "status_code": d["status_code"]}


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
    """``n`` generated requests, the same ones on every run (derandomized hypothesis)."""
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
        mode_ir = ir.mode(mode)
        self.proto_json = mode_ir is not None and mode_ir.format == "gemini"
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
        request: httpx.Request = self.mode.build_request(params, api_key=KEY, base_url=self.base)
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
                ours_view = _error_view(exc)
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
                theirs_view = _error_view(exc)
            phase = "error" if t.kind == "errors" or "class" in ours_view or "class" in theirs_view else ("stream" if stream else "response")
            if phase == "error":
                self.c.add("error", t.name, _error_diffs(t.name, ours_view, theirs_view))
            else:
                self.c.add(phase, t.name, diff(ours_view, theirs_view))

    def error_sweep(self) -> None:
        string_errors = any(
            t.kind == "errors" and isinstance(_json_or_none(t.body()), dict) and isinstance(_json_or_none(t.body()).get("error"), str)
            for t in self.transcripts
        )
        for status in SWEEP_STATUSES:
            message = f"specgen oracle: HTTP {status}"
            body = json.dumps({"error": message} if string_errors else {"error": {"message": message}}).encode()
            case = f"status {status}"
            try:
                ours_view = _error_view(self.module.map_error(self._response(status, body, "application/json", {}), model=self.model))
            except Exception as exc:
                ours_view = _error_view(exc)
            try:
                replay_response(self.ll_model, self._base_params(), body, status=status, mode=self.mode_name, api_key=KEY, api_base=self.base)
                theirs_view: dict[str, Any] = {"class": "<no error>", "status_code": None}
            except Exception as exc:
                theirs_view = _error_view(exc)
            self.c.add("error", case, _error_diffs(case, ours_view, theirs_view))

    def run(self) -> dict[str, Any]:
        self.requests()
        self.results()
        self.error_sweep()
        return self.c.result(self.ll_model)


def _json_or_none(data: bytes) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        return None


def _error_diffs(case: str, ours: Mapping[str, Any], theirs: Mapping[str, Any]) -> list[tuple[str, str, Any, Any]]:
    """An error case differs as one ``<case>:error`` value (``"RateLimitError 429"``) when the
    class or status differs; a result on one side against an error on the other is an outcome."""
    if "class" not in ours or "class" not in theirs:
        return [(f"{case}:outcome", "outcome", _err_text(ours), _err_text(theirs))]
    a, b = _err_text(ours), _err_text(theirs)
    return [] if a == b else [(f"{case}:error", "value", a, b)]


def _err_text(view: Mapping[str, Any]) -> str:
    if "class" not in view:
        return "<result>"
    return f"<{view['class']} {view['status_code']}>"


def run_oracle(
    specs_dir: Path,
    names: list[str] | None = None,
    *,
    mode: str | None = None,
    examples: int = 25,
    progress: Callable[[str], None] | None = None,
) -> OracleResult:
    """Run the oracle for the specs in ``specs_dir`` (or ``names``); needs ``specgen[reference]``
    (raises :class:`~specgen.audit.LiteLLMMissingError` without it)."""
    from specgen.audit.reference import import_litellm

    litellm = import_litellm()
    import importlib.metadata

    # the generated requests depend on hypothesis's exact version (specgen[reference] pins it)
    result = OracleResult(importlib.metadata.version("litellm"), examples, importlib.metadata.version("hypothesis"))
    with built_adapters(specs_dir, names) as built:
        for spec, module in built:
            ir = build_ir(spec)
            for m in ir.modes:
                if mode and m.name != mode:
                    continue
                if litellm_counterpart(ir.name, m.name, litellm) is None:
                    result.not_in_litellm.append(f"{ir.name}/{m.name}")
                    continue
                if progress:
                    progress(f"{ir.name}/{m.name}")
                result.providers.setdefault(ir.name, {})[m.name] = _ModeOracle(spec, ir, module, m.name, examples).run()
    return result


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
