from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from specgen.conform.fake import FakeProvider

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "specs" / "fixtures"


@pytest.fixture
def fake() -> Iterator[FakeProvider]:
    with FakeProvider() as server:
        yield server


def fixture_path(provider: str, mode: str, name: str) -> Path:
    return FIXTURES / provider / mode / name


def copy_specs(folder: Path, *names: str) -> Path:
    """``folder/specs`` holding the built-in specs ``names`` and their fixtures."""
    specs = folder / "specs"
    (specs / "fixtures").mkdir(parents=True)
    for name in names:
        shutil.copy(ROOT / "specs" / f"{name}.yaml", specs / f"{name}.yaml")
        if (FIXTURES / name).is_dir():
            shutil.copytree(FIXTURES / name, specs / "fixtures" / name)
    return specs


@pytest.fixture(scope="module")
def anthropic_specs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A specs folder with the anthropic spec and its fixtures alone (do not change it: copy it)."""
    return copy_specs(tmp_path_factory.mktemp("anthropic"), "anthropic")
