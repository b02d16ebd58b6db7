"""The wheel carries templates, the schema and the built-in specs, and works outside this repo."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", str(ROOT), "-w", str(out)],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        pytest.skip(f"cannot build a wheel here: {proc.stderr[-300:]}")
    return next(out.glob("specgen-*.whl"))


def test_wheel_contents(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for spec in (ROOT / "specs").glob("*.yaml"):
        assert f"specgen/_data/specs/{spec.name}" in names
    for template in (ROOT / "templates").glob("*.j2"):
        assert f"specgen/_data/templates/{template.name}" in names
    assert "specgen/spec/providerspec.schema.json" in names
    assert "specgen_providers/anthropic.py" in names


def test_installed_wheel_builds_a_user_spec_extending_a_builtin(wheel: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site), str(wheel)], check=True)
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
