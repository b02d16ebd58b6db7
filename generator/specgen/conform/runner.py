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

import contextlib
import importlib
import os
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

from specgen.adapters import accumulate, built_adapters, built_package
from specgen.batch import RunCache, fork_map, input_key, spec_weight
from specgen.build.ir import ProviderIR, build_ir
from specgen.conform import discovery, errors_check, requests, responses, streams
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

    ``jobs`` providers run at a time, each in its own forked process with its own fake; with
    ``cache_dir``, a provider whose inputs (its spec chain, their fixtures, specgen itself) are
    unchanged since a run with no failure is not run again: its recorded results are reused
    (``rerun`` runs everything and refreshes the cache)."""
    start = time.perf_counter()
    specs = load_specs(specs_dir, only=names or None)
    cache = RunCache(cache_dir) if cache_dir is not None else None
    keys = {s.name: input_key(s, "conform", mode or "") for s in specs} if cache is not None else {}
    done: dict[str, list[Result]] = {}
    for spec in specs:
        hit = None if cache is None or rerun else cache.get(spec.name, keys[spec.name])
        if isinstance(hit, list):
            with contextlib.suppress(KeyError, TypeError, ValueError):  # a record of another shape: run again
                done[spec.name] = [Result.from_dict(r) for r in hit]
    todo = [s for s in specs if s.name not in done]
    if todo:
        with built_package(specs_dir, [s.name for s in todo]) as package:
            _WORK.update({s.name: (package, s, mode) for s in todo})
            try:
                for name, out in fork_map(_run_one, [s.name for s in todo], jobs, weight=lambda n: spec_weight(_WORK[n][1])):
                    if isinstance(out, str):
                        raise TranscriptError(out)
                    done[name] = out
                    if cache is not None and not any(r.status == FAIL for r in out):
                        cache.put(name, keys[name], [r.to_dict() for r in out])
            finally:
                _WORK.clear()
    results = [r for spec in specs for r in done[spec.name]]
    return Report(results, time.perf_counter() - start, cached=sorted(set(done) - {s.name for s in todo}))


#: what a worker needs for each provider (package, spec, mode): set before the workers fork
_WORK: dict[str, tuple[str, ResolvedSpec, str | None]] = {}


def _run_one(name: str) -> tuple[str, list[Result] | str]:
    """One provider (in a worker process, or in this one): its results, or a transcript error's text."""
    package, spec, mode = _WORK[name]
    try:
        module = importlib.import_module(f"{package}.{name}")
        return name, ProviderRun(spec, build_ir(spec), module).run(mode)
    except TranscriptError as exc:
        return name, str(exc)


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

