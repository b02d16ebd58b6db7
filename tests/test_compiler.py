"""The compiler as a CI citizen: errors with file:line:column, atomic writes, --check, incremental, extends."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from specgen.build.compiler import build
from specgen.cli import main
from specgen.spec.errors import SpecErrors
from specgen.spec.resolve import load_specs

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"

MINIMAL = """\
name: {name}
base_url: https://api.example.com/v1
auth: {{ type: bearer, env: EXAMPLE_KEY }}
modes:
  chat:
    endpoint: {{ path: /chat/completions }}
    params:
      temperature: {{ range: [0, 2] }}
"""


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())} if folder.exists() else {}


def errors_of(specs: Path) -> list[str]:
    with pytest.raises(SpecErrors) as info:
        load_specs(specs)
    return [str(e) for e in info.value.errors]


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        (MINIMAL.format(name="p").replace("endpoint:", "endpont:"), "specs/p.yaml:6:5", "unknown key 'endpont'"),
        (MINIMAL.format(name="p") + "    unsupported: maybe\n", "specs/p.yaml:9:18", "maybe"),
        (MINIMAL.format(name="p").replace("range: [0, 2]", "range: [0, 2], transform: nope"), "specs/p.yaml:8:48", "unknown transform 'nope'"),
        (MINIMAL.format(name="p") + "errors:\n  table:\n    - { status: 400, raise: NoSuchError }\n", "specs/p.yaml:11:29", "unknown error class 'NoSuchError'"),
        (MINIMAL.format(name="p").replace("/chat/completions", "'/{deployment}/chat'"), "specs/p.yaml:6:23", "{deployment} has no source"),
        (MINIMAL.format(name="p").replace("temperature: { range: [0, 2] }", "temperature: {}\n      top_p: { to: temperature }"), "specs/p.yaml:9:16", "both write 'temperature'"),
        (MINIMAL.format(name="p").replace("base_url: https", "base_url: https\nbase_url: https"), "specs/p.yaml:3:1", "duplicate key 'base_url'"),
        (MINIMAL.format(name="p") + "    format: cohere\n", "specs/p.yaml:9:13", "unknown wire 'cohere'"),
        (MINIMAL.format(name="q"), "specs/p.yaml:1:7", "must match the file name"),
        ("name: p\nmodes: [\n", "specs/p.yaml:3:1", "invalid YAML"),
        (MINIMAL.format(name="p").replace("type: bearer", "type: header"), "specs/p.yaml:3:1", "needs header"),
        (MINIMAL.format(name="p") + "headers: { X-Team: a, x-team: b }\n", "specs/p.yaml:9:23", "header names ignore case"),
        (MINIMAL.format(name="p") + "headers: { Authorization: Basic x }\n", "specs/p.yaml:9:12", "written by auth"),
        (MINIMAL.format(name="p") + "headers: { X-Key: x }\n".replace("X-Key", "X-Key: b, X-KEY"), "specs/p.yaml:9:", "ignore case"),
    ],
)
def test_spec_errors_name_file_line_column(tmp_path: Path, text: str, where: str, message: str) -> None:
    specs = tmp_path / "specs"
    write(specs, "p", text)
    errs = errors_of(specs)
    assert any(e.startswith(where) and message in e for e in errs), errs


def test_header_names_are_case_insensitive(tmp_path: Path) -> None:
    """A spec's Content-Type and a caller's extra_headers replace the adapter's own header, never add a twin."""
    specs, out = tmp_path / "specs", tmp_path / "out"
    write(specs, "hdr", MINIMAL.format(name="hdr") + "headers: { Content-Type: application/vnd.x+json }\n")
    build(specs, out)
    sys.path.insert(0, str(tmp_path))
    try:
        import importlib

        module = importlib.import_module("out.hdr")
        request = module.chat.build_request(
            {"model": "m", "messages": [{"role": "user", "content": "hi"}], "extra_headers": {"X-Trace": "1", "x-trace": "2"}},
            api_key="k",
        )
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m == "out" or m.startswith("out.")]:
            del sys.modules[name]
    assert request.headers.get_list("content-type") == ["application/vnd.x+json"]
    assert request.headers.get_list("x-trace") == ["2"]


