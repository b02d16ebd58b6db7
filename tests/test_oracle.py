"""The differential oracle (`specgen conform --oracle litellm`) and the verdicts `specgen audit` joins.

The first half needs no LiteLLM: the comparison (views, equivalent encodings, field-level
differences, refusals), the verdicts file, the checklist's oracle sections and their --check.
The second half runs the oracle for real where ``specgen[reference]`` is installed.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from specgen.audit import corpus
from specgen.audit.checklist import audit
from specgen.audit.oracle import (
    ABSENT,
    CHAT_SCHEMA,
    Difference,
    _refused,
    compare_requests,
    diff,
    result_view,
    wire_view,
)
from specgen.audit.verdicts import VerdictError, load_verdicts, verdict_for
from specgen.cli import main
from specgen.spec.resolve import load_specs
from specgen_runtime.core import refuse, request_model
from specgen_runtime.errors import UnsupportedParamsError

from conftest import ROOT

KEY = "sk-specgen-placeholder"

# --------------------------------------------------------------------------- field-level differences


def test_diff_paths_kinds_and_equal_numbers() -> None:
    ours = {"a": 1, "b": {"c": [1, 2], "d": "x"}, "m": [{"role": "user", "content": "hi"}], "only": True}
    theirs = {"a": 1.0, "b": {"c": [1, 2, 3], "d": "y"}, "m": [{"role": "system", "content": "hi"}], "extra": 0}
    got = {(p, k) for p, k, _, _ in diff(ours, theirs)}
    assert got == {
        ("b.c", "value"),  # lists of different lengths differ as a whole
        ("b.d", "value"),
        ("m[].role", "value"),  # list indices read []
        ("only", "ours-only"),
        ("extra", "litellm-only"),
    }
    assert diff({"x": True}, {"x": 1}) == [("x", "value", True, 1)]  # a bool is not a number
    assert diff({"x": None}, {}) == [("x", "ours-only", None, ABSENT)]


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5), lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=3), c, max_size=3), max_leaves=12))
def test_diff_of_a_value_with_itself_is_empty(value: Any) -> None:
    assert diff(value, json.loads(json.dumps(value))) == []


def test_wire_view_folds_equivalent_encodings_and_hides_the_key() -> None:
    body = {"system": [{"type": "text", "text": "Be brief."}], "messages": [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}]}
    view = wire_view(
        "post",
        f"https://API.example.com/v1/x%3Ay?key={KEY}&alt=sse",
        {"Host": "api.example.com", "Content-Length": "9", "User-Agent": "u", "X-Stainless-Os": "Linux", "Content-Type": "application/json; charset=utf-8", "X-Api-Key": KEY},
        json.dumps(body).encode(),
    )
    assert view == {
        "method": "POST",
        "url": "https://api.example.com/v1/x:y",
        "query": {"key": "$API_KEY", "alt": "sse"},
        "headers": {"content-type": "application/json", "x-api-key": "$API_KEY"},
        "body": {"system": "Be brief.", "messages": [{"role": "user", "content": "Hi"}]},
    }
    # a text part with more than type/text (cache_control) is not folded
    kept = [{"type": "text", "text": "Hi", "cache_control": {"type": "ephemeral"}}]
    assert wire_view("POST", "http://h/", {}, json.dumps({"content": kept}).encode())["body"] == {"content": kept}


def test_proto_json_names_fold_but_caller_data_does_not() -> None:
    ours = {"generationConfig": {"maxOutputTokens": 5}, "contents": [{"parts": [{"functionCall": {"name": "f", "args": {"city_name": "Paris"}}}]}]}
    theirs = {"generation_config": {"max_output_tokens": 5}, "contents": [{"parts": [{"function_call": {"name": "f", "args": {"cityName": "Paris"}}}]}]}
    a = wire_view("POST", "http://h/", {}, json.dumps(ours).encode(), proto_json=True)
    b = wire_view("POST", "http://h/", {}, json.dumps(theirs).encode(), proto_json=True)
    # the field names are the same field; the tool's argument names are the caller's and differ
    assert sorted((p, k) for p, k, _, _ in diff(a, b)) == [("body.contents[].parts[].functionCall.args.cityName", "litellm-only"), ("body.contents[].parts[].functionCall.args.city_name", "ours-only")]
    plain = diff(wire_view("POST", "http://h/", {}, json.dumps(ours).encode()), wire_view("POST", "http://h/", {}, json.dumps(theirs).encode()))
    assert ("body.generationConfig", "ours-only") in [(p, k) for p, k, _, _ in plain]  # not folded for other providers


def test_result_view_keeps_the_openai_schema_only() -> None:
    raw = b'{"id": "msg_1", "model": "m-2025"}'
    value = {
        "id": "msg_1",
        "created": 1700000000,
        "model": "m-2025",
        "object": "chat.completion",
        "provider_specific_fields": {"x": 1},
        "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {"role": "assistant", "content": None, "thinking_blocks": [], "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "f", "arguments": '{"a": 1}'}}]}}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7, "prompt_tokens_details": {"cached_tokens": 0, "text_tokens": None}},
    }
    view = result_view(value, CHAT_SCHEMA, raw)
    assert view == {
        "id": "msg_1",
        "model": "m-2025",
        "object": "chat.completion",
        "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {"role": "assistant", "tool_calls": [{"type": "function", "function": {"name": "f", "arguments": {"a": 1}}}]}}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7},
    }
    # the same call with other whitespace in its arguments and a made-up id compares equal
    other = json.loads(json.dumps(value))
    other["id"] = "chatcmpl-made-up"
    other["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"] = '{"a":1}'
    assert diff(result_view(other, CHAT_SCHEMA, raw), {k: v for k, v in view.items() if k != "id"}) == []


# --------------------------------------------------------------------------- refusals


def test_refused_params_from_both_sides() -> None:
    assert _refused(refuse("anthropic", "m", "seed")) == ["seed"]
    assert isinstance(refuse("p", "m", "x"), UnsupportedParamsError)
    assert _refused(Exception("litellm.UnsupportedParamsError: anthropic does not support parameters: ['seed', 'n'], for model=m")) == ["seed", "n"]
    assert _refused(Exception("gemini does not support parameters: {'user': 'u', 'dimensions': 3}, for model=m")) == ["user", "dimensions"]
    assert _refused(Exception("Setting {'encoding_format': 'float'} is not supported by ollama.")) == ["encoding_format"]
    assert _refused(Exception("something else")) == []


def _request(body: dict[str, Any]) -> httpx.Request:
    return httpx.Request("POST", "https://api.example.com/v1/chat", json=body)


class _Captured:
    def __init__(self, body: dict[str, Any]) -> None:
        self.method, self.url, self.content = "POST", "https://api.example.com/v1/chat", json.dumps(body).encode()
        self.headers = {"content-type": "application/json"}


def test_compare_requests_reports_a_refusal_then_compares_the_rest() -> None:
    def ours(p: dict[str, Any]) -> httpx.Request:
        if "seed" in p:
            raise refuse("x", "m", "seed")
        return _request({"messages": p["messages"], "temperature": p.get("temperature")})

    def theirs(p: dict[str, Any]) -> _Captured:
        return _Captured({"messages": p["messages"], "temperature": p.get("temperature"), "seed": p.get("seed")})

    got = compare_requests(ours, theirs, {"messages": [{"role": "user", "content": "Hi"}], "temperature": 0.5, "seed": 7})
    assert got == [("params.seed", "outcome", "refuses", "accepts"), ("body.seed", "litellm-only", ABSENT, None)]

    # each side's refusals are its own: ours names one at a time, LiteLLM all at once
    def ours_one_at_a_time(p: dict[str, Any]) -> httpx.Request:
        for name in ("frequency_penalty", "presence_penalty"):
            if name in p:
                raise refuse("x", "m", name)
        return _request({"messages": p["messages"]})

    def theirs_all_at_once(p: dict[str, Any]) -> _Captured:
        named = [n for n in ("presence_penalty", "frequency_penalty", "seed") if n in p]
        if named:
            raise Exception(f"litellm.UnsupportedParamsError: x does not support parameters: {named!r}, for model=m")
        return _Captured({"messages": p["messages"]})

    params = {"messages": [], "frequency_penalty": 0.1, "presence_penalty": 0.2, "seed": 1}
    assert compare_requests(ours_one_at_a_time, theirs_all_at_once, params) == [("params.seed", "outcome", "accepts", "refuses")]

    def fails(p: dict[str, Any]) -> _Captured:
        raise ConnectionError("offline")

    assert compare_requests(ours, fails, {"messages": []}) == [("(call)", "outcome", "accepts", "raises ConnectionError")]


def test_corpus_requests_are_openai_shaped() -> None:
    for mode in ("chat", "embeddings"):
        for name, params in corpus.fixed(mode).items():
            assert "model" not in params, name
            assert ("messages" in params) == (mode == "chat") and ("input" in params) == (mode == "embeddings"), name
    assert corpus.strategy("rerank") is None


def test_request_model_reads_the_request() -> None:
    body = httpx.Request("POST", "https://h/v1/chat", json={"model": "m-1"})
    assert request_model(httpx.Response(200, request=body)) == "m-1"
    gemini = httpx.Request("POST", "https://h/v1beta/models/gemini-embedding-001:batchEmbedContents", json={"requests": []})
    assert request_model(httpx.Response(200, request=gemini)) == "gemini-embedding-001"
    assert request_model(httpx.Response(200)) == ""  # no request attached


# --------------------------------------------------------------------------- verdicts


def _verdicts(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "oracle_verdicts.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_verdicts_exact_over_pattern_and_literal_brackets(tmp_path: Path) -> None:
    path = _verdicts(
        tmp_path,
        '"*/error/*": {verdict: both, note: first pattern}\n'
        '"a/chat/*": {verdict: litellm}\n'
        "a/chat/error/status 529:error/value: {verdict: ours, note: 'exact'}\n"
        '"b/chat/request/body.m[].role/*": {verdict: ours}\n',
    )
    vs = load_verdicts(path)
    assert verdict_for("a/chat/error/status 529:error/value", vs).note == "exact"  # type: ignore[union-attr]
    assert verdict_for("a/chat/error/status 502:error/value", vs).note == "first pattern"  # type: ignore[union-attr]
    assert verdict_for("a/chat/request/x/value", vs).verdict == "litellm"  # type: ignore[union-attr]
    assert verdict_for("b/chat/request/x/value", vs) is None
    # [] is literal, not a character class
    assert verdict_for("b/chat/request/body.m[].role/value", vs).verdict == "ours"  # type: ignore[union-attr]
    assert verdict_for("b/chat/request/body.mr.role/value", vs) is None
    assert load_verdicts(tmp_path / "missing.yaml") == []


@pytest.mark.parametrize(
    ("text", "where", "says"),
    [
        ("a/b: {verdict: maybe}\n", "1:1", "verdict must be one of ours, litellm, both"),
        ("x: {verdict: ours}\na/b: {verdict: ours, reason: x}\n", "2:1", "unknown field 'reason'"),
        ("a/b: {verdict: ours}\na/b: {verdict: both}\n", "2:1", "given twice"),
        ("a/b: ours\n", "1:1", "expected {verdict"),
        ("a/b: {verdict: ours\n", "2:1", "invalid YAML"),
        ("- a\n", "1:1", "expected a mapping"),
    ],
)
def test_bad_verdicts_name_file_line_column(tmp_path: Path, text: str, where: str, says: str) -> None:
    with pytest.raises(VerdictError) as err:
        load_verdicts(_verdicts(tmp_path, text), "checklist/oracle_verdicts.yaml")
    assert str(err.value).startswith(f"checklist/oracle_verdicts.yaml:{where}: ")
    assert says in str(err.value)


# --------------------------------------------------------------------------- the checklist's oracle sections

REFERENCE = {"litellm_version": "1.100.5", "providers": {"anthropic": {"model_count": 26, "modes": {"chat": {"supported_openai_params": ["max_tokens", "temperature"]}}}}}


def _oracle(count: int, example: str) -> dict[str, Any]:
    diffs = [
        Difference("anthropic", "chat", "request", "body.max_tokens", "value", 4096, int(example), [f"corpus:{i}" for i in range(count)]).to_dict(),
        Difference("anthropic", "chat", "error", "status 529:error", "value", "<ServiceUnavailableError 529>", "<InternalServerError 500>", ["status 529"]).to_dict(),
        Difference("anthropic", "chat", "error", "status 413:error", "value", "<BadRequestError 413>", "<BadRequestError 400>", ["status 413"]).to_dict(),
    ]
    return {
        "litellm_version": "1.100.5",
        "generated_examples": 3,
        "not_in_litellm": [],
        "providers": {"anthropic": {"chat": {"litellm_model": "anthropic/m", "cases": {"request": count, "response": 0, "stream": 0, "error": 2}, "differences": diffs}}},
    }


@pytest.fixture(scope="module")
def specs(anthropic_specs: Path) -> Path:
    return anthropic_specs


def test_verdicts_survive_regeneration_and_gaps_follow_them(specs: Path, tmp_path: Path) -> None:
    path = _verdicts(
        tmp_path,
        "anthropic/chat/request/body.max_tokens/value: {verdict: both, note: a default is policy}\n"
        "anthropic/chat/error/status 529:error/value: {verdict: litellm, note: say it is a gap}\n"
        "anthropic/chat/request/gone/value: {verdict: ours}\n",
    )
    verdicts = load_verdicts(path)
    first = audit(load_specs(specs), [], REFERENCE, _oracle(3, "5120"), verdicts)
    # the oracle runs again: other counts and example values, the same differences
    again = audit(load_specs(specs), [], REFERENCE, _oracle(9, "64000"), verdicts)
    for a in (first, again):
        listed = {d["id"]: d for d in a.parity["oracle"]["providers"]["anthropic"]["chat"]["differences"]}
        assert listed["anthropic/chat/request/body.max_tokens/value"]["verdict"] == "both"
        assert listed["anthropic/chat/request/body.max_tokens/value"]["note"] == "a default is policy"
        assert listed["anthropic/chat/error/status 413:error/value"]["verdict"] == "unreviewed"
        assert a.parity["oracle"]["verdict_counts"] == {"ours": 0, "litellm": 1, "both": 1, "unreviewed": 1}
        assert a.parity["oracle"]["unmatched_verdicts"] == ["anthropic/chat/request/gone/value"]
        gaps = [g for g in a.parity["providers"]["anthropic"]["gaps"] if "id" in g]
        assert gaps == [{"kind": "error row", "mode": "chat", "id": "anthropic/chat/error/status 529:error/value", "ours": "<ServiceUnavailableError 529>", "litellm": "<InternalServerError 500>", "note": "say it is a gap"}]
        page = a.files["providers/anthropic.md"]
        assert "| `anthropic/chat/request/body.max_tokens/value` |" in page and "| both acceptable | a default is policy |" in page
        assert "- error row: `anthropic/chat/error/status 529:error/value`" in page
    assert "64000" in again.text and "64000" not in first.text
    assert "oracle differences (unreviewed)" in first.markdown and "| 3 (1) |" in first.markdown
    # without an oracle run the checklist says so
    assert "Not run: no `oracle.json`" in audit(load_specs(specs), [], REFERENCE).markdown


def test_audit_check_sees_a_changed_verdict_and_reports_a_bad_file(specs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "checklist"
    out.mkdir()
    (out / "litellm_reference.json").write_text(json.dumps(REFERENCE))
    (out / "oracle.json").write_text(json.dumps(_oracle(3, "5120")))
    verdicts = out / "oracle_verdicts.yaml"
    verdicts.write_text("anthropic/chat/request/body.max_tokens/value: {verdict: both}\n")
    args = ["audit", "--specs", str(specs), "--out", str(out)]
    assert main(args) == 0 and main([*args, "--check"]) == 0
    verdicts.write_text("anthropic/chat/request/body.max_tokens/value: {verdict: ours}\n")
    assert main([*args, "--check"]) == 1  # the checklist shows verdicts: it is stale now
    assert main(args) == 0 and main([*args, "--check"]) == 0
    assert "| ours right |" in (out / "LITELLM_PROVIDER_CHECKLIST.md").read_text()
    verdicts.write_text("\n\nanthropic/x: {verdict: nope}\n")
    capsys.readouterr()
    assert main([*args, "--check"]) == 2
    assert f"{out / 'oracle_verdicts.yaml'}:3:1: anthropic/x: verdict must be one of" in capsys.readouterr().err


def test_committed_verdicts_load_and_cover_the_committed_oracle() -> None:
    verdicts = load_verdicts(ROOT / "checklist" / "oracle_verdicts.yaml")
    oracle = json.loads((ROOT / "checklist" / "oracle.json").read_text())
    ids = [d["id"] for modes in oracle["providers"].values() for m in modes.values() for d in m["differences"]]
    assert ids and len(ids) == len(set(ids))
    judged = [i for i in ids if verdict_for(i, verdicts) is not None]
    assert len(judged) >= 0.9 * len(ids)  # a maintainer looked at (nearly) every difference


# --------------------------------------------------------------------------- with LiteLLM


@pytest.fixture(scope="module")
def litellm() -> Any:
    return pytest.importorskip("litellm")


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_oracle_finds_known_litellm_differences(litellm: Any, specs: Path) -> None:
    from specgen.audit.oracle import run_oracle

    result = run_oracle(specs, examples=3)
    found = {d["id"]: d for d in result.differences()}
    # Anthropic 529 (overloaded) becomes LiteLLM's InternalServerError 500
    assert found["anthropic/chat/error/error_529.json:error/value"]["ours"] == "<ServiceUnavailableError 529>"
    assert found["anthropic/chat/error/error_529.json:error/value"]["litellm"] == "<InternalServerError 500>"
    # json_object has no Anthropic form: we refuse it, LiteLLM emulates it
    assert found["anthropic/chat/request/params.response_format/outcome"]["ours"] == "refuses"
    # json_schema: Anthropic's structured outputs, generally available (LiteLLM 1.100 sends the beta form)
    assert found["anthropic/chat/request/headers.anthropic-beta/litellm-only"]["litellm"] == '"structured-outputs-2025-11-13"'
    assert "anthropic/chat/request/body.output_config/ours-only" in found
    cases = result.providers["anthropic"]["chat"]["cases"]
    assert cases["request"] >= len(corpus.fixed("chat")) + 3 and cases["response"] > 0 and cases["stream"] > 0 and cases["error"] > 0
    # what both sides do alike is not a difference
    assert not any(i.startswith("anthropic/chat/request/body.temperature/") for i in found)
    assert not any(i.startswith(("anthropic/chat/request/headers.x-api-key/", "anthropic/chat/request/headers.anthropic-version/")) for i in found)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_oracle_sees_a_mapping_change(litellm: Any, specs: Path, tmp_path: Path) -> None:
    from specgen.audit.oracle import run_oracle

    changed = tmp_path / "specs"
    shutil.copytree(specs, changed)
    spec = changed / "anthropic.yaml"
    text = spec.read_text()
    assert "top_p: { to: top_p, range: [0, 1] }" in text
    spec.write_text(text.replace("top_p: { to: top_p, range: [0, 1] }", "top_p: { to: topP, range: [0, 1] }"))
    found = {d["id"] for d in run_oracle(changed, examples=0).differences()}
    assert "anthropic/chat/request/body.topP/ours-only" in found
    assert "anthropic/chat/request/body.top_p/litellm-only" in found
