"""Where spec files are and what they are called; cheap to import (no YAML, no schema).

The loader (:mod:`specgen.spec.resolve`) and the build manifest's no-op check
(:mod:`specgen.build.manifest`) both find ``extends`` parents through :func:`find_base`,
so the two always agree on which files a spec is made of.
"""

from __future__ import annotations

from pathlib import Path

from specgen.resources import builtin_specs_dir

__all__ = ["display_name", "find_base", "source_display", "spec_files"]


def spec_files(specs_dir: Path) -> list[Path]:
    return sorted(p for p in specs_dir.glob("*.yaml") if p.is_file())


def display_name(path: Path, specs_dir: Path | None = None) -> str:
    """``specs/x.yaml``: the folder name and the file name, never an absolute path."""
    folder = (specs_dir or path.parent).name or "specs"
    return f"{folder}/{path.name}"


def source_display(path: Path, specs_dir: Path) -> str:
    """How a spec file taking part in a build over ``specs_dir`` is named in errors and comments."""
    if path.parent == specs_dir:
        return display_name(path, specs_dir)
    return display_name(path)  # a built-in base: "specs/openai.yaml"


def find_base(name: str, child: Path, specs_dir: Path) -> Path | None:
    """The spec ``child`` extends by ``name``: beside it, in ``specs_dir``, then among the built-in specs."""
    for folder in (child.parent, specs_dir, builtin_specs_dir()):
        candidate = folder / f"{name}.yaml"
        if candidate.is_file() and candidate.resolve() != child.resolve():
            return candidate
    return None
