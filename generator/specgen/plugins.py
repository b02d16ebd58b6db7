"""Plug-ins: a project's own wires and transforms, named in its configuration, never in a spec.

A plug-in is an importable module. Importing it declares its transforms (with
``specgen_runtime.transforms.transform``) and registers its wire modules (with
``specgen_runtime.wires.register("mypkg.my_wire")``). specgen imports the plug-ins a project names:

- in ``pyproject.toml``, found in the current folder or the nearest one above it::

      [tool.specgen]
      plugins = ["mypkg.specgen_plugin"]

  (the folder that holds that ``pyproject.toml`` is put on ``sys.path`` first, so a plug-in beside
  it imports without being installed);
- with ``--plugin MODULE`` (repeatable) on ``validate``, ``build``, ``conform``, ``audit`` and
  ``explain`` (the current folder is put on ``sys.path``).

A spec only names a wire or a transform; it can never make the build import anything the project
did not name here. Generated adapters import a plug-in's wire and transform modules by their
validated dotted names, so the package you ship must depend on the plug-in's package.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
import tomllib
from pathlib import Path

from specgen_runtime.wires import DOTTED

__all__ = ["PluginError", "configured", "fingerprint", "load", "loaded"]


class PluginError(Exception):
    """A plug-in that cannot be loaded; names it and the configuration that asked for it."""


def _pyproject(start: Path) -> Path | None:
    for folder in (start, *start.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def configured(start: Path | None = None) -> tuple[list[str], Path | None]:
    """The plug-ins ``[tool.specgen] plugins`` names in the nearest ``pyproject.toml``, and that file."""
    found = _pyproject((start or Path.cwd()).resolve())
    if found is None:
        return [], None
    try:
        doc = tomllib.loads(found.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise PluginError(f"{found}: cannot read [tool.specgen]: {exc}") from None
    names = ((doc.get("tool") or {}).get("specgen") or {}).get("plugins") or []
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise PluginError(f"{found}: [tool.specgen] plugins must be a list of module names")
    return names, found


_LOADED: dict[str, Path | None] = {}


def load(extra: list[str] | None = None, start: Path | None = None) -> list[str]:
    """Import every configured plug-in and every ``--plugin``; returns their names, in order."""
    names, config = configured(start)
    wanted = [(name, config) for name in names] + [(name, None) for name in extra or ()]
    for name, where in wanted:
        if name in _LOADED:
            continue
        said = f"{where}: [tool.specgen] plugins" if where is not None else "--plugin"
        if not DOTTED.fullmatch(name):
            raise PluginError(f"{said}: {name!r} is not a dotted module name")
        folder = str(where.parent if where is not None else Path.cwd())
        if folder not in sys.path:
            sys.path.insert(0, folder)
        try:
            importlib.import_module(name)
        except Exception as exc:  # a plug-in's own error, reported with where it was named
            raise PluginError(f"{said}: plug-in {name!r} failed to import: {type(exc).__name__}: {exc}") from None
        _LOADED[name] = where
    return [name for name, _ in wanted]


def loaded() -> list[str]:
    """The plug-ins imported so far, in order."""
    return list(_LOADED)


def fingerprint(names: list[str]) -> str:
    """A hash of the plug-ins' source files (a changed plug-in makes the next build re-render)."""
    h = hashlib.sha256()
    for name in names:
        spec = importlib.util.find_spec(name)
        h.update(name.encode())
        if spec is not None and spec.origin and Path(spec.origin).is_file():
            h.update(Path(spec.origin).read_bytes())
    return h.hexdigest()
