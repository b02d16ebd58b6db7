from __future__ import annotations

import functools
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


#: the parts of a mode that decide how an adapter reads the provider's answers (everything but the
#: request side: params, message transforms, the endpoint, model rules, the unsupported policy)
_REQUEST_SIDE = {"params", "messages_transform", "endpoint", "model_rules", "unsupported"}
_WIRE_FILES = ("*.json", "*.sse", "*.ndjson", "*.txt", "*.html", "*.bin")


def _plain(value: object) -> object:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _reading_side(data: object, modes_of: object = None) -> object:
    """The reading side of ``data``, for the modes ``modes_of`` has (default: its own)."""
    assert isinstance(data, dict)
    modes = data.get("modes") or {}
    wanted = (modes_of if isinstance(modes_of, dict) else data).get("modes") or {}
    return _plain(
        {
            "modes": {m: {k: v for k, v in (modes.get(m) or {}).items() if k not in _REQUEST_SIDE} if m in modes else None for m in wanted},
            "errors": data.get("errors"),
        }
    )


@functools.cache
def own_reading_providers() -> tuple[str, ...]:
    """The built-in providers whose response, stream and error reading is their own: a spec with no
    parent, one that declares the reading side differently from its parent, or one with recorded
    wire files of its own. A child that only changes the request side reads answers with exactly
    its parent's generated code, so tests of recorded answers run on the parent, once (the child's
    own declarations are checked by `specgen conform`)."""
    from specgen.spec.resolve import load_specs

    specs = {s.name: s for s in load_specs(ROOT / "specs")}
    chosen = []
    for name, spec in sorted(specs.items()):
        parent = spec.sources[1].stem if len(spec.sources) > 1 else None
        folder = FIXTURES / name
        own_files = folder.is_dir() and any(next(folder.rglob(g), None) for g in _WIRE_FILES)
        if parent is None or parent not in specs or own_files or _reading_side(spec.data) != _reading_side(specs[parent].data, spec.data):
            chosen.append(name)
    return tuple(chosen)
