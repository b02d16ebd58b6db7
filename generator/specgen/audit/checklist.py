"""`specgen audit`: the spec's declarations, the conformance results and LiteLLM's reference, side by side.

Per provider × mode × parameter one cell (the markdown pages: :mod:`specgen.audit.markdown`):

* ``✅`` verified — the spec maps it and conformance passed it with transcript evidence;
* ``⚠️`` declared but unverified;
* ``❌`` failing conformance;
* ``gap`` — LiteLLM supports it and the spec doesn't map it;
* ``➕`` ours only — the spec maps it and LiteLLM doesn't list it.

With the differential oracle's findings (``oracle.json``, ``specgen conform --oracle litellm``)
and the maintainers' verdicts (``oracle_verdicts.yaml``, :mod:`specgen.audit.verdicts`), every
difference between our wire requests / results / errors and LiteLLM's is listed with its
verdict; one judged "LiteLLM right" counts as a provider-specific gap (an error row when it is
about an error).

Gaps are classified high-level (a shared abstraction is missing: a mode, a stream protocol,
an auth scheme; counted by how many LiteLLM providers each blocks) or provider-specific (an
endpoint or a param mapping).  The output is deterministic: the same inputs give the same bytes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from specgen.audit import model_facts
from specgen.audit.markdown import (
    FAILING,
    GAP,
    MAIN,
    OURS,
    PROVIDER_PAGES,
    UNVERIFIED_CELL,
    VERIFIED,
    render,
)
from specgen.audit.verdicts import UNREVIEWED, VERDICTS, Verdict, verdict_for
from specgen.build.ir import ProviderIR, build_ir
from specgen.results import FAIL, PASS, UNVERIFIED, Result
from specgen.spec.resolve import ResolvedSpec

# our mode name → LiteLLM's
MODE_NAMES = {"chat": "chat", "embeddings": "embedding", "completions": "completion"}
# modes the runtime can render today (a LiteLLM mode outside this set is a missing abstraction)
RUNTIME_MODES = {"chat", "embedding", "completion"}
# LiteLLM call options that are not provider params
NOT_PARAMS = {
    "api_base", "api_key", "api_version", "base_url", "default_headers", "deployment_id",
    "extra_headers", "extra_body", "extra_query", "timeout", "max_retries", "organization", "stream",
    "model", "messages", "input", "custom_llm_provider", "mock_response", "metadata_",
}  # fmt: skip
# LiteLLM providers that need what the runtime lacks, by name prefix (Google OAuth, Vertex AI's, is
# auth type google)
#: (none left: SigV4, the AWS event stream and Google OAuth are in the runtime now)
NEEDS: dict[str, str] = {}


@dataclass
class Audit:
    parity: dict[str, Any]
    files: dict[str, str]  # path under the checklist folder → markdown: the summary, one page per provider

    @property
    def markdown(self) -> str:
        """The summary page (``LITELLM_PROVIDER_CHECKLIST.md``)."""
        return self.files[MAIN]

    @property
    def text(self) -> str:
        """Every page, the summary first (what a reader of the whole checklist sees)."""
        return "\n".join(self.files[k] for k in sorted(self.files, key=lambda k: (k != MAIN, k)))


def _status_of(results: list[Result], provider: str, mode: str, checks: list[str]) -> str | None:
    statuses = [r.status for r in results if r.provider == provider and r.mode == mode and r.check in checks]
    if not statuses:
        return None
    if FAIL in statuses:
        return FAILING
    if all(s == PASS for s in statuses):
        return VERIFIED
    return UNVERIFIED_CELL


def _our_params(ir: ProviderIR, mode: str) -> dict[str, tuple[str, list[str]]]:
    """param → (how the spec declares it, the conform check names for it)."""
    m = ir.mode(mode)
    out: dict[str, tuple[str, list[str]]] = {}
    if m is None:
        return out
    for prm in m.params:
        if prm.kind == "map":
            out[prm.name] = ("map → " + ".".join(prm.to), [f"param {prm.name} → {'.'.join(prm.to)}"])
        else:
            out[prm.name] = (prm.kind, [f"param {prm.name} unsupported: {prm.kind}"])
    for name, target, _where in m.aliases:
        out[name] = (f"alias of {target}", [f"param {name} alias of {target}"])
    return out


def _judged(oracle: dict[str, Any], verdicts: list[Verdict]) -> dict[str, Any]:
    """The oracle's findings with each difference's verdict, the counts, and verdicts that
    match no current difference."""
    used: set[str] = set()
    counts = dict.fromkeys([*VERDICTS, UNREVIEWED], 0)
    providers: dict[str, Any] = {}
    for name, modes in sorted(oracle.get("providers", {}).items()):
        for mode, data in sorted(modes.items()):
            diffs = []
            for d in data.get("differences", []):
                v = verdict_for(d["id"], verdicts)
                if v is not None:
                    used.add(v.key)
                diffs.append({**d, "verdict": v.verdict if v else UNREVIEWED, "note": v.note if v else ""})
                counts[v.verdict if v else UNREVIEWED] += 1
            providers.setdefault(name, {})[mode] = {**data, "differences": diffs}
    return {
        "litellm_version": oracle.get("litellm_version"),
        "generated_examples": oracle.get("generated_examples"),
        "not_in_litellm": oracle.get("not_in_litellm", []),
        "providers": providers,
        "verdict_counts": counts,
        "unmatched_verdicts": [v.key for v in verdicts if v.key not in used],
    }


def audit(
    specs: list[ResolvedSpec],
    results: list[Result],
    reference: dict[str, Any],
    oracle: dict[str, Any] | None = None,
    verdicts: list[Verdict] | None = None,
) -> Audit:
    judged = _judged(oracle, verdicts or []) if oracle is not None else None
    ref_providers: dict[str, Any] = reference.get("providers", {})
    ours = {s.name: build_ir(s) for s in specs}
    # LiteLLM's name of each provider: the spec's, else its model prefix's slug (nano-gpt, text-completion-openai)
    litellm_name = {n: n if n in ref_providers else _slug(ir.model_prefix) if _slug(ir.model_prefix) in ref_providers else n for n, ir in ours.items()}
    covered = set(litellm_name.values())
    providers: dict[str, Any] = {}
    high: dict[str, dict[str, Any]] = {}

    for name, ir in sorted(ours.items()):
        ref = ref_providers.get(litellm_name[name])
        entry: dict[str, Any] = {"in_litellm": ref is not None, "modes": {}, "gaps": []}
        ref_modes = (ref or {}).get("modes", {})
        for m in ir.modes:
            lmode = MODE_NAMES.get(m.name, m.name)
            ref_params = set((ref_modes.get(lmode) or {}).get("supported_openai_params") or ()) - NOT_PARAMS
            mine = _our_params(ir, m.name)
            cells: dict[str, Any] = {}
            for param in sorted(set(mine) | ref_params):
                how, checks = mine.get(param, ("", []))
                status = _status_of(results, name, m.name, checks) if checks else None
                mapped = bool(how) and how not in ("drop", "refuse")
                if mapped and param not in ref_params and ref is not None:
                    cell = OURS
                elif mapped:
                    cell = status or UNVERIFIED_CELL
                elif param in ref_params:
                    cell = GAP
                    entry["gaps"].append({"kind": "param", "mode": m.name, "param": param, "spec": how or "not declared"})
                else:
                    continue  # declared unsupported, and LiteLLM doesn't support it either
                cells[param] = {"cell": cell, "spec": how or None, "litellm": param in ref_params, "conform": status}
            groups = {
                g: _status_of(results, name, m.name, [r.check for r in results if r.provider == name and r.mode == m.name and r.group == g])
                for g in ("request", "response", "stream", "errors")
            }
            entry["modes"][m.name] = {"params": cells, "conform": groups, "litellm_stream": (ref_modes.get(lmode) or {}).get("stream")}
        entry["evidence"] = _evidence(results, name)
        for lmode in sorted(set(ref_modes) - {MODE_NAMES.get(m.name, m.name) for m in ir.modes}):
            entry["gaps"].append({"kind": "mode", "mode": lmode})
        for mode, data in ((judged or {}).get("providers", {}).get(name) or {}).items():
            for d in data["differences"]:
                if d["verdict"] == "litellm":
                    kind = "error row" if d["phase"] == "error" else f"oracle {d['phase']}"
                    entry["gaps"].append({"kind": kind, "mode": mode, "id": d["id"], "ours": d["ours"], "litellm": d["litellm"], "note": d["note"]})
        providers[name] = entry

    for lname, ref in sorted(ref_providers.items()):
        for lmode in ref.get("modes", {}):
            if lmode not in RUNTIME_MODES:
                high.setdefault(f"mode {lmode}", {"kind": "mode", "providers": []})["providers"].append(lname)
        chat = (ref.get("modes") or {}).get("chat") or {}
        if lname not in covered and "wire" in chat and chat["wire"] is None and chat.get("config_class"):
            # a chat wire none of the runtime's formats speaks
            high.setdefault(f"message format {chat['config_class']}", {"kind": "message format", "providers": []})["providers"].append(lname)
        for prefix, need in NEEDS.items():
            if lname.startswith(prefix):
                high.setdefault(need, {"kind": "protocol/auth", "providers": []})["providers"].append(lname)
    high_list = [
        {"abstraction": k, "kind": v["kind"], "blocks": len(v["providers"]), "providers": sorted(v["providers"])}
        for k, v in sorted(high.items(), key=lambda kv: (-len(kv[1]["providers"]), kv[0]))
    ]
    counted = sorted((-int(r.get("model_count") or 0), n, sorted(r.get("modes", {}))) for n, r in ref_providers.items() if n not in covered)
    missing = [
        {"provider": n, "model_count": -neg, "modes": modes, "wire": ((ref_providers[n].get("modes") or {}).get("chat") or {}).get("wire")}
        for neg, n, modes in counted
    ]
    parity = {
        "litellm_version": reference.get("litellm_version"),
        "reference_synced": reference.get("synced"),
        "providers": providers,
        "high_level_gaps": high_list,
        "litellm_only_providers": missing,
        "oracle": judged,
    }
    # the specs' known models against LiteLLM's cost map (prices, context windows): specgen.audit.model_facts
    facts = model_facts.compare(ours, ref_providers, {s.name: s.aliases for s in specs})
    parity["model_facts"] = facts
    files = render(parity)
    files[MAIN] = files[MAIN].rstrip("\n") + "\n" + model_facts.markdown(facts) + "\n"
    return Audit(parity, files)


def _slug(prefix: str | None) -> str:
    """``nano-gpt/`` → ``nano-gpt``: the provider slug a model prefix names."""
    return (prefix or "").rstrip("/")


def _evidence(results: list[Result], provider: str) -> dict[str, int]:
    """What the provider's conformance results rest on: passed on a transcript of its own citing
    the documentation, on captured facts, on one that states no source; only on its parent's
    transcripts (run with its prefix, auth and paths); on the self-check alone (a policy of ours,
    which needs no transcript); unverified; failing."""
    out = dict.fromkeys(("documentation", "captured", "unstated", "inherited", "self_check", "unverified", "failing"), 0)
    for r in results:
        if r.provider != provider:
            continue
        if r.status == FAIL:
            out["failing"] += 1
        elif r.status == UNVERIFIED:
            out["unverified"] += 1
        elif r.status == PASS and r.inherited_only:
            out["inherited"] += 1  # the parent's transcripts, run as this provider sends them
        elif r.status == PASS:
            out[r.basis or "self_check"] = out.get(r.basis or "self_check", 0) + 1
    return out


def write(audit_: Audit, folder: Path) -> list[Path]:
    """Write every page and parity.json; remove provider pages no provider has any more."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in sorted(_wanted(audit_).items()):
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
        written.append(path)
    for old in _pages_on_disk(folder) - set(audit_.files):
        (folder / old).unlink()
    return written


def stale(audit_: Audit, folder: Path) -> list[str]:
    """Files under ``folder`` that differ from what the audit would write (or that it would remove)."""
    out = []
    for name, text in sorted(_wanted(audit_).items()):
        path = folder / name
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            out.append(name)
    out += sorted(_pages_on_disk(folder) - set(audit_.files))
    return out


def _wanted(audit_: Audit) -> dict[str, str]:
    return {**audit_.files, "parity.json": json.dumps(audit_.parity, indent=1, ensure_ascii=False, sort_keys=True) + "\n"}


def _pages_on_disk(folder: Path) -> set[str]:
    pages = folder / PROVIDER_PAGES
    return {f"{PROVIDER_PAGES}/{p.name}" for p in pages.glob("*.md")} if pages.is_dir() else set()
