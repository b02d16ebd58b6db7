"""The command line a spec author and a CI pipeline use: new, explain, schema --write,
--error-format github, exit codes, --help. Every test works on a temporary copy of the specs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from specgen.cli import EXIT_CONFORM, EXIT_OK, EXIT_SPEC, EXIT_STALE, main
from specgen.resources import schema_path
from specgen.scaffold import schema_ref
from specgen.spec.errors import github_annotation

from conftest import ROOT, copy_specs

COMMANDS = ["new", "validate", "build", "conform", "explain", "audit", "schema", "reference"]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def line_of(path: Path, start: str) -> int:
    """The 1-based number of the first line of ``path`` that starts (after indentation) with ``start``."""
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if text.lstrip().startswith(start):
            return number
    raise AssertionError(f"no line starting with {start!r} in {path}")


# ---------------------------------------------------------------------------- new


def test_new_writes_a_full_skeleton_that_validates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(capsys, "new", "acme")
    assert code == EXIT_OK
    spec = tmp_path / "specs" / "acme.yaml"
    transcripts = tmp_path / "specs" / "fixtures" / "acme" / "chat" / "transcripts.yaml"
    sources = tmp_path / "specs" / "fixtures" / "acme" / "SOURCES.md"
    assert f"wrote {Path('specs') / 'acme.yaml'}" in out
    text = spec.read_text(encoding="utf-8")
    assert text.startswith("# yaml-language-server: $schema=")
    data = yaml.safe_load(text)
    assert data["spec_version"] == 1 and data["name"] == "acme" and data["display_name"] == "Acme"
    assert data["model_naming"] == "acme/<model>" and data["env"]["api_key"] == "ACME_API_KEY"
    assert data["docs"] and data["base_url"] and "extends" not in data
    assert data["modes"]["chat"]["endpoint"]["path"] == "/chat/completions"
    entries = yaml.safe_load(transcripts.read_text(encoding="utf-8"))
    assert list(entries) == ["requests"] and len(entries["requests"]) == 1
    for kind in ("responses", "streams", "errors"):
        assert f"\n# {kind}:" in transcripts.read_text(encoding="utf-8")
    assert "| File | Source" in sources.read_text(encoding="utf-8")
    # as written: validate passes, the file alone and in its folder
    assert run(capsys, "validate", "specs/acme.yaml")[0] == EXIT_OK
    assert run(capsys, "validate", "--specs", "specs")[0] == EXIT_OK


def test_new_extends_writes_a_few_lines_that_validate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    specs = copy_specs(tmp_path, "openai", "groq")
    code, _, _ = run(capsys, "new", "my_groq", "--extends", "groq", "--specs", str(specs))
    assert code == EXIT_OK
    spec = specs / "my_groq.yaml"
    data = yaml.safe_load(spec.read_text(encoding="utf-8"))
    assert data["extends"] == "groq" and data["name"] == "my_groq"
    assert data["env"]["api_key"] == "MY_GROQ_API_KEY" and data["model_naming"] == "my_groq/<model>"
    assert "modes" not in data  # a few lines: everything else is inherited
    transcripts = yaml.safe_load((specs / "fixtures" / "my_groq" / "chat" / "transcripts.yaml").read_text(encoding="utf-8"))
    # the parent's request under its own prefix (groq/...) is replaced by one under this prefix
    assert transcripts["requests"]["prefixed_model"]["params"]["model"] == "my_groq/example-model"
    assert run(capsys, "validate", "--specs", str(specs))[0] == EXIT_OK
    assert run(capsys, "validate", str(spec))[0] == EXIT_OK


@pytest.mark.parametrize("name", ["Acme", "1acme", "ac-me", "acme.v2", "_acme", "class"])
def test_new_refuses_an_invalid_name(tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str) -> None:
    code, _, err = run(capsys, "new", name, "--specs", str(tmp_path / "specs"))
    assert code == EXIT_SPEC
    assert repr(name) in err
    assert not (tmp_path / "specs").exists()


def test_new_refuses_an_existing_file_and_an_unknown_parent(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    specs = copy_specs(tmp_path, "openai", "groq")
    before = (specs / "groq.yaml").read_text(encoding="utf-8")
    code, _, err = run(capsys, "new", "groq", "--specs", str(specs))
    assert code == EXIT_SPEC and "already exist" in err
    assert (specs / "groq.yaml").read_text(encoding="utf-8") == before
    # a fixture skeleton in the way is refused too, and nothing is written
    (specs / "fixtures" / "acme").mkdir()
    (specs / "fixtures" / "acme" / "SOURCES.md").write_text("mine\n", encoding="utf-8")
    assert run(capsys, "new", "acme", "--specs", str(specs))[0] == EXIT_SPEC
    assert not (specs / "acme.yaml").exists()
    assert (specs / "fixtures" / "acme" / "SOURCES.md").read_text(encoding="utf-8") == "mine\n"
    code, _, err = run(capsys, "new", "beta", "--extends", "no_such_spec", "--specs", str(specs))
    assert code == EXIT_SPEC and "no_such_spec" in err
    assert not (specs / "beta.yaml").exists()


def test_new_points_schema_at_the_shipped_file_in_a_checkout_else_a_written_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(ROOT)
    builtin_line = (ROOT / "specs" / "openai.yaml").read_text(encoding="utf-8").splitlines()[0]
    assert builtin_line == f"# yaml-language-server: $schema={schema_ref(ROOT / 'specs')[0]}"
    monkeypatch.chdir(tmp_path)
    assert schema_ref(Path("specs")) == ("providerspec.schema.json", False)
    assert run(capsys, "schema", "--write", "providerspec.schema.json")[0] == EXIT_OK
    assert run(capsys, "new", "acme")[0] == EXIT_OK
    first = (tmp_path / "specs" / "acme.yaml").read_text(encoding="utf-8").splitlines()[0]
    assert first == "# yaml-language-server: $schema=../providerspec.schema.json"
    assert "/" + tmp_path.name not in (tmp_path / "specs" / "acme.yaml").read_text(encoding="utf-8")


# ---------------------------------------------------------------------------- explain


def test_explain_names_the_spec_line_of_a_mapped_an_inherited_and_an_undeclared_param(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    specs = copy_specs(tmp_path, "openai", "groq", "litellm_proxy")
    groq, openai = specs / "groq.yaml", specs / "openai.yaml"

    code, out, _ = run(capsys, "explain", "groq", "n", "--specs", str(specs))
    assert code == EXIT_OK
    assert f"→ body.n, range [1, 1]  (specs/groq.yaml:{line_of(groq, 'n:')})" in out
    assert "inherited" not in out

    out = run(capsys, "explain", "groq", "temperature", "--specs", str(specs))[1]
    assert f"→ body.temperature, range [0, 2]  (inherited from specs/openai.yaml:{line_of(openai, 'temperature:')})" in out

    out = run(capsys, "explain", "groq", "logprobs", "--specs", str(specs))[1]
    assert "unsupported: refuse" in out and f"specs/groq.yaml:{line_of(groq, 'logprobs:')}" in out

    code, out, _ = run(capsys, "explain", "groq", "no_such_param", "--specs", str(specs))
    assert code == EXIT_OK
    assert "no_such_param is not declared" in out
    assert f"unsupported: refuse, refused: an UnsupportedParamsError naming it, before any I/O (inherited from specs/openai.yaml:{line_of(openai, 'unsupported: refuse')})" in out

    # a model rule touching a param; the other mode's policy passes an undeclared one through
    proxy = specs / "litellm_proxy.yaml"
    out = run(capsys, "explain", "litellm_proxy", "prompt_cache_key", "--specs", str(specs))[1]
    assert f"model rule for claude*, gemini*, databricks*: dropped (specs/litellm_proxy.yaml:{line_of(proxy, '- models:')})" in out
    assert "litellm_proxy embeddings: prompt_cache_key is not declared" in out and "passed through" in out


def test_explain_lists_every_param_per_mode_and_refuses_an_unknown_provider(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    specs = copy_specs(tmp_path, "openai", "groq")
    code, out, _ = run(capsys, "explain", "groq", "--specs", str(specs))
    assert code == EXIT_OK
    assert out.splitlines()[0] == "groq: specs/groq.yaml, extends specs/openai.yaml"
    assert re.search(r"^chat: POST /chat/completions, format openai", out, re.M)
    assert re.search(rf"^  search_settings +→ body\.search_settings  \(specs/groq\.yaml:{line_of(specs / 'groq.yaml', 'search_settings:')}\)$", out, re.M)
    assert re.search(r"^  top_p +→ body\.top_p, range \[0, 1\]  \(inherited from specs/openai\.yaml:\d+\)$", out, re.M)
    assert "\nembeddings:" not in out  # groq removes the inherited mode
    code, _, err = run(capsys, "explain", "nope", "--specs", str(specs))
    assert code == EXIT_SPEC and "no such spec" in err


# ---------------------------------------------------------------------------- schema


def test_schema_write_and_print(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shipped = schema_path().read_text(encoding="utf-8")
    target = tmp_path / "deep" / "er" / "providerspec.schema.json"
    code, out, _ = run(capsys, "schema", "--write", str(target))
    written = json.loads(target.read_text(encoding="utf-8"))
    assert code == EXIT_OK and "wrote" in out and "$defs" not in out
    # the shipped schema, with the names a spec may use enumerated for editors
    defs = written["$defs"]
    assert set(defs) == set(json.loads(shipped)["$defs"])
    assert {"openai", "anthropic", "gemini", "ollama"} <= set(defs["mode"]["properties"]["format"]["enum"])
    assert "openai_tools_to_anthropic" in defs["param"]["properties"]["transform"]["enum"]
    assert "RateLimitError" in defs["errorRow"]["properties"]["raise"]["enum"]
    code, out, _ = run(capsys, "schema")
    assert code == EXIT_OK and json.loads(out) == written


# ---------------------------------------------------------------------------- --error-format github


def test_github_annotation_escapes_message_and_properties() -> None:
    assert github_annotation("50% done\r\nnext: a, b", file="a,b:c.yaml", line=3, col=4) == "::error file=a%2Cb%3Ac.yaml,line=3,col=4::50%25 done%0D%0Anext: a, b"
    assert github_annotation("no file") == "::error::no file"


def test_validate_github_annotations_name_file_line_and_column(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    specs = copy_specs(tmp_path, "openai", "groq")
    groq = specs / "groq.yaml"
    groq.write_text(groq.read_text(encoding="utf-8").replace("n: { range: [1, 1] }", "n: { rnage: [1, 1] }"), encoding="utf-8")
    bad = line_of(groq, "n: { rnage")
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "validate", "--error-format", "github")
    assert code == EXIT_SPEC
    assert re.fullmatch(rf"::error file=specs/groq\.yaml,line={bad},col=\d+::modes\.chat\.params\.n: unknown key 'rnage' \(did you mean 'range'\?\)\n", out)
    assert "1 error" in err
    # the default stays file:line:column on stderr
    code, out, err = run(capsys, "validate")
    assert code == EXIT_SPEC and out == "" and re.search(rf"^specs/groq\.yaml:{bad}:\d+: ", err, re.M)


def test_github_annotation_of_a_folder_and_message_needing_escapes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "my,specs"
    folder.mkdir()
    (folder / "broken.yaml").write_text("name: broken\nextends: openai\n'100%_sure': 1\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(capsys, "validate", "--specs", "my,specs", "--error-format", "github")
    assert code == EXIT_SPEC
    assert out == "::error file=my%2Cspecs/broken.yaml,line=3,col=1::(top level): unknown key '100%25_sure' (a typo?)\n"


def test_build_check_exits_1_on_a_hand_edited_output_and_annotates_its_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    copy_specs(tmp_path, "openai", "groq")
    monkeypatch.chdir(tmp_path)
    assert run(capsys, "build", "--specs", "specs", "--out", "out")[0] == EXIT_OK
    assert run(capsys, "build", "--check", "--specs", "specs", "--out", "out")[0] == EXIT_OK
    module = tmp_path / "out" / "groq.py"
    lines = module.read_text(encoding="utf-8").splitlines(keepends=True)
    edited = next(i for i, text in enumerate(lines, 1) if i > 20 and text.strip())
    lines[edited - 1] = lines[edited - 1].rstrip("\n") + "  # edited by hand\n"
    module.write_text("".join(lines), encoding="utf-8")
    code, out, _ = run(capsys, "build", "--check", "--specs", "specs", "--out", "out", "--error-format", "github")
    assert code == EXIT_STALE
    assert f"::error file=out/groq.py,line={edited}::out/groq.py is stale or was edited by hand" in out
    assert "# edited by hand" in out  # the diff is still shown
    # an invalid spec is 2, not 1
    (tmp_path / "specs" / "groq.yaml").write_text("name: groq\nextends: openai\nmodes: {chat: {params: {n: {rnage: 1}}}}\n", encoding="utf-8")
    code, out, _ = run(capsys, "build", "--check", "--specs", "specs", "--out", "out", "--error-format", "github")
    assert code == EXIT_SPEC and out.startswith("::error file=specs/groq.yaml,line=3,col=")


def test_conform_exits_3_on_a_failure_and_annotates_the_spec_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    assert run(capsys, "new", "acme")[0] == EXIT_OK
    assert run(capsys, "new", "bravo")[0] == EXIT_OK
    # bravo's transcript now says the provider documents another path than the spec declares
    transcripts = tmp_path / "specs" / "fixtures" / "bravo" / "chat" / "transcripts.yaml"
    text = transcripts.read_text(encoding="utf-8")
    assert "      path: /chat/completions\n" in text
    transcripts.write_text(text.replace("      path: /chat/completions\n", "      path: /v2/chat\n"), encoding="utf-8")
    mode = line_of(tmp_path / "specs" / "bravo.yaml", "chat:")  # the runner checks the path against the mode
    code, out, _ = run(capsys, "conform", "acme", "bravo", "--error-format", "github")
    assert code == EXIT_CONFORM != EXIT_STALE
    failures = [line for line in out.splitlines() if line.startswith("::error")]
    assert f"::error file=specs/bravo.yaml,line={mode}::bravo chat request POST path: path: expected /v2/chat, received /chat/completions" in out
    assert any(f.startswith("::error file=specs/fixtures/bravo/chat/transcripts.yaml::bravo chat request transcript requests/prefixed_model") for f in failures)
    assert all(" bravo chat " in f.replace("::", " ") for f in failures)  # the untouched scaffold passes
    assert re.search(r"^acme +chat +(?!FAIL)", out, re.M) and re.search(r"^bravo +chat +FAIL", out, re.M)


def test_conform_exits_2_on_an_unusable_transcripts_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    assert run(capsys, "new", "acme")[0] == EXIT_OK
    (tmp_path / "specs" / "fixtures" / "acme" / "chat" / "transcripts.yaml").write_text("requests:\n  x: {params: {}}\n", encoding="utf-8")
    code, out, _ = run(capsys, "conform", "acme", "--error-format", "github")
    assert code == EXIT_SPEC
    assert out == "::error file=specs/fixtures/acme/chat/transcripts.yaml,line=2,col=6::requests.x: 'expect' is a required property\n"


# ---------------------------------------------------------------------------- --help, pre-commit


@pytest.mark.parametrize("command", COMMANDS)
def test_help_says_what_a_command_reads_writes_and_exits_with(capsys: pytest.CaptureFixture[str], command: str) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "reads:" in out and "writes:" in out and "exit codes:" in out
    assert re.search(r"^  0  ", out, re.M) and re.search(r"^  2  ", out, re.M)


def test_help_exit_codes_match_the_code() -> None:
    import io
    from contextlib import redirect_stdout

    texts = {}
    for command in ["build", "conform"]:
        buf = io.StringIO()
        with redirect_stdout(buf), pytest.raises(SystemExit):
            main([command, "--help"])
        texts[command] = buf.getvalue()
    assert re.search(rf"^  {EXIT_STALE}  --check: the output is stale", texts["build"], re.M)
    assert re.search(rf"^  {EXIT_CONFORM}  a conformance check failed", texts["conform"], re.M)


def test_pre_commit_hooks() -> None:
    hooks = {h["id"]: h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))}
    assert hooks["specgen-validate"]["entry"] == "specgen validate" and hooks["specgen-validate"]["language"] == "python"
    files = re.compile(hooks["specgen-validate"]["files"])
    assert files.search("specs/groq.yaml") and files.search("specs/mine.yml")
    assert not files.search("specs/fixtures/groq/chat/transcripts.yaml")  # not a spec
    check = hooks["specgen-build-check"]
    assert check["entry"] == "specgen build --check" and check["pass_filenames"] is False and check["language"] == "python"