def test_broken_spec_exits_2_and_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    specs, out = tmp_path / "specs", tmp_path / "out"
    write(specs, "good", MINIMAL.format(name="good"))
    assert main(["build", "--specs", str(specs), "--out", str(out)]) == 0
    before = snapshot(out)
    write(specs, "good", MINIMAL.format(name="good").replace("range: [0, 2]", "range: [0, 3]"))
    write(specs, "bad", MINIMAL.format(name="bad").replace("endpoint:", "endpont:"))
    assert main(["build", "--specs", str(specs), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "specs/bad.yaml:6:5: modes.chat: unknown key 'endpont'" in err
    assert "Traceback" not in err
    assert snapshot(out) == before


def test_cli_validate_reports_and_exits_2(tmp_path: Path) -> None:
    specs = tmp_path / "specs"
    write(specs, "bad", "name: bad\nmodes: {}\nbase_url: 3\n")
    proc = subprocess.run([sys.executable, "-m", "specgen", "validate", str(specs / "bad.yaml")], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.startswith("specs/bad.yaml:")
    assert "Traceback" not in proc.stderr


def test_check_detects_stale_and_hand_edits(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    specs, out = tmp_path / "specs", tmp_path / "out"
    write(specs, "good", MINIMAL.format(name="good"))
    assert main(["build", "--specs", str(specs), "--out", str(out)]) == 0
    assert main(["build", "--specs", str(specs), "--out", str(out), "--check"]) == 0
    module = out / "good.py"
    module.write_text(module.read_text().replace('"temperature", v, 0, 2', '"temperature", v, 0, 9'))
    capsys.readouterr()
    assert main(["build", "--specs", str(specs), "--out", str(out), "--check"]) == 1
    diff = capsys.readouterr().out
    assert '-        _rt.check_range(PROVIDER, model, "temperature", v, 0, 9)' in diff or "0, 9" in diff
    assert main(["build", "--specs", str(specs), "--out", str(out)]) == 0  # a build repairs the hand edit
    assert main(["build", "--specs", str(specs), "--out", str(out), "--check"]) == 0


def test_incremental_and_deterministic(tmp_path: Path) -> None:
    specs, out, out2 = tmp_path / "specs", tmp_path / "out", tmp_path / "out2"
    write(specs, "a", MINIMAL.format(name="a"))
    write(specs, "b", MINIMAL.format(name="b"))
    first = build(specs, out)
    assert sorted(first.written) == ["__init__.py", "_index.py", "a.py", "b.py", "py.typed"]
    second = build(specs, out)
    assert second.written == [] and sorted(second.unchanged) == ["a.py", "b.py"]
    write(specs, "b", MINIMAL.format(name="b").replace("range: [0, 2]", "range: [0, 1]"))
    third = build(specs, out)
    assert third.written == ["b.py"]
    build(specs, out2)
    assert snapshot(out) == snapshot(out2)  # byte-identical, no timestamps


def test_removed_spec_removes_its_module(tmp_path: Path) -> None:
    specs, out = tmp_path / "specs", tmp_path / "out"
    write(specs, "a", MINIMAL.format(name="a"))
    write(specs, "b", MINIMAL.format(name="b"))
    build(specs, out)
    (specs / "b.yaml").unlink()
    result = build(specs, out)
    assert result.removed == ["b.py"] and not (out / "b.py").exists()
    assert "'b'" not in (out / "__init__.py").read_text()


def test_generated_header_and_spec_line_comments() -> None:
    text = (ROOT / "generated" / "specgen_providers" / "anthropic.py").read_text()
    assert text.splitlines()[0] == "# Code generated by specgen from specs/anthropic.yaml. DO NOT EDIT."
    lines = (SPECS / "anthropic.yaml").read_text().splitlines()
    ln = next(i for i, line in enumerate(lines, 1) if line.strip().startswith("stop: { to: stop_sequences"))
    assert f"# specs/anthropic.yaml:{ln} params.stop" in text


def test_builtin_check_is_clean() -> None:
    result = build(SPECS, ROOT / "generated" / "specgen_providers", check=True)
    assert not result.stale, result.stale_diff[:2000]


def test_extends_merge_removal_and_cycles(tmp_path: Path) -> None:
    specs = tmp_path / "specs"
    write(specs, "child", "name: child\nextends: openai\nbase_url: https://child.example/v1\nmodes:\n  embeddings: ~\n  chat:\n    params:\n      logprobs: { unsupported: refuse }\n")
    (spec,) = load_specs(specs)
    chat = spec.data["modes"]["chat"]
    assert "embeddings" not in spec.data["modes"]
    assert dict(chat["params"]["logprobs"]) == {"unsupported": "refuse"}
    assert chat["params"]["temperature"] == {"range": [0, 2]}  # inherited from the built-in openai spec
    assert chat["params"].where("logprobs").file == "specs/child.yaml"
    assert chat["params"].where("temperature").file == "specs/openai.yaml"
    write(specs, "x", "name: x\nextends: y\n")
    write(specs, "y", "name: y\nextends: x\n")
    errs = errors_of(specs)
    assert any("extends cycle" in e for e in errs)


def test_a_child_never_inherits_who_the_provider_is_or_where_its_key_comes_from(tmp_path: Path) -> None:
    """A child of openai that names no env variables reads none of openai's (OPENAI_API_KEY,
    OPENAI_BASE_URL): another provider's key must never go to where OPENAI_BASE_URL points. Nor
    does it take openai's display name, docs, model prefix, aliases or known models."""
    from specgen.build.ir import build_ir

    specs = tmp_path / "specs"
    write(specs, "child", "name: child\nextends: openai\nbase_url: https://child.example/v1\n")
    write(specs, "kid", "name: kid\nextends: child\nenv: { api_key: KID_KEY }\naliases: [kiddo]\nmodels: { known: [{id: k1}] }\n")
    write(specs, "grandkid", "name: grandkid\nextends: kid\n")
    ir = {s.name: build_ir(s) for s in load_specs(specs)}
    child = ir["child"]
    assert child.api_key_env == [] and child.base_url_env == [] and child.model_prefix is None
    assert child.docs == [] and child.display_name == "child" and child.models == []
    assert ir["kid"].api_key_env == ["KID_KEY"] and [m["id"] for m in ir["kid"].models] == ["k1"]
    spec = {s.name: s for s in load_specs(specs)}
    assert spec["kid"].aliases == ["kiddo"] and spec["grandkid"].aliases == [] and ir["grandkid"].api_key_env == []
    assert ir["grandkid"].models == [] and "temperature" in {p.name for p in ir["grandkid"].modes[0].params}


def test_user_spec_outside_repo_extends_builtin(tmp_path: Path) -> None:
    specs, out = tmp_path / "mine", tmp_path / "pkg"
    write(specs, "acme", "name: acme\nextends: openai\nbase_url: https://acme.example/v1\nauth: { type: header, header: X-Acme-Key, env: ACME_KEY }\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-m", "specgen", "build", "--specs", str(specs), "--out", str(out)], cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    code = "import pkg.acme as a, json; r = a.chat.build_request({'model': 'm', 'messages': [{'role': 'user', 'content': 'x'}]}, api_key='k'); print(r.url, r.headers['x-acme-key'])"
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert proc.stdout.strip() == "https://acme.example/v1/chat/completions k", proc.stderr


def test_adapter_import_does_not_import_build_side() -> None:
    code = "import sys, specgen_providers.gemini, specgen_providers.anthropic; bad = [m for m in ('jinja2', 'yaml', 'jsonschema', 'datamodel_code_generator', 'specgen.build', 'specgen.spec') if m in sys.modules]; print(bad)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.stdout.strip() == "[]", proc.stderr


def test_wire_types_render_through_datamodel_code_generator(tmp_path: Path) -> None:
    specs, out = tmp_path / "specs", tmp_path / "out"
    write(specs, "typed", MINIMAL.format(name="typed") + "types:\n  WireUsage:\n    type: object\n    required: [input_tokens]\n    properties:\n      input_tokens: { type: integer }\n      note: { type: string }\n")
    build(specs, out)
    text = (out / "typed.py").read_text()
    assert "class WireUsage(TypedDict):" in text
    assert "input_tokens: int" in text
    compile(text, "typed.py", "exec")


def test_mypy_strict_on_generated() -> None:
    if shutil.which("mypy") is None and not (Path(sys.executable).parent / "mypy").exists():
        pytest.skip("mypy not installed")
    mypy = str(Path(sys.executable).parent / "mypy") if (Path(sys.executable).parent / "mypy").exists() else "mypy"
    proc = subprocess.run([mypy, "--strict", "--no-incremental", str(ROOT / "generated" / "specgen_providers" / "gemini.py")], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout
