"""The wheel carries templates, the schema and the built-in specs, and works outside this repo."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _build(project: Path, out: Path) -> Path:
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", str(project), "-w", str(out)],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        pytest.skip(f"cannot build a wheel here: {proc.stderr[-300:]}")
    return out


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The compiler's wheel and the adapters' (``specgen-providers``, from generated/)."""
    out = _build(ROOT, tmp_path_factory.mktemp("wheel"))
    _build(ROOT / "generated", out)
    return next(out.glob("specgen-*.whl")), next(out.glob("specgen_providers-*.whl"))


def test_wheel_contents(wheels: tuple[Path, Path]) -> None:
    compiler, adapters = wheels
    names = set(zipfile.ZipFile(compiler).namelist())
    for spec in (ROOT / "specs").glob("*.yaml"):
        assert f"specgen/_data/specs/{spec.name}" in names
    for template in (ROOT / "templates").glob("*.j2"):
        assert f"specgen/_data/templates/{template.name}" in names
    assert "specgen/spec/providerspec.schema.json" in names
    assert not any(n.startswith(("specgen_providers/", "specgen_runtime/")) for n in names)  # the adapters' wheel has them
    light = set(zipfile.ZipFile(adapters).namelist())
    assert "specgen_providers/anthropic.py" in light
    assert "specgen_runtime/core.py" in light
    assert not any(n.startswith("specgen/") for n in light)
    metadata = next(n for n in light if n.endswith("/METADATA"))
    requires = [line for line in zipfile.ZipFile(adapters).read(metadata).decode().splitlines() if line.startswith("Requires-Dist:")]
    def name(req: str) -> str:
        return req.split(":", 1)[1].split(";")[0].split(">")[0].split("<")[0].split("=")[0].strip()

    # httpx and sniffio, and httptools: AsyncTransport parses HTTP/1.1 with llhttp (README)
    assert sorted(name(r) for r in requires if "extra ==" not in r) == ["httptools", "httpx", "sniffio"]
    # the cloud libraries only as extras: [aws] botocore (SigV4, eventstream), [gcp] google-auth
    extras = {name(r): r.split("extra ==", 1)[1].strip().strip("'\"") for r in requires if "extra ==" in r}
    assert extras == {"botocore": "aws", "google-auth": "gcp"}


