"""The conformance runner: every declaration in a spec becomes a check against a loopback fake.

For each provider and mode the runner builds the spec fresh into a temporary package, starts a
:class:`~specgen.conform.fake.FakeProvider` (real HTTP on 127.0.0.1) and drives the generated
``Client`` and ``AsyncClient``.  Two kinds of evidence meet in each declaration's result:

* a *self-check*: the adapter does what the declaration says (a mapped param arrives at its
  target, transformed; a refused one raises; a retryable error row is retried …);
* *transcripts*: recorded wire exchanges from the provider's documentation, with what they
  must give (``fixtures/<provider>/<mode>/transcripts.yaml``).  They say whether the declaration
  is *true of the provider*.

A declaration about the provider's wire (a target path, a finish_reason row, an error row, a
stream event …) passes only when a transcript exercises it and agrees; with no transcript it is
``unverified``, never ``pass``.  A declaration of our own policy (drop, refuse, ranges, defaults,
retries) passes on its self-check.

This module is the orchestration: :func:`conform` (the entry point) runs each provider
(:class:`ProviderRun`) and each of its modes (:func:`run_mode`), phase by phase:

========================================  ===================================================
:mod:`specgen.conform.ledger`             the declarations, the evidence, each one's result
:mod:`specgen.conform.mode_run`           a mode's run state; calls through the generated clients
:mod:`specgen.conform.requests`           request self-checks and request transcripts
:mod:`specgen.conform.responses`          finish_reason and usage rows, recorded responses
:mod:`specgen.conform.streams`            recorded streams, re-chunking, cut and emulated streams
:mod:`specgen.conform.errors_check`       error-table rows, retries, Retry-After, error bodies
:mod:`specgen.conform.fake`               the loopback fake provider
:mod:`specgen.conform.match`              comparing, and saying exactly how things differ
:mod:`specgen.conform.report`             the summary table, failure lines, JSON
========================================  ===================================================

:class:`~specgen.results.Result`, :func:`~specgen.adapters.accumulate` and
:func:`~specgen.adapters.built_adapters` live outside ``conform`` (the audit uses them too) and
are re-exported here.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import importlib
import multiprocessing
import os
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

from specgen.adapters import accumulate, built_adapters, built_package
from specgen.build.ir import ProviderIR, build_ir
from specgen.conform import discovery, errors_check, requests, responses, streams
from specgen.conform.cache import ConformCache
from specgen.conform.fake import FakeProvider
from specgen.conform.ledger import declare
from specgen.conform.mode_run import ModeRun
from specgen.results import FAIL, GROUPS, PASS, UNVERIFIED, Report, Result
from specgen.spec.resolve import ResolvedSpec, load_specs
from specgen.transcripts import TranscriptError

__all__ = [
    "FAIL",
    "GROUPS",
    "PASS",
    "UNVERIFIED",
    "ModeRun",
    "ProviderRun",
    "Report",
    "Result",
    "accumulate",
    "built_adapters",
    "built_package",
    "conform",
    "run_mode",
]


def conform(
    specs_dir: Path,
    names: list[str] | None = None,
    mode: str | None = None,
    *,
    jobs: int = 1,
    cache_dir: Path | None = None,
    rerun: bool = False,
) -> Report:
    """Check every provider (or ``names``) of ``specs_dir`` against its loopback fake.

    ``jobs`` providers run at a time, each in its own process (fork) with its own fake; with
    ``cache_dir``, a provider whose inputs (its spec chain, their fixtures, specgen itself) are
    unchanged since a passing run is not run again: its recorded results are reused (``rerun``
    runs everything and refreshes the cache)."""
    start = time.perf_counter()
    specs = load_specs(specs_dir, only=names or None)
    cache = ConformCache(cache_dir) if cache_dir is not None else None
    done: dict[str, list[Result]] = {}
    todo: list[ResolvedSpec] = []
    for spec in specs:
        hit = None if cache is None or rerun else cache.get(spec, mode)
        if hit is not None:
            done[spec.name] = hit
        else:
            todo.append(spec)
    if todo:
        with built_package(specs_dir, [s.name for s in todo]) as package:
            for name, results in _run_all(package, todo, mode, jobs):
                done[name] = results
                if cache is not None:
                    cache.put(next(s for s in todo if s.name == name), mode, results)
    results = [r for spec in specs for r in done[spec.name]]
    return Report(results, time.perf_counter() - start, cached=sorted(set(done) - {s.name for s in todo}))


#: the specs of the providers a forked worker runs, set in the parent before the pool starts
_WORK: dict[str, ResolvedSpec] = {}


def _run_one(package: str, name: str, mode: str | None) -> tuple[str, list[Result] | str]:
    """One provider, in a worker process: its results, or the text of a transcript error."""
    spec = _WORK[name]
    try:
        module = importlib.import_module(f"{package}.{name}")
        return name, ProviderRun(spec, build_ir(spec), module).run(mode)
    except TranscriptError as exc:
        return name, str(exc)


def _run_all(package: str, specs: list[ResolvedSpec], mode: str | None, jobs: int) -> Iterator[tuple[str, list[Result]]]:
    """Each provider's results, in the order given; ``jobs`` > 1 runs them in forked processes."""
    jobs = max(1, min(jobs, len(specs)))
    if jobs == 1 or "fork" not in multiprocessing.get_all_start_methods():
        for spec in specs:
            module = importlib.import_module(f"{package}.{spec.name}")
            yield spec.name, ProviderRun(spec, build_ir(spec), module).run(mode)
        return
    _WORK.clear()
    _WORK.update({s.name: s for s in specs})
    ctx = multiprocessing.get_context("fork")
    try:
        with concurrent.futures.ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool:
            # the slowest first (most modes, then most transcripts), so no worker idles at the end
            order = sorted(specs, key=lambda s: -_weight(s))
            futures = {s.name: pool.submit(_run_one, package, s.name, mode) for s in order}
            for spec in specs:
                name, out = futures[spec.name].result()
                if isinstance(out, str):
                    raise TranscriptError(out)
                yield name, out
    finally:
        _WORK.clear()


def _weight(spec: ResolvedSpec) -> int:
    """A rough cost of checking ``spec``: the size of its spec chain and of its fixtures."""
    total = 0
    for src in spec.sources:
        total += src.stat().st_size
        folder = src.parent / "fixtures" / src.stem
        if folder.is_dir():
            total += sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
    return total


class ProviderRun:
    """One provider: its own fake, its environment cleared, each mode run in turn."""

    def __init__(self, spec: ResolvedSpec, ir: ProviderIR, module: ModuleType) -> None:
        self.spec = spec
        self.ir = ir
        self.module = module

    def run(self, only_mode: str | None) -> list[Result]:
        results: list[Result] = []
        with FakeProvider() as fake, _without_env(self.ir.api_key_env + self.ir.base_url_env + self.ir.version_env):
            for mode in self.ir.modes:
                if only_mode and mode.name != only_mode:
                    continue
                results.extend(run_mode(ModeRun(self.spec, self.ir, self.module, fake, mode)))
            if only_mode in (None, "models"):
                results.extend(discovery.check(self.spec, self.ir, self.module, fake))
        return results


def run_mode(run: ModeRun) -> list[Result]:
    """One mode's checks, phase by phase: declarations, requests, responses, streams, errors."""
    try:
        declare(run.ledger, run.ir, run.mode)
        requests.self_checks(run)
        requests.transcripts(run)
        if run.mode.name == "chat":
            responses.self_checks(run)
        responses.transcripts(run)
        if run.mode.stream is not None:
            streams.checks(run)
        errors_check.checks(run)
        return run.results()
    finally:
        run.close()


@contextlib.contextmanager
def _without_env(names: list[str]) -> Iterator[None]:
    saved = {n: os.environ.pop(n) for n in names if n in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)

