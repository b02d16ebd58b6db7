"""How the differential oracle compares a specgen adapter with LiteLLM: views and differences.

A request is viewed as method, URL (scheme, host, path), query, headers and JSON
body; transport headers (host, content-length, user-agent, accept*, connection, x-stainless-*)
are not compared and the API key (the same placeholder on both sides) reads ``$API_KEY``.
Equivalent encodings compare equal: key order, ``1`` and ``1.0``, a ``content``/``system``
string and a list holding one plain text part with that string, a content-type's
``charset=utf-8``, and for Gemini (a protobuf JSON API) a field's snake_case and lowerCamelCase
names.  A result is viewed through the OpenAI schema only (fields either side adds
beyond it are not compared), with ``null``, an empty list and a missing field equal, zero token-detail counts
equal to missing ones, tool-call ``arguments`` compared as parsed JSON, and volatile values
(``created``; an ``id`` the provider did not send) left out.

:func:`diff` gives the field-level differences between two views, ``(path, kind, ours, litellm)``;
:func:`compare_requests` the differences between the two wire requests for one call (each
side's refusals first); :func:`result_view` and :func:`error_view` the views of a result and an
error.  Pure functions: the oracle's run (:mod:`specgen.audit.oracle`) calls them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import httpx

from specgen.audit.litellm_capture import PLACEHOLDER_API_KEY, describe_error

KEY = PLACEHOLDER_API_KEY  # the same placeholder key on both sides; read as ``$API_KEY``
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
#: what a caller accumulates from a stream (:func:`specgen.adapters.accumulate`)
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
                v = json_or_none(v.encode()) if v else {}
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


def error_view(exc: BaseException) -> dict[str, Any]:
    d = describe_error(exc)
    return {"class": d["type"], "status_code": d["status_code"]}


def json_or_none(data: bytes) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        return None


def error_diffs(case: str, ours: Mapping[str, Any], theirs: Mapping[str, Any]) -> list[tuple[str, str, Any, Any]]:
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
