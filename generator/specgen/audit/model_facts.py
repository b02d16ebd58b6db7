"""The specs' known models next to LiteLLM's cost map: context windows, max output, prices per
token and cache prices (``models.known`` against the snapshot's ``model_facts``, written by
``specgen reference sync``). ``specgen audit`` lists every difference in the checklist and in
``parity.json`` (``model_facts``); the output is deterministic.

A difference is ``differs`` (both give the fact, with other values), ``spec only`` (LiteLLM's
cost map does not give it) or ``litellm only`` (the spec could add it: counted per provider,
listed in ``parity.json``). A known model LiteLLM's cost map does not have is listed by id.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from specgen.build.ir import ProviderIR

__all__ = ["FIELDS", "compare", "markdown"]

#: the spec's field → the cost map's
FIELDS = (
    ("context_window", "max_input_tokens"),
    ("max_output", "max_output_tokens"),
    ("input_cost_per_token", "input_cost_per_token"),
    ("output_cost_per_token", "output_cost_per_token"),
    ("cache_read_input_token_cost", "cache_read_input_token_cost"),
    ("cache_creation_input_token_cost", "cache_creation_input_token_cost"),
)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-15)
    return bool(a == b)


def _ref_of(name: str, aliases: list[str], ref_providers: Mapping[str, Any]) -> tuple[str, Mapping[str, Any]] | None:
    for key in (name, *aliases):
        ref = ref_providers.get(key)
        if isinstance(ref, Mapping):
            return key, ref
    return None


def compare(
    ours: Mapping[str, ProviderIR], ref_providers: Mapping[str, Any], aliases: Mapping[str, list[str]] | None = None
) -> dict[str, Any]:
    """Per provider of ours that LiteLLM has: its known models compared fact by fact."""
    providers: dict[str, Any] = {}
    # a snapshot synced before model facts were recorded has none at all; a provider of a newer one
    # without any has no priced chat or embedding model in the cost map
    synced_with_facts = any(isinstance(r, Mapping) and "model_facts" in r for r in ref_providers.values())
    counts = {"differs": 0, "spec only": 0, "litellm only": 0, "models compared": 0, "models not in cost map": 0}
    for name, ir in sorted(ours.items()):
        found = _ref_of(name, list((aliases or {}).get(name, ())), ref_providers)
        if found is None or not ir.models:
            continue
        litellm_name, ref = found
        facts = ref.get("model_facts", {} if synced_with_facts else None)
        if not isinstance(facts, Mapping):
            providers[name] = {"litellm_provider": litellm_name, "no_facts": True}
            continue
        rows: list[dict[str, Any]] = []
        missing: list[str] = []
        compared = 0
        prefix = ir.model_prefix or ""
        for model in sorted(ir.models, key=lambda m: str(m.get("id"))):
            mid = str(model.get("id"))
            theirs = facts.get(mid)
            if theirs is None and prefix and mid.startswith(prefix):
                theirs = facts.get(mid[len(prefix) :])
            if not isinstance(theirs, Mapping):
                missing.append(mid)
                continue
            compared += 1
            for field, ll_field in FIELDS:
                a, b = model.get(field), theirs.get(ll_field)
                if a is None and b is None:
                    continue
                if a is None:
                    kind = "litellm only"
                elif b is None:
                    kind = "spec only"
                elif _same(a, b):
                    continue
                else:
                    kind = "differs"
                counts[kind] += 1
                rows.append({"model": mid, "fact": field, "kind": kind, "spec": a, "litellm": b})
        counts["models compared"] += compared
        counts["models not in cost map"] += len(missing)
        providers[name] = {
            "litellm_provider": litellm_name,
            "models": len(ir.models),
            "compared": compared,
            "not_in_cost_map": missing,
            "differences": rows,
        }
    return {"counts": counts, "providers": providers}


def _value(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.10g}"
    return "—" if v is None else str(v)


def markdown(facts: Mapping[str, Any]) -> str:
    """The checklist's section on model facts (appended to the summary page)."""
    counts = facts.get("counts", {})
    lines = [
        "",
        "## Model facts vs LiteLLM's cost map",
        "",
        "Each spec's `models.known` (context window, max output, prices per token, cache prices) next to "
        "LiteLLM's cost map for the same model (`model_facts` in the reference snapshot). "
        f"{counts.get('models compared', 0)} models compared: {counts.get('differs', 0)} facts differ, "
        f"{counts.get('spec only', 0)} are the spec's only, {counts.get('litellm only', 0)} are LiteLLM's only "
        f"(the spec could add them); {counts.get('models not in cost map', 0)} known models are not in the cost map.",
        "",
    ]
    providers: Mapping[str, Any] = facts.get("providers", {})
    if any(p.get("no_facts") for p in providers.values()):
        lines += ["The reference snapshot records no model facts: run `specgen reference sync`.", ""]
    table = [
        (name, row)
        for name, p in sorted(providers.items())
        for row in p.get("differences", ())
        if row["kind"] != "litellm only"
    ]
    if table:
        lines += ["| provider | model | fact | spec | LiteLLM |", "|---|---|---|---|---|"]
        lines += [
            f"| {name} | `{row['model']}` | {row['fact']} | {_value(row['spec'])} | {_value(row['litellm'])} |"
            for name, row in table
        ]
        lines.append("")
    only: list[str] = []
    for name, p in sorted(providers.items()):
        theirs = sorted({row["fact"] for row in p.get("differences", ()) if row["kind"] == "litellm only"})
        n = sum(1 for row in p.get("differences", ()) if row["kind"] == "litellm only")
        if n:
            facts_word = "fact" if n == 1 else "facts"
            only.append(f"- {name}: {n} {facts_word} LiteLLM has and the spec does not ({', '.join(theirs)})")
        if p.get("not_in_cost_map"):
            only.append(f"- {name}: not in the cost map: {', '.join(f'`{m}`' for m in p['not_in_cost_map'])}")
    if only:
        lines += ["Missing on one side:", "", *only, ""]
    return "\n".join(lines)
