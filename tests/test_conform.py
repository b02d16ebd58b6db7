"""`specgen conform` catches broken adapters: each mutation of a good spec fails the check it should."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from specgen.cli import main
from specgen.conform.match import diff
from specgen.conform.runner import FAIL, PASS, UNVERIFIED, Result, accumulate, conform

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"


def copy_provider(tmp_path: Path, name: str) -> Path:
    specs = tmp_path / "specs"
    (specs / "fixtures").mkdir(parents=True)
    shutil.copy(SPECS / f"{name}.yaml", specs / f"{name}.yaml")
    shutil.copytree(SPECS / "fixtures" / name, specs / "fixtures" / name)
    return specs


def mutate(specs: Path, name: str, old: str, new: str) -> None:
    path = specs / f"{name}.yaml"
    text = path.read_text()
    assert text.count(old) == 1, f"mutation anchor {old!r} must occur once"
    path.write_text(text.replace(old, new))


def failures(results: list[Result]) -> list[str]:
    return [f"{r.group} {r.check}: {r.detail}" for r in results if r.status == FAIL]


@pytest.fixture(scope="module")
def anthropic_results(tmp_path_factory: pytest.TempPathFactory) -> list[Result]:
    specs = copy_provider(tmp_path_factory.mktemp("good"), "anthropic")
    return conform(specs, ["anthropic"]).results


def test_unmutated_spec_passes_and_nothing_is_unverified(anthropic_results: list[Result]) -> None:
    assert failures(anthropic_results) == []
    assert [r.check for r in anthropic_results if r.status == UNVERIFIED] == []
    groups = {r.group for r in anthropic_results}
    assert groups == {"request", "response", "stream", "errors"}
    # every wire declaration is backed by a transcript, not by the self-check alone
    param = next(r for r in anthropic_results if r.check == "param temperature → temperature")
    assert param.status == PASS and "sampling" in param.evidence


MUTATIONS = {
    "swap two finish_reason rows": (
        ("          end_turn: stop\n", "          end_turn: length\n"),
        ("          max_tokens: length\n", "          max_tokens: stop\n"),
        "response finish_reason end_turn → length",
    ),
    "drop a param mapping": (
        ("      temperature: { to: temperature, range: [0, 1] }\n", ""),
        None,
        "request transcript requests/sampling",
    ),
    "change a target path": (
        ("      top_k: { to: top_k }", "      top_k: { to: topK }"),
        None,
        "request param top_k → topK",
    ),
    "change an error class": (
        ("{ status: 429, raise: RateLimitError, retry: true }", "{ status: 429, raise: InternalServerError, retry: true }"),
        None,
        "errors error 429 → InternalServerError",
    ),
    "break a stream event mapping": (
        ("content_block_delta/text_delta: { content: delta.text }", "content_block_delta/text_delta: { content: delta.txt }"),
        None,
        "stream event content_block_delta/text_delta",
    ),
}


@pytest.mark.parametrize("mutation", list(MUTATIONS), ids=list(MUTATIONS))
def test_mutated_spec_fails_the_named_check(tmp_path: Path, mutation: str) -> None:
    first, second, check = MUTATIONS[mutation]
    specs = copy_provider(tmp_path, "anthropic")
    mutate(specs, "anthropic", *first)
    if second:
        mutate(specs, "anthropic", *second)
    report = conform(specs, ["anthropic"])
    assert report.failed
    failed = failures(report.results)
    assert any(f.startswith(check) for f in failed), failed
    named = next(r for r in report.results if f"{r.group} {r.check}".startswith(check) and r.status == FAIL)
    assert "expected" in named.detail  # one line with an exact expected-vs-received
    assert named.spec.startswith(("specs/anthropic.yaml:", "specs/fixtures/anthropic/"))


def test_cli_exit_codes_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    specs = copy_provider(tmp_path, "anthropic")
    out = tmp_path / "conform.json"
    assert main(["conform", "anthropic", "--specs", str(specs), "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert text.splitlines()[0].split() == ["provider", "mode", "request", "response", "stream", "errors"]
    records = json.loads(out.read_text())["results"]
    assert records and {"provider", "mode", "group", "check", "status", "spec", "detail", "evidence"} <= set(records[0])
    mutate(specs, "anthropic", "{ status: 404, raise: NotFoundError }", "{ status: 404, raise: BadRequestError }")
    assert main(["conform", "anthropic", "--specs", str(specs)]) == 3
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("FAIL ")]
    assert any("error 404 → BadRequestError (specs/anthropic.yaml:" in ln and "expected NotFoundError" in ln for ln in lines), lines


def test_spec_without_fixtures_is_unverified_not_passed(tmp_path: Path) -> None:
    specs = tmp_path / "specs"
    specs.mkdir()
    shutil.copy(SPECS / "anthropic.yaml", specs / "anthropic.yaml")
    results = conform(specs, ["anthropic"], mode="chat").results
    assert failures(results) == []
    statuses = {r.check: r.status for r in results}
    assert statuses["param temperature → temperature"] == UNVERIFIED
    assert statuses["finish_reason end_turn → stop"] == UNVERIFIED
    assert statuses["param logprobs unsupported: refuse"] == PASS  # our own policy: the self-check decides


def test_broken_transcript_file_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    specs = copy_provider(tmp_path, "anthropic")
    (specs / "fixtures" / "anthropic" / "chat" / "transcripts.yaml").write_text("responses:\n  nope.json: { expect: {} }\n")
    assert main(["conform", "anthropic", "--specs", str(specs)]) == 2
    assert "specs/fixtures/anthropic/chat/transcripts.yaml: responses.nope.json: no file" in capsys.readouterr().err


def test_partial_diff_and_accumulate() -> None:
    assert diff({"a": 1}, {"a": 1, "b": 2}) == []
    assert diff({"a": 1}, {"a": 1, "b": 2}, exact=True) == ["b: expected nothing, received 2"]
    assert diff({"x": [{"y": True}]}, {"x": [{"y": 1}]}) == ["x[0].y: expected true, received 1"]
    assert diff({"args": {"k": "v"}}, {"args": '{"k": "v"}'}) == []  # JSON text compared as JSON
    chunks = [
        {"id": "c1", "model": "m", "choices": [{"index": 0, "delta": {"content": "He"}}]},
        {"id": "c1", "choices": [{"index": 0, "delta": {"content": "llo", "tool_calls": [{"index": 0, "id": "t", "function": {"name": "f", "arguments": "{"}}]}}]},
        {"id": "c1", "choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": "}"}}]}, "finish_reason": "tool_calls"}], "usage": {"prompt_tokens": 1}},
    ]
    acc = accumulate(chunks)
    assert acc["content"] == "Hello" and acc["finish_reason"] == "tool_calls" and acc["usage"] == {"prompt_tokens": 1}
    assert acc["tool_calls"] == [{"id": "t", "type": "function", "function": {"name": "f", "arguments": "{}"}}]


def test_a_misspelt_transcript_key_is_an_error_with_its_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A transcript key conformance does not know (``header:`` for ``headers:``) would be silently
    ignored, and the check pass: it is an error at its file:line:column, with a did-you-mean."""
    specs = copy_provider(tmp_path, "anthropic")
    index = specs / "fixtures" / "anthropic" / "chat" / "transcripts.yaml"
    text = index.read_text()
    assert "      headers:" in text
    index.write_text(text.replace("      headers:", "      header:", 1))
    line = text.split("\n").index(next(ln for ln in text.split("\n") if ln.startswith("      headers:"))) + 1
    assert main(["conform", "anthropic", "--specs", str(specs)]) == 2
    err = capsys.readouterr().err
    assert f"specs/fixtures/anthropic/chat/transcripts.yaml:{line}:7:" in err and "unknown key 'header' (did you mean 'headers'?)" in err


def test_a_plain_child_passes_on_its_parents_transcripts_as_it_sends_them(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A child of openai with its own prefix, base URL and auth header, and no transcripts of its
    own: the parent's run with the child's prefix and auth, so nothing fails, and the report says
    which checks passed only on inherited transcripts."""
    specs = copy_provider(tmp_path, "openai")
    (specs / "acme.yaml").write_text(
        "name: acme\nextends: openai\nmodel_naming: acme/<model>\nbase_url: https://api.acme.example/v1\n"
        "env: { api_key: ACME_API_KEY }\nauth: { type: header, header: api-key }\n"
    )
    results = conform(specs, ["acme"]).results
    assert failures(results) == []
    inherited = [r for r in results if r.status == PASS and r.inherited_only]
    assert inherited and all(name.startswith("openai:") for r in inherited for name in r.evidence)
    auth = next(r for r in results if r.check.startswith("auth header"))
    assert auth.status == PASS and auth.inherited_only
    assert main(["conform", "acme", "--specs", str(specs), "--no-cache"]) == 0
    assert "of 1 providers pass on a parent's transcripts only" in capsys.readouterr().out
    assert main(["conform", "acme", "--specs", str(specs), "--no-cache", "-v"]) == 0
    assert "acme: " in capsys.readouterr().out


def test_one_validation_run_reports_every_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "a.yaml").write_text("name: a\nextends: nosuch\nbase_url: 5\nmodes:\n  chat:\n    paramz: {}\n")
    (specs / "b.yaml").write_text(
        "name: b\nbase_url: https://x\nmodes:\n  chat:\n    endpoint: { path: /c }\n    format: opena\n"
        "    params:\n      temperature: { too: x, transform: as_lis }\n"
    )
    assert main(["validate", "--specs", str(specs)]) == 2
    err = capsys.readouterr().err
    for expected in (
        "specs/a.yaml:2:10: extends: no spec named 'nosuch'",
        "specs/a.yaml:3:11: base_url: 5 is not of type 'string'",
        "specs/a.yaml:6:5: modes.chat: unknown key 'paramz' (did you mean 'params'?)",
        "specs/b.yaml:6:13: unknown wire 'opena' (did you mean 'openai'?)",
        "specs/b.yaml:8:22: modes.chat.params.temperature: unknown key 'too' (did you mean 'to'?)",
        "specs/b.yaml:8:41: unknown transform 'as_lis' (did you mean 'as_list'?)",
    ):
        assert expected in err, err


def test_models_discovery_is_checked_against_its_recorded_list(tmp_path: Path) -> None:
    """list_models() against the provider's documented list: a wrong id_prefix fails the check."""
    specs = copy_provider(tmp_path, "gemini")
    results = conform(specs, ["gemini"], mode="models").results
    assert [r.status for r in results] == [PASS] and results[0].evidence == ["response.json"]
    mutate(specs, "gemini", "id_prefix: models/, ", "")
    results = conform(specs, ["gemini"], mode="models").results
    assert results[0].status == FAIL and "gemini-2.5-flash" in results[0].detail, results[0].detail


def test_parallel_runs_give_the_same_results_and_the_cache_reruns_only_what_changed(tmp_path: Path) -> None:
    """Providers checked in forked workers give exactly the results of one process; a passing
    provider whose inputs are unchanged is not run again, and a changed fixture of a parent re-runs
    the parent and every child that inherits it, but not an unrelated provider."""
    specs = copy_provider(tmp_path, "openai")
    for name in ("groq", "ollama"):
        shutil.copy(SPECS / f"{name}.yaml", specs / f"{name}.yaml")
        shutil.copytree(SPECS / "fixtures" / name, specs / "fixtures" / name)
    names = ["groq", "ollama", "openai"]
    serial = conform(specs, names, jobs=1)
    cache = tmp_path / "cache"
    parallel = conform(specs, names, jobs=2, cache_dir=cache)
    key = lambda r: (r.provider, r.mode, r.group, r.check, r.status, r.spec, r.detail, tuple(r.evidence))  # noqa: E731
    assert [key(r) for r in parallel.results] == [key(r) for r in serial.results]
    assert parallel.cached == [] and failures(parallel.results) == []
    again = conform(specs, names, jobs=2, cache_dir=cache)
    assert again.cached == names and [key(r) for r in again.results] == [key(r) for r in serial.results]
    # a parent's fixture changes: the parent and its child run again, the unrelated provider does not
    stream = specs / "fixtures" / "openai" / "chat" / "stream.sse"
    stream.write_bytes(stream.read_bytes() + b"\n")
    third = conform(specs, names, jobs=2, cache_dir=cache)
    assert third.cached == ["ollama"]
    assert conform(specs, names, jobs=2, cache_dir=cache, rerun=True).cached == []
    # a failing provider is never cached
    mutate(specs, "groq", "{ status: 498, raise: ServiceUnavailableError, retry: true }", "{ status: 498, raise: BadRequestError, retry: true }")
    for _ in range(2):
        report = conform(specs, ["groq"], cache_dir=cache)
        assert report.failed and report.cached == []
