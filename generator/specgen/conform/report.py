"""How conformance results are shown: a provider × mode × group summary, one line per failure, JSON."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from specgen.results import FAIL, GROUPS, PASS, UNVERIFIED, Report, Result
from specgen.spec.errors import github_annotation


def cell(results: list[Result]) -> str:
    if not results:
        return "-"
    n = Counter(r.status for r in results)
    if n[FAIL]:
        text = f"FAIL {n[FAIL]}/{len(results)}"
    elif n[UNVERIFIED]:
        text = f"unverified {n[UNVERIFIED]}/{len(results)}"
    else:
        text = f"pass {n[PASS]}"
    return text


def summary(
    report: Report,
    out: TextIO,
    *,
    verbose: bool = False,
    error_format: str = "text",
    file_for: Callable[[str], str] | None = None,
) -> None:
    """The table, then one line per failure (with ``error_format="github"``, one GitHub Actions
    annotation per failure, its file mapped through ``file_for``), then the counts."""
    rows: dict[tuple[str, str], list[Result]] = {}
    for r in report.results:
        rows.setdefault((r.provider, r.mode), []).append(r)
    header = ["provider", "mode", *GROUPS]
    table = [header]
    for (provider, mode), results in rows.items():
        table.append([provider, mode, *(cell([r for r in results if r.group == g]) for g in GROUPS)])
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        out.write("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() + "\n")
    out.write("\n")
    for r in report.results:
        if r.status == FAIL:
            out.write((annotation(r, file_for) if error_format == "github" else line(r)) + "\n")
    shown = [r for r in report.results if r.status == UNVERIFIED]
    if shown and verbose:
        for r in shown:
            out.write(line(r) + "\n")
    # a child spec's checks that passed only on its parent's transcripts (run as the child sends them)
    inherited: dict[str, int] = {}
    for r in report.results:
        if r.status == PASS and r.inherited_only:
            inherited[r.provider] = inherited.get(r.provider, 0) + 1
    if verbose:
        for provider, count in sorted(inherited.items()):
            own = sum(1 for r in report.results if r.provider == provider and r.status == PASS and r.evidence and not r.inherited_only)
            out.write(f"{provider}: {count} checks pass on inherited transcripts only, {own} on its own\n")
            for r in report.results:
                if r.provider == provider and r.status == PASS and r.inherited_only:
                    out.write(f"INHERITED {r.provider} {r.mode} {r.group} {r.check} [{', '.join(r.evidence)}]\n")
    elif inherited:
        out.write(f"{sum(inherited.values())} checks of {len(inherited)} providers pass on a parent's transcripts only (-v lists them)\n")
    n = Counter(r.status for r in report.results)
    tail = f"{n[PASS]} passed, {n[FAIL]} failed, {n[UNVERIFIED]} unverified"
    if shown and not verbose:
        tail += " (-v lists the unverified)"
    providers = len({r.provider for r in report.results})
    cached = f"; {len(report.cached)} of {providers} providers unchanged since a passing run, not re-run (--all re-runs them)" if report.cached else ""
    out.write(f"{tail} in {report.seconds:.1f} s{cached}\n")


def line(r: Result) -> str:
    where = f" ({r.spec})" if r.spec else ""
    detail = f": {r.detail}" if r.detail else ""
    return f"{r.status.upper()} {r.provider} {r.mode} {r.group} {r.check}{where}{detail}"


def annotation(r: Result, file_for: Callable[[str], str] | None = None) -> str:
    """A failure as ``::error file=specs/x.yaml,line=12::…``: the declaration's spec line it comes from."""
    file, _, number = r.spec.rpartition(":")
    message = f"{r.provider} {r.mode} {r.group} {r.check}" + (f": {r.detail}" if r.detail else "")
    line: int | None = int(number) if file and number.isdigit() else None
    if line is None:
        file = r.spec if r.spec.endswith((".yaml", ".yml")) else ""  # a transcripts file
    if not file:
        return github_annotation(message + (f" ({r.spec})" if r.spec else ""))
    return github_annotation(message, file=file_for(file) if file_for else file, line=line)


def write_json(report: Report, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {"results": [r.to_dict() for r in report.results]}
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8")
