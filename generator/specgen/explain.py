"""``specgen explain``: where each OpenAI param goes, read from the resolved spec as the build reads it.

Every line names the spec line it comes from (``specs/groq.yaml:17``); a declaration inherited
through ``extends`` names the file that made it.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

from specgen.build.ir import ModeIR, ParamIR, ProviderIR, RuleIR, build_ir
from specgen.spec.files import source_display
from specgen.spec.resolve import ResolvedSpec

#: params every adapter of a mode takes itself, before the spec's params are looked at
BUILTIN: dict[str, dict[str, str]] = {
    "chat": {
        "model": "the model id; the naming prefix is stripped, then it goes where the format puts it",
        "messages": "rendered by the mode's format",
        "stream": "the mode's stream settings: its flag, endpoint and protocol",
        "extra_body": "merged into the request body last (its fields win)",
        "extra_headers": "added to the request headers",
    },
    "embeddings": {
        "model": "the model id; the naming prefix is stripped, then it goes where the format puts it",
        "input": "rendered by the mode's format",
        "extra_body": "merged into the request body last (its fields win)",
        "extra_headers": "added to the request headers",
    },
}

POLICY = {
    "refuse": "refused: an UnsupportedParamsError naming it, before any I/O",
    "drop": "dropped: never sent",
    "passthrough": "passed through: sent as is at body.{name}",
}


def _show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _params_root(mode: ModeIR) -> tuple[str, ...]:
    """Where the format puts mapped params (Gemini's batchEmbedContents: inside each request)."""
    for module in ("specgen_runtime.formats", "specgen_runtime.formats"):  # the runtime may move
        try:
            roots = getattr(importlib.import_module(module), "PARAMS_ROOT", {})
        except ImportError:
            continue
        return tuple(roots.get(f"{mode.format}_{mode.name}", ()))
    return ()


class Explainer:
    def __init__(self, spec: ResolvedSpec, specs_dir: Path) -> None:
        self.spec = spec
        self.specs_dir = specs_dir
        self.ir: ProviderIR = build_ir(spec)
        self.own = spec.display

    def origin(self, where: str) -> str:
        """``specs/x.yaml:12``, with the file that declared it when that is not the spec itself."""
        file = where.rpartition(":")[0]
        return where if file == self.own else f"inherited from {where}"

    def header(self) -> list[str]:
        chain = [source_display(p, self.specs_dir) for p in self.spec.sources]
        line = f"{self.spec.name}: {chain[0]}"
        if len(chain) > 1:
            line += ", extends " + " → ".join(chain[1:])
        routes = [  # models another spec's adapter serves: what is explained below is not theirs
            f"models {', '.join(pats)} are served by {target} (`specgen explain {target}`; {self.origin(where)})"
            for _var, pats, target, where in self.ir.routes
        ]
        return [line, *routes]

    # ------------------------------------------------------------------ one mode

    def mode_header(self, mode: ModeIR) -> list[str]:
        node = self.spec.data["modes"][mode.name]
        endpoint = node.get("endpoint") or {}
        lines = [f"{mode.name}: {mode.method} {endpoint.get('path', '?')}, format {mode.format} ({self.origin(mode.where)})"]
        lines.append(f"  a param not declared here: {self.policy_text(mode, '<param>')}")
        if mode.messages_transform:
            loc = node.where("messages_transform")
            lines.append(f"  messages: {mode.messages_transform}, then the format ({self.origin(f'{loc.file}:{loc.line}')})")
        return lines

    def policy_where(self, mode: ModeIR) -> str:
        node = self.spec.data["modes"][mode.name]
        if "unsupported" in node:
            loc = node.where("unsupported")
            return self.origin(f"{loc.file}:{loc.line}")
        return "the default: the mode declares no unsupported:"

    def policy_text(self, mode: ModeIR, name: str) -> str:
        return f"unsupported: {mode.unsupported}, {POLICY.get(mode.unsupported, mode.unsupported).format(name=name)} ({self.policy_where(mode)})"

    def describe(self, mode: ModeIR, prm: ParamIR) -> str:
        if prm.kind != "map":
            text = f"unsupported: {prm.kind}"
            text += ", refused: an UnsupportedParamsError naming it" if prm.kind == "refuse" else ", dropped: never sent"
            if prm.enum is not None:
                text += f" (a value outside enum {_show(prm.enum)} is refused first)"
            return text
        target = ".".join(prm.to)
        if prm.location == "query":
            bits = [f"→ query parameter {target} (in: query)"]
        else:
            root = tuple("*" if part.isdigit() else part for part in _params_root(mode))  # in each of a list
            bits = [f"→ body.{'.'.join((*root, *prm.to))}" + (" (merged into it)" if prm.merge else "")]
        if prm.transform:
            bits.append(f"transform {prm.transform}")
        if prm.has_default:
            bits.append(f"default {_show(prm.default)}")
        if prm.required:
            bits.append("required")
        if prm.range is not None:
            bits.append(f"range [{_show(prm.range[0])}, {_show(prm.range[1])}]")
        if prm.enum is not None:
            bits.append(f"enum {_show(prm.enum)}")
        return ", ".join(bits)

    def builtin_text(self, mode: ModeIR, name: str, text: str) -> str:
        if name == "model":
            prefix = self.ir.model_prefix
            goes = [f"→ body.{'.'.join(mode.model_field)}"] if mode.model_field else []
            if "model" in mode.all_path_vars:
                goes.append("→ {model} in the path")
            strip = f"the naming prefix {prefix} is stripped (model_naming), then " if prefix else ""
            return strip + (" and ".join(goes) or "not sent")
        if name == "stream":
            s = mode.stream
            if s is None:
                return f"this mode does not stream: stream=True is refused ({self.origin(mode.where)})"
            flag = f"→ body.{'.'.join(s.flag)}" if s.flag else "no body flag"
            extra = ", except the requests stream.emulate_when names (sent unstreamed, replayed as chunks)" if s.emulate_when else ""
            return f"{flag}, protocol {s.protocol}{extra} ({self.origin(s.where)})"
        return f"{text} ({self.origin(mode.where)})"

    def rules_for(self, mode: ModeIR, name: str) -> list[str]:
        out = []
        for rule in mode.rules:
            what = self.rule_effect(rule, name)
            if what:
                out.append(f"model rule for {', '.join(rule.patterns)}: {what} ({self.origin(rule.where)})")
        return out

    @staticmethod
    def rule_effect(rule: RuleIR, name: str) -> str:
        effects = []
        if name in rule.drop:
            effects.append("dropped")
        if name in rule.refuse:
            effects.append("refused (UnsupportedParamsError)")
        effects += [f"renamed to {new}" for old, new in rule.rename if old == name]
        effects += [f"what {old} is renamed to" for old, new in rule.rename if new == name]
        return ", ".join(effects)

    def mode_lines(self, mode: ModeIR, only: str | None) -> list[str]:
        rows: list[tuple[str, str, str]] = []  # name, what, where
        extra: dict[str, list[str]] = {}
        for name, target, where in mode.aliases:
            rows.append((name, f"alias of {target} (used when {target} is not given)", self.origin(where)))
        for prm in mode.params:
            rows.append((prm.name, self.describe(mode, prm), self.origin(prm.where)))
        for name, *_ in rows:
            extra[name] = self.rules_for(mode, name)
        if only is None:
            lines = self.mode_header(mode)
            width = max((len(n) for n, _, _ in rows), default=0)
            declared = self.spec.data["modes"][mode.name].get("params") or {}
            order = {name: i for i, name in enumerate(declared)}
            for name, what, where in sorted(rows, key=lambda r: order.get(r[0], -1)):
                lines.append(f"  {name.ljust(width)}  {what}  ({where})")
                lines += [f"  {' ' * width}    {r}" for r in extra[name]]
            touched = {n for r in mode.rules for n in (*r.drop, *r.refuse, *(o for o, _ in r.rename))} - set(extra)
            for name in sorted(touched):
                lines.append(f"  {name.ljust(width)}  not declared: {self.policy_text(mode, name)}")
                lines += [f"  {' ' * width}    {r}" for r in self.rules_for(mode, name)]
            return lines
        found = [r for r in rows if r[0] == only]
        prefix = f"{self.spec.name} {mode.name}: {only}"
        if found:
            _, what, where = found[0]
            return [f"{prefix}  {what}  ({where})", *(f"  {r}" for r in extra[only])]
        builtin = BUILTIN.get(mode.name, {})
        if only in builtin:
            return [f"{prefix} is taken by the adapter itself: {self.builtin_text(mode, only, builtin[only])}"]
        if only in mode.all_path_vars:
            return [f"{prefix} fills the path-template variable {{{only}}} ({self.origin(mode.where)})"]
        lines = [f"{prefix} is not declared in this mode (modes.{mode.name}.params); {self.policy_text(mode, only)}"]
        rules = self.rules_for(mode, only)
        if rules:
            lines[0] += "; before that:"
            lines += [f"  {r}" for r in rules]
        return lines

    def lines(self, only: str | None = None) -> list[str]:
        out = self.header()
        for mode in self.ir.modes:
            out.append("")
            out += self.mode_lines(mode, only)
        return out


def explain(spec: ResolvedSpec, specs_dir: Path, param: str | None = None) -> list[str]:
    return Explainer(spec, specs_dir).lines(param)
