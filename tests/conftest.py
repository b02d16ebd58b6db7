from __future__ import annotations

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
