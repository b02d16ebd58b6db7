"""Conformance results kept between runs, so that ``specgen conform`` re-runs only the providers
whose inputs changed.

A provider's key hashes everything its results depend on: specgen itself (the compiler, the
conformance checks, the runtime, the templates and loaded plug-ins), each spec of its ``extends``
chain and every fixture file beside them (``fixtures/<name>/``), and the mode asked for. A run
with no failure is stored as ``<cache>/<provider>.json``; a later run with the same key reuses it.
Nothing here is trusted beyond that: a file that does not read back is ignored and the provider
runs again.
"""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path
from typing import Any

import specgen
import specgen_runtime
from specgen import plugins
from specgen.resources import CONFORM_CACHE, templates_dir
from specgen.results import FAIL, Result
from specgen.spec.resolve import ResolvedSpec

__all__ = ["CONFORM_CACHE", "ConformCache", "input_key", "specgen_fingerprint"]

_FORMAT = 2


@functools.lru_cache(maxsize=1)
def specgen_fingerprint() -> str:
    """Hash of the code that decides a conformance result, besides the specs and fixtures."""
    h = hashlib.sha256(f"conform-cache {_FORMAT}".encode())
    roots = [Path(specgen.__file__).parent, Path(specgen_runtime.__file__).parent]
    files = [f for root in roots for f in sorted(root.rglob("*.py"))]
    files += sorted(templates_dir().glob("*.j2")) + sorted(Path(specgen.__file__).parent.glob("spec/*.json"))
    for f in files:
        h.update(f.name.encode())
        h.update(f.read_bytes())
    h.update(plugins.fingerprint(plugins.loaded()).encode())
    return h.hexdigest()


def input_key(spec: ResolvedSpec, mode: str | None) -> str:
    """The hash of everything ``spec``'s conformance results depend on."""
    h = hashlib.sha256(specgen_fingerprint().encode())
    h.update(f"\0mode={mode or ''}\0".encode())
    for src in spec.sources:
        h.update(src.name.encode() + b"\0" + src.read_bytes())
        folder = src.parent / "fixtures" / src.stem
        if folder.is_dir():
            for f in sorted(p for p in folder.rglob("*") if p.is_file()):
                h.update(f.relative_to(folder).as_posix().encode() + b"\0" + f.read_bytes())
    return h.hexdigest()


class ConformCache:
    """``<folder>/<provider>.json``: the key a passing run had, and its results."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def get(self, spec: ResolvedSpec, mode: str | None) -> list[Result] | None:
        try:
            data: Any = json.loads((self.folder / f"{spec.name}.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict) or data.get("key") != input_key(spec, mode):
            return None
        try:
            return [_result(r) for r in data["results"]]
        except (KeyError, TypeError, ValueError):
            return None

    def put(self, spec: ResolvedSpec, mode: str | None, results: list[Result]) -> None:
        if any(r.status == FAIL for r in results):
            return
        record = {"key": input_key(spec, mode), "results": [r.to_dict() for r in results]}
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            tmp = self.folder / f".{spec.name}.json.tmp"
            tmp.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
            tmp.replace(self.folder / f"{spec.name}.json")
        except OSError:
            pass  # a cache that cannot be written only costs time


def _result(d: dict[str, Any]) -> Result:
    return Result(
        provider=str(d["provider"]),
        mode=str(d["mode"]),
        group=str(d["group"]),
        check=str(d["check"]),
        status=str(d["status"]),
        spec=str(d.get("spec", "")),
        detail=str(d.get("detail", "")),
        evidence=[str(e) for e in d.get("evidence", ())],
        basis=str(d.get("basis", "")),
    )
