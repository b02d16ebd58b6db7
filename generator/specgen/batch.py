"""Work over many providers: run in forked worker processes, and kept between runs.

``specgen conform`` and the differential oracle do the same thing for each provider, and each
provider's run is independent of the others'. :func:`fork_map` runs them ``jobs`` at a time in
forked processes (the parent's imports and built adapters are inherited, nothing is pickled but
the arguments and results); :class:`RunCache` keeps a provider's last good result under a key that
hashes everything the result depends on (:func:`input_key`), so that a later run redoes only the
providers whose spec chain, fixtures or specgen itself changed.
"""

from __future__ import annotations

import concurrent.futures
import functools
import hashlib
import json
import multiprocessing
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import specgen_runtime
from specgen import plugins
from specgen.resources import templates_dir
from specgen.spec.resolve import ResolvedSpec

__all__ = ["RunCache", "fork_map", "input_key", "spec_weight", "specgen_fingerprint"]

T = TypeVar("T")
R = TypeVar("R")
_FORMAT = 1
_PKG = Path(__file__).resolve().parent  # generator/specgen


def fork_map(fn: Callable[[T], R], items: Iterable[T], jobs: int, *, weight: Callable[[T], float] | None = None) -> Iterator[R]:
    """``fn(item)`` for each item, yielded in the order given; ``jobs`` > 1 runs them in that many
    forked processes (the heaviest first, by ``weight``, so that no worker idles at the end).
    ``fn`` and the items must be picklable by reference (a module-level function, plain data);
    an exception in a worker is raised here."""
    todo = list(items)
    jobs = max(1, min(jobs, len(todo)))
    if jobs == 1 or "fork" not in multiprocessing.get_all_start_methods():
        yield from map(fn, todo)
        return
    ctx = multiprocessing.get_context("fork")
    with concurrent.futures.ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool:
        order = sorted(range(len(todo)), key=lambda i: -(weight(todo[i]) if weight else 0))
        futures = {i: pool.submit(fn, todo[i]) for i in order}
        for i in range(len(todo)):
            yield futures[i].result()


def spec_weight(spec: ResolvedSpec) -> int:
    """A rough cost of running ``spec``: the bytes of its spec chain and of their fixtures."""
    total = 0
    for src in spec.sources:
        total += src.stat().st_size
        folder = src.parent / "fixtures" / src.stem
        if folder.is_dir():
            total += sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
    return total


@functools.lru_cache(maxsize=1)
def specgen_fingerprint() -> str:
    """Hash of the code that decides a provider's run, besides its specs and fixtures: the compiler,
    conformance and audit, the runtime, the templates, the schema and the loaded plug-ins."""
    h = hashlib.sha256(f"specgen-batch {_FORMAT}".encode())
    roots = [_PKG, Path(specgen_runtime.__file__).parent]
    files = [f for root in roots for f in sorted(root.rglob("*.py"))]
    files += sorted(templates_dir().glob("*.j2")) + sorted(_PKG.glob("spec/*.json"))
    for f in files:
        h.update(f.name.encode())
        h.update(f.read_bytes())
    h.update(plugins.fingerprint(plugins.loaded()).encode())
    return h.hexdigest()


def input_key(spec: ResolvedSpec, *extra: str) -> str:
    """The hash of everything a run of ``spec`` depends on: specgen, each spec of its ``extends``
    chain with every fixture file beside it (``fixtures/<name>/``), and ``extra`` (the options)."""
    h = hashlib.sha256(specgen_fingerprint().encode())
    for item in extra:
        h.update(b"\0" + item.encode())
    for src in spec.sources:
        h.update(b"\0" + src.name.encode() + b"\0" + src.read_bytes())
        folder = src.parent / "fixtures" / src.stem
        if folder.is_dir():
            for f in sorted(p for p in folder.rglob("*") if p.is_file()):
                h.update(f.relative_to(folder).as_posix().encode() + b"\0" + f.read_bytes())
    return h.hexdigest()


class RunCache:
    """``<folder>/<provider>.json``: the key of a provider's last good run and its result (JSON).
    A record that does not read back, or whose key differs, is a miss."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def get(self, name: str, key: str) -> Any:
        """The stored result, or None."""
        try:
            data = json.loads((self.folder / f"{name}.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict) or data.get("key") != key:
            return None
        return data.get("result")

    def put(self, name: str, key: str, result: Any) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            tmp = self.folder / f".{name}.json.tmp"
            tmp.write_text(json.dumps({"key": key, "result": result}, ensure_ascii=False), encoding="utf-8")
            tmp.replace(self.folder / f"{name}.json")
        except OSError:
            pass  # a cache that cannot be written only costs time