def test_installed_wheel_builds_a_user_spec_extending_a_builtin(wheels: tuple[Path, Path], tmp_path: Path) -> None:
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site), *map(str, wheels)], check=True)
    work = tmp_path / "work"
    (work / "mine").mkdir(parents=True)
    (work / "mine" / "acme.yaml").write_text("name: acme\nextends: anthropic\nbase_url: https://acme.example\n")
    # run with the wheel first on sys.path and this checkout's source folders removed
    source_dirs = (str(ROOT / "generator"), str(ROOT / "generated"))
    prelude = f"import sys; sys.path[:] = [p for p in sys.path if p.rstrip('/') not in {source_dirs!r}]; sys.path.insert(0, {str(site)!r}); "
    build = prelude + "from specgen.cli import main; raise SystemExit(main(['build', '--specs', 'mine', '--out', 'pkg']))"
    proc = subprocess.run([sys.executable, "-c", build], cwd=work, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    use = prelude + (
        f"sys.path.insert(0, '.'); import specgen; assert specgen.__file__.startswith({str(site)!r}), specgen.__file__; "
        "import pkg.acme as a; r = a.chat.build_request({'model': 'm', 'messages': [{'role': 'user', 'content': 'x'}]}, api_key='k'); "
        "print(r.url, r.headers['anthropic-version'])"
    )
    proc = subprocess.run([sys.executable, "-c", use], cwd=work, capture_output=True, text=True)
    assert proc.stdout.strip() == "https://acme.example/v1/messages 2023-06-01", proc.stderr


def test_adapters_alone_install_light_and_call(wheels: tuple[Path, Path], tmp_path: Path) -> None:
    """A fresh venv with only the adapters' wheel: every built-in adapter imports and completes a call
    on a loopback server, and nothing of the compiler (or its dependencies) is installed."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    proc = subprocess.run([str(py), "-m", "pip", "install", "--quiet", str(wheels[1])], capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        pytest.skip(f"cannot install httpx into a fresh venv here (no package index?): {proc.stderr[-300:]}")
    listed = subprocess.run([str(py), "-m", "pip", "list", "--format=freeze"], capture_output=True, text=True, check=True).stdout
    names = {line.split("==")[0].lower() for line in listed.splitlines()}
    build_side = {"specgen", "pyyaml", "jinja2", "jsonschema", "hypothesis", "datamodel-code-generator", "pydantic", "black", "isort"}
    assert not names & build_side, names & build_side
    assert {"specgen-providers", "httpx", "sniffio", "httptools"} <= names
    script = (
        "import importlib, pathlib, specgen_providers\n"
        "mods = [p.stem for p in pathlib.Path(specgen_providers.__file__).parent.glob('*.py') if p.stem != '__init__']\n"
        "for m in mods: importlib.import_module('specgen_providers.' + m)\n"
        "import sys; assert 'yaml' not in sys.modules and 'jinja2' not in sys.modules\n"
        "import http.server, json, threading\n"
        "class H(http.server.BaseHTTPRequestHandler):\n"
        "    def do_POST(self):\n"
        "        self.rfile.read(int(self.headers['content-length']))\n"
        "        body = json.dumps({'id': 'x', 'object': 'chat.completion', 'created': 1, 'model': 'm', 'choices': [{'index': 0, 'message': {'role': 'assistant', 'content': 'hi'}, 'finish_reason': 'stop'}]}).encode()\n"
        "        self.send_response(200); self.send_header('content-type', 'application/json'); self.send_header('content-length', str(len(body))); self.end_headers(); self.wfile.write(body)\n"
        "    def log_message(self, *a): pass\n"
        "s = http.server.HTTPServer(('127.0.0.1', 0), H); threading.Thread(target=s.serve_forever, daemon=True).start()\n"
        "from specgen_providers import openai\n"
        "with openai.Client(api_key='k', base_url=f'http://127.0.0.1:{s.server_port}/v1', max_retries=0) as c:\n"
        "    print(len(mods), c.chat(model='m', messages=[{'role': 'user', 'content': 'x'}]).choices[0].message.content)\n"
    )
    run = subprocess.run([str(py), "-c", script], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    count, text = run.stdout.split()
    assert int(count) >= 8 and text == "hi"


PLUGIN_WIRE = '''"""A plug-in wire: a text-completion API (prompt in, output out)."""
from typing import Any

NAME = "acmetext"
MODES = frozenset({"chat"})
STREAMS = False
PASSTHROUGH = False
RESPONSE_DEFAULTS: dict[str, str] = {}
CHOICE_PREFIX = ""
PARAMS_ROOT: dict[str, tuple[str, ...]] = {}


def chat_request(body: dict[str, Any], messages: Any) -> None:
    body["prompt"] = "\\n".join(str(m.get("content") or "") for m in messages)


def chat_finalize(body: dict[str, Any]) -> None:
    return None


def chat_choices(data: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any], int]]:
    return [(data, {"role": "assistant", "content": data["output"]}, 0)]
'''

PLUGIN_INIT = '''"""The project's specgen plug-in: one wire, one transform."""
from typing import Any

from specgen_runtime import wires
from specgen_runtime.transforms import transform

wires.register("acmeplug.textwire")


@transform(sample="hi")
def shout(value: Any) -> str:
    """The value in capitals."""
    return str(value).upper()
'''

PLUGIN_SPEC = """name: acme
model_naming: acme/<model>
base_url: https://acme.example
env: { api_key: ACME_API_KEY }
auth: { type: bearer }
modes:
  chat:
    endpoint: { method: POST, path: /generate }
    format: acmetext
    params:
      tag: { to: tag, transform: shout }
    response:
      id: id
      finish_reason: { from: stop, map: { done: stop } }
      usage: { prompt_tokens: n_in, completion_tokens: n_out }
errors:
  table:
    - { status: 400, raise: BadRequestError }
"""

PLUGIN_TRANSCRIPTS = """requests:
  basic:
    doc: the plug-in's own documentation
    params: { model: acme/m1, messages: [{ role: user, content: Hi }], tag: x }
    expect:
      method: POST
      path: /generate
      headers: { authorization: "Bearer $API_KEY" }
      body: { model: m1, prompt: Hi, tag: X }
responses:
  response.json:
    expect: { id: g1, choices: [{ message: { content: Hello }, finish_reason: stop }], usage: { prompt_tokens: 3, completion_tokens: 1 } }
errors:
  error_400.json: { status: 400, expect: { raise: BadRequestError } }
"""


def test_plugin_wire_and_transform_from_a_wheel_install(wheels: tuple[Path, Path], tmp_path: Path) -> None:
    """A project outside this repo names a plug-in in its pyproject.toml: its wire and transform
    build and pass conformance with specgen installed from its wheels."""
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site), *map(str, wheels)], check=True)
    work = tmp_path / "proj"
    (work / "acmeplug").mkdir(parents=True)
    (work / "pyproject.toml").write_text('[project]\nname = "acme"\nversion = "1"\n\n[tool.specgen]\nplugins = ["acmeplug"]\n')
    (work / "acmeplug" / "__init__.py").write_text(PLUGIN_INIT)
    (work / "acmeplug" / "textwire.py").write_text(PLUGIN_WIRE)
    fixtures = work / "specs" / "fixtures" / "acme" / "chat"
    fixtures.mkdir(parents=True)
    (work / "specs" / "acme.yaml").write_text(PLUGIN_SPEC)
    (fixtures / "transcripts.yaml").write_text(PLUGIN_TRANSCRIPTS)
    (fixtures / "response.json").write_text('{"id": "g1", "output": "Hello", "stop": "done", "n_in": 3, "n_out": 1}')
    (fixtures / "error_400.json").write_text('{"error": {"message": "bad prompt"}}')
    source_dirs = (str(ROOT / "generator"), str(ROOT / "generated"))
    prelude = f"import sys; sys.path[:] = [p for p in sys.path if p.rstrip('/') not in {source_dirs!r}]; sys.path.insert(0, {str(site)!r}); "
    for argv in (["build", "--specs", "specs", "--out", "pkg/acme_adapters"], ["conform", "--specs", "specs"]):
        code = prelude + f"from specgen.cli import main; raise SystemExit(main({argv!r}))"
        proc = subprocess.run([sys.executable, "-c", code], cwd=work, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "0 failed" in proc.stdout and "acme" in proc.stdout
    generated = (work / "pkg" / "acme_adapters" / "acme.py").read_text()
    assert "import acmeplug.textwire as _p_acmeplug_textwire" in generated
    assert "import acmeplug as _p_acmeplug" in generated
    # a spec naming a wire no plug-in registered is refused, and names the file and line
    (work / "specs" / "acme.yaml").write_text(PLUGIN_SPEC.replace("format: acmetext", "format: acmetxt"))
    code = prelude + "from specgen.cli import main; raise SystemExit(main(['validate', '--specs', 'specs']))"
    proc = subprocess.run([sys.executable, "-c", code], cwd=work, capture_output=True, text=True)
    assert proc.returncode == 2 and "acme.yaml:9:13" in proc.stdout + proc.stderr and "did you mean 'acmetext'" in proc.stdout + proc.stderr


def test_audit_runs_from_the_wheel_outside_the_repo(wheels: tuple[Path, Path], tmp_path: Path) -> None:
    """The LiteLLM reference snapshot ships in the wheel (with its date and LiteLLM version), so
    `specgen audit --specs mine/` works in a folder that has no checklist of its own."""
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site), *map(str, wheels)], check=True)
    assert (site / "specgen" / "_data" / "litellm_reference.json").is_file()
    work = tmp_path / "work"
    (work / "mine").mkdir(parents=True)
    (work / "mine" / "acme.yaml").write_text("name: acme\nextends: anthropic\nmodel_naming: acme/<model>\nbase_url: https://acme.example\n")
    source_dirs = (str(ROOT / "generator"), str(ROOT / "generated"))
    prelude = f"import sys; sys.path[:] = [p for p in sys.path if p.rstrip('/') not in {source_dirs!r}]; sys.path.insert(0, {str(site)!r}); "
    code = prelude + "from specgen.cli import main; raise SystemExit(main(['audit', '--specs', 'mine', '--out', 'chk']))"
    proc = subprocess.run([sys.executable, "-c", code], cwd=work, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-1500:] + proc.stderr[-1500:]
    checklist = (work / "chk" / "LITELLM_PROVIDER_CHECKLIST.md").read_text(encoding="utf-8")
    assert "reference snapshot, synced 20" in checklist and "acme" in checklist
