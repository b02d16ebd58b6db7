"""The runtime's interface to generated code is declared: every name a generated module takes from
``specgen_runtime`` is public (in its module's ``__all__``), and a module built for another
interface version refuses to import, saying what to do."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

import specgen_runtime

ROOT = Path(__file__).resolve().parent.parent
GENERATED = sorted(p for p in (ROOT / "generated" / "specgen_providers").glob("*.py") if not p.stem.startswith("_"))  # __init__, _index: the package's own


def _runtime_names(tree: ast.Module) -> set[tuple[str, str]]:
    """(runtime module, name) for every name the module takes from ``specgen_runtime``."""
    aliases: dict[str, str] = {}
    used: set[tuple[str, str]] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("specgen_runtime"):
                    aliases[a.asname or a.name] = a.name
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("specgen_runtime"):
            used.update((str(node.module), a.name) for a in node.names)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases:
            used.add((aliases[node.value.id], node.attr))
    return used


@pytest.mark.parametrize("path", GENERATED, ids=[p.stem for p in GENERATED])
def test_every_runtime_name_a_generated_module_uses_is_public(path: Path) -> None:
    used = _runtime_names(ast.parse(path.read_text(encoding="utf-8")))
    assert used, f"{path.name} takes nothing from the runtime?"
    private = sorted(f"{m}.{n}" for m, n in used if n not in getattr(importlib.import_module(m), "__all__", ()))
    assert private == [], f"{path.name} uses runtime names outside __all__: {private}"


def test_a_module_built_for_another_interface_refuses_to_import(tmp_path: Path) -> None:
    source = (ROOT / "generated" / "specgen_providers" / "groq.py").read_text(encoding="utf-8")
    version = specgen_runtime.INTERFACE
    assert f'getattr(_runtime, "INTERFACE", None) != {version}:' in source
    other = source.replace(f'getattr(_runtime, "INTERFACE", None) != {version}:', f'getattr(_runtime, "INTERFACE", None) != {version + 1}:')
    (tmp_path / "old_adapter.py").write_text(other.replace(f"interface {version}", f"interface {version + 1}"))
    proc = subprocess.run([sys.executable, "-c", "import old_adapter"], cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode != 0
    assert "ImportError" in proc.stderr and f"interface {version + 1}" in proc.stderr and "rebuild it with `specgen build`" in proc.stderr


def test_typed_params_catch_a_misspelt_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """chat() and embeddings() take the spec's params as typed keywords: mypy completes and checks them."""
    mypy_api = pytest.importorskip("mypy.api")
    good = tmp_path / "good.py"
    good.write_text(
        "from specgen_providers import anthropic, openai\n"
        "c = anthropic.Client(api_key='k')\n"
        "r = c.chat(model='m', messages=[{'role': 'user', 'content': 'x'}], temperature=0.5, stop=['END'])\n"
        "e = openai.Client(api_key='k').embeddings(model='m', input='x', dimensions=8)\n"
        "from specgen_providers import text_completion_codestral\n"
        "t = text_completion_codestral.Client(api_key='k').completions(model='m', prompt='def', suffix='x', seed=1)\n"
        "print(t.choices[0].text)\n"
    )
    bad = tmp_path / "bad.py"
    bad.write_text(
        "from specgen_providers import anthropic\n"
        "anthropic.Client(api_key='k').chat(model='m', messages=[], temprature=0.5)\n"
        "anthropic.Client(api_key='k').chat(model='m', messages=[], temperature='hot')\n"
        "from specgen_providers import text_completion_codestral\n"
        "text_completion_codestral.Client(api_key='k').completions(model='m', prompt='x', sufix='y')\n"
    )
    args = ["--no-incremental", "--python-version", "3.11", "--ignore-missing-imports", "--config-file", ""]
    monkeypatch.setenv("MYPYPATH", str(ROOT / "generated"))
    out, _err, code = mypy_api.run([*args, str(good)])
    assert code == 0, out
    out, _err, code = mypy_api.run([*args, str(bad)])
    assert code == 1 and 'Unexpected keyword argument "temprature"' in out and 'did you mean "temperature"' in out, out
    assert "bad.py:3: error" in out, out  # temperature="hot": not a float
    assert 'Unexpected keyword argument "sufix"' in out, out  # completions() is typed the same way
