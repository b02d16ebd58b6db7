"""Where the shipped data lives: in the wheel (``specgen/_data``) or in a source checkout."""

from __future__ import annotations

from pathlib import Path

_PKG = Path(__file__).resolve().parent
_REPO = _PKG.parent.parent  # generator/specgen → repo root in a checkout


def _data_dir(name: str) -> Path:
    packaged = _PKG / "_data" / name
    if packaged.is_dir():
        return packaged
    return _REPO / name


def builtin_specs_dir() -> Path:
    return _data_dir("specs")


def templates_dir() -> Path:
    return _data_dir("templates")


def schema_path() -> Path:
    return _PKG / "spec" / "providerspec.schema.json"


def builtin_reference() -> Path:
    """The LiteLLM reference snapshot shipped with specgen (its date and LiteLLM version inside)."""
    packaged = _PKG / "_data" / "litellm_reference.json"
    return packaged if packaged.is_file() else _REPO / "checklist" / "litellm_reference.json"


#: where ``specgen conform`` (and ``specgen audit``) keep conformance results between runs,
#: relative to the working folder
CONFORM_CACHE = Path(".specgen-cache") / "conform"
