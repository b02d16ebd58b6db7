"""The no-op build: `specgen build` when nothing changed answers from the manifest alone, and
every change it could miss still rebuilds (each case compared with a fresh --force build)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from specgen.build.manifest import MANIFEST
from specgen.cli import main

ROOT = Path(__file__).resolve().parent.parent

BASE = """\
name: base
base_url: https://api.example.com/v1
auth: { type: bearer }
env: { api_key: EXAMPLE_KEY }
modes:
  chat:
    endpoint: { path: /chat/completions }
    format: openai
    params:
      temperature: { range: [0, 2] }
"""
CHILD = """\
name: child
extends: base
base_url: https://child.example.com/v1
"""
GRANDCHILD = """\
name: grandchild
extends: child
env: { api_key: GRANDCHILD_KEY }
"""


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())} if folder.exists() else {}


def build(specs: Path, out: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> str:
    capsys.readouterr()
    assert main(["build", "--specs", str(specs), "--out", str(out), *extra]) == 0
    return capsys.readouterr().out


def fresh(specs: Path, tmp: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> dict[str, bytes]:
    """What a from-scratch build of ``specs`` writes."""
    out = tmp / "fresh"
    shutil.rmtree(out, ignore_errors=True)
    build(specs, out, capsys, "--force", *extra)
    return snapshot(out)


@pytest.fixture
def project(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[Path, Path]:
    specs = tmp_path / "specs"
    write(specs, "base", BASE)
    write(specs, "child", CHILD)
    write(specs, "grandchild", GRANDCHILD)
    out = tmp_path / "out" / "pkg"
    first = build(specs, out, capsys)
    assert "6 written" in first  # three modules, __init__.py, _index.py, py.typed
    return specs, out


def test_noop_build_changes_nothing_and_loads_nothing(project: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    specs, out = project
    before = snapshot(out)
    assert build(specs, out, capsys) == "0 written, 3 unchanged, 0 removed\n"
    assert snapshot(out) == before
    code = (
        "import sys; from specgen.cli import main; rc = main(sys.argv[1:]);"
        "heavy = sorted(m for m in ('yaml', 'jinja2', 'jsonschema', 'httpx', 'datamodel_code_generator', 'specgen.build.compiler') if m in sys.modules);"
        "print(heavy); raise SystemExit(rc)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, "build", "--specs", str(specs), "--out", str(out)],
        capture_output=True, text=True, check=True,
    )
    assert proc.stdout.splitlines() == ["0 written, 3 unchanged, 0 removed", "[]"]


@pytest.mark.parametrize(
    ("change", "rebuilt"),
    [
        ("edit_spec", ["grandchild.py"]),
        ("edit_parent", ["child.py", "grandchild.py"]),
        ("edit_grandparent", ["base.py", "child.py", "grandchild.py"]),
        ("hand_edit_module", ["child.py"]),
        ("delete_module", ["child.py"]),
        ("hand_edit_init", ["__init__.py"]),
        ("hand_edit_index", ["_index.py"]),
        ("delete_py_typed", ["py.typed"]),
        ("add_spec", ["extra.py", "__init__.py", "_index.py"]),
        ("corrupt_manifest", []),
        ("delete_manifest", []),
    ],
)
def test_every_change_rebuilds(
    project: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], change: str, rebuilt: list[str]
) -> None:
    specs, out = project
    if change == "edit_spec":
        write(specs, "grandchild", GRANDCHILD + "display_name: Grand\n")
    elif change == "edit_parent":
        write(specs, "child", CHILD.replace("child.example.com", "child2.example.com"))
    elif change == "edit_grandparent":
        write(specs, "base", BASE.replace("range: [0, 2]", "range: [0, 1]"))
    elif change == "hand_edit_module":
        (out / "child.py").write_text((out / "child.py").read_text() + "# hand edit\n")
    elif change == "delete_module":
        (out / "child.py").unlink()
    elif change == "hand_edit_init":
        (out / "__init__.py").write_text("# hand edit\n")
    elif change == "hand_edit_index":
        (out / "_index.py").write_text("# hand edit\n")
    elif change == "delete_py_typed":
        (out / "py.typed").unlink()
    elif change == "add_spec":
        write(specs, "extra", CHILD.replace("name: child", "name: extra"))
    elif change == "corrupt_manifest":
        (out / MANIFEST).write_text("{ not json")
    elif change == "delete_manifest":
        (out / MANIFEST).unlink()
    said = build(specs, out, capsys)
    assert [line.split("/")[-1] for line in said.splitlines() if line.startswith("rebuilt")] == rebuilt
    assert snapshot(out) == fresh(specs, tmp_path, capsys)
    assert build(specs, out, capsys).startswith("0 written")  # and then it is a no-op again


def test_removed_spec_removes_its_module(project: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    specs, out = project
    (specs / "grandchild.yaml").unlink()
    assert "removed" in build(specs, out, capsys)
    assert snapshot(out) == fresh(specs, tmp_path, capsys)


def test_stray_generated_module_is_removed(project: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    specs, out = project
    (out / "stray.py").write_text((out / "child.py").read_text())
    assert "removed" in build(specs, out, capsys)
    assert not (out / "stray.py").exists()


def test_template_override_added_changed_and_removed(project: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    specs, out = project
    override = tmp_path / "templates"
    override.mkdir()
    builtin = (ROOT / "templates" / "init.py.j2").read_text()
    (override / "init.py.j2").write_text("# my init\n" + builtin)
    said = build(specs, out, capsys, "--templates", str(override))
    assert "__init__.py" in said and (out / "__init__.py").read_text().startswith("# my init")
    assert build(specs, out, capsys, "--templates", str(override)).startswith("0 written")
    (override / "init.py.j2").write_text("# my init, edited\n" + builtin)
    assert "__init__.py" in build(specs, out, capsys, "--templates", str(override))
    assert (out / "__init__.py").read_text().startswith("# my init, edited")
    assert snapshot(out) == fresh(specs, tmp_path, capsys, "--templates", str(override))
    assert "__init__.py" in build(specs, out, capsys)  # without the override: back to the built-in template
    assert snapshot(out) == fresh(specs, tmp_path, capsys)


def test_a_new_parent_beside_the_spec_shadows_the_builtin(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    specs = tmp_path / "mine"
    write(specs, "mygroq", "name: mygroq\nextends: openai\nbase_url: https://my.example.com/v1\n")
    out = tmp_path / "pkg"
    build(specs, out, capsys)
    assert build(specs, out, capsys).startswith("0 written")
    local = (ROOT / "specs" / "openai.yaml").read_text().replace("https://api.openai.com/v1", "https://openai.example.com/v1")
    write(specs, "openai", local)  # now `extends: openai` finds this one first
    said = build(specs, out, capsys)
    assert "mygroq.py" in said and "openai.py" in said
    assert snapshot(out) == fresh(specs, tmp_path, capsys)


def test_only_is_a_noop_too_and_keeps_the_others(project: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    specs, out = project
    before = snapshot(out)
    assert build(specs, out, capsys, "--only", "child") == "0 written, 1 unchanged, 0 removed\n"
    write(specs, "child", CHILD.replace("child.example.com", "child3.example.com"))
    said = build(specs, out, capsys, "--only", "child")
    assert "child.py" in said and "grandchild.py" not in said
    after = snapshot(out)
    assert after["grandchild.py"] == before["grandchild.py"] and after["child.py"] != before["child.py"]
    assert "grandchild.py" in build(specs, out, capsys)  # the full build catches up the child's child


def test_manifest_names_no_machine_paths(project: tuple[Path, Path]) -> None:
    _, out = project
    text = (out / MANIFEST).read_text()
    assert str(out.parent.parent) not in text
    data = json.loads(text)
    assert data["modules"]["grandchild"]["extends"] == ["child", "base"]
    assert data["init"]["providers"] == ["base", "child", "grandchild"]


def test_build_side_does_not_import_httpx() -> None:
    code = "import sys, specgen.build.compiler, specgen.spec.resolve; print('httpx' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "False\n"


@pytest.mark.skipif(not hasattr(__import__("yaml"), "CSafeLoader"), reason="PyYAML without libyaml")
def test_libyaml_and_pyyaml_load_the_same_trees_and_locations(monkeypatch: pytest.MonkeyPatch) -> None:
    import yaml

    from specgen.spec import loader

    def tree(node: object) -> object:
        if isinstance(node, loader.Node):
            return (str(node.loc), [(k, str(node.where(k)), str(node.where_value(k)), tree(v)) for k, v in node.items()])
        if isinstance(node, loader.NodeList):
            return (str(node.loc), [str(loc) for loc in node.item_locs], [tree(v) for v in node])
        return node

    files = sorted((ROOT / "specs").glob("*.yaml")) + sorted((ROOT / "specs" / "fixtures").rglob("*.yaml"))
    assert files
    for path in files:
        fast = tree(loader.load_yaml(path, "specs/x.yaml"))
        monkeypatch.setattr(loader, "_YAML_LOADER", yaml.SafeLoader)
        assert tree(loader.load_yaml(path, "specs/x.yaml")) == fast, path.name
        monkeypatch.undo()
