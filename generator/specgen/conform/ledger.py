"""The ledger of one provider × mode run: every declaration of the spec, and what was found.

:func:`declare` lists the declarations (a mapped param, a finish_reason row, an error row …),
each under a key such as ``("param", "temperature")``.  The checks then record two kinds of
evidence against a key: a *self-check* (:meth:`Ledger.self_check`: the adapter does what the
declaration says) and *transcripts* (:meth:`Ledger.evidence`: a recorded exchange exercised it,
and agreed or not).  :meth:`Decl.result` turns both into one :class:`~specgen.results.Result`:
a declaration about the provider's wire passes only with a transcript that agrees; with none it
is ``unverified``, never ``pass``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from specgen.build.ir import ErrorRowIR, ModeIR, ProviderIR
from specgen.conform import match as M
from specgen.results import FAIL, PASS, UNVERIFIED, Result

NO_EVIDENCE = "no transcript exercises it"


@dataclass
class Decl:
    """One declaration: its self-check outcome and the transcript evidence gathered for it."""

    group: str
    check: str
    spec: str
    needs_evidence: bool
    self_fail: str | None = None
    checked: bool = False
    evidence: list[tuple[str, str | None]] = field(default_factory=list)  # (transcript, failure or None)

    def result(self, provider: str, mode: str) -> Result:
        names = sorted({n for n, _ in self.evidence})
        if self.self_fail is not None:
            return Result(provider, mode, self.group, self.check, FAIL, self.spec, self.self_fail, names)
        for name, failure in self.evidence:
            if failure is not None:
                return Result(provider, mode, self.group, self.check, FAIL, self.spec, f"{failure} [transcript {name}]", names)
        if self.needs_evidence and not self.evidence:
            return Result(provider, mode, self.group, self.check, UNVERIFIED, self.spec, NO_EVIDENCE, names)
        if not self.needs_evidence and not self.checked and not self.evidence:
            return Result(provider, mode, self.group, self.check, UNVERIFIED, self.spec, "nothing could exercise it", names)
        return Result(provider, mode, self.group, self.check, PASS, self.spec, "", names)


class Ledger:
    def __init__(self) -> None:
        self.decls: dict[tuple[str, ...], Decl] = {}

    def declare(self, key: tuple[str, ...], group: str, check: str, spec: str, *, needs_evidence: bool) -> Decl:
        if key not in self.decls:
            self.decls[key] = Decl(group, check, spec.strip(), needs_evidence)
        return self.decls[key]

    def self_check(self, key: tuple[str, ...], failure: str | None) -> None:
        d = self.decls.get(key)
        if d is None:
            return
        d.checked = True
        if failure is not None and d.self_fail is None:
            d.self_fail = failure

    def evidence(self, key: tuple[str, ...], transcript: str, failure: str | None) -> None:
        d = self.decls.get(key)
        if d is not None:
            d.evidence.append((transcript, failure))

    def results(self, provider: str, mode: str) -> list[Result]:
        return [d.result(provider, mode) for d in self.decls.values()]


def declare(L: Ledger, ir: ProviderIR, m: ModeIR) -> None:
    """Every declaration of the mode ``m`` (and of the provider, for its error table) in ``L``."""
    for prm in m.params:
        if prm.kind == "map":
            L.declare(("param", prm.name), "request", f"param {prm.name} → {'.'.join(prm.to)}", prm.where, needs_evidence=True)
            if prm.range:
                L.declare(("range", prm.name), "request", f"param {prm.name} range {list(prm.range)}", prm.where, needs_evidence=False)
            if prm.enum:
                L.declare(("enum", prm.name), "request", f"param {prm.name} enum", prm.where, needs_evidence=False)
            if prm.has_default:
                L.declare(("default", prm.name), "request", f"param {prm.name} default {M.show(prm.default)}", prm.where, needs_evidence=False)
            if prm.required:
                L.declare(("required", prm.name), "request", f"param {prm.name} required", prm.where, needs_evidence=False)
            if prm.values or prm.field_values:
                L.declare(("values", prm.name), "request", f"param {prm.name} value map", prm.where, needs_evidence=True)
        else:
            L.declare(("unsupported", prm.name), "request", f"param {prm.name} unsupported: {prm.kind}", prm.where, needs_evidence=False)
    for name, target, where in m.aliases:
        L.declare(("alias", name), "request", f"param {name} alias of {target}", where, needs_evidence=False)
    L.declare(("leftovers",), "request", f"unsupported: {m.unsupported} (params the spec doesn't name)", m.where, needs_evidence=False)
    for i, rule in enumerate(m.rules):
        L.declare(("rule", str(i)), "request", f"model_rules {', '.join(rule.patterns)}", rule.where, needs_evidence=False)
    if ir.auth_type != "none":
        L.declare(("auth",), "request", f"auth {ir.auth_type}" + (f" {ir.auth_header}" if ir.auth_header else ""), ir.auth_where, needs_evidence=True)
    if ir.google_auth is not None:  # google-auth's tokens: refreshed before expiry, once for concurrent calls
        L.declare(("auth_refresh",), "request", "auth google: token refreshed before it expires, once for concurrent calls", ir.auth_where, needs_evidence=False)
    for name, _value in ir.headers:
        L.declare(("header", name), "request", f"header {name}", ir.auth_where, needs_evidence=True)
    L.declare(("path",), "request", f"{m.method} path", m.where, needs_evidence=True)
    for versions, _expr, _query, where in m.version_endpoints:  # endpoint.by_api_version
        L.declare(("surface", versions[0]), "request", f"endpoint for api_version {', '.join(versions)}", where, needs_evidence=True)
    for name, required in ir.body_fields:  # path_params in: body
        L.declare(("body_field", name), "request", f"path param {name} in body" + ("" if required else " (optional)"), ir.auth_where, needs_evidence=True)
    if ir.versions_where:
        L.declare(("version", "default"), "request", f"api_version default {ir.version_default}", ir.versions_where, needs_evidence=True)
        for var, pats, version, where in ir.version_overrides:
            L.declare(("version", var), "request", f"api_version {version} for {', '.join(pats)}", where, needs_evidence=True)
    s = m.stream
    if s is not None:
        if s.flag:
            L.declare(("stream_flag",), "request", f"stream flag {'.'.join(s.flag)}", s.where, needs_evidence=True)
        if s.path_expr or s.query is not None:
            L.declare(("stream_path",), "request", "stream endpoint", s.where, needs_evidence=True)
        L.declare(("stream_chunking",), "stream", "any chunking gives the same chunks", s.where, needs_evidence=True)
        L.declare(("stream_cut",), "stream", "a stream cut short raises a typed error", s.where, needs_evidence=False)
        for path, values in s.emulate_when:
            L.declare(("emulate", ".".join(path)), "stream", f"stream emulated when {'.'.join(path)} in {M.show(values)}", s.where, needs_evidence=False)
        for ev in s.events:
            L.declare(("event", ev.key), "stream", f"event {ev.key}" + (" (ignore)" if ev.ignore else ""), ev.where, needs_evidence=True)
    if m.name in ("chat", "completions"):
        for raw, value in m.finish_map.items():
            L.declare(("finish", raw), "response", f"finish_reason {raw} → {value}", m.finish_where, needs_evidence=True)
        if m.finish_tool_calls:
            L.declare(("finish_tool_calls",), "response", "finish_reason tool_calls when tools are called", m.finish_where, needs_evidence=True)
    for key, src in m.usage:
        if ("usage", key) in L.decls:
            L.decls[("usage", key)].check += f" + {'.'.join(src)}"
        else:
            L.declare(("usage", key), "response", f"usage {key} ← {'.'.join(src)}", m.response_where, needs_evidence=True)
    for i, row in enumerate(ir.error_rows):
        L.declare(("error", str(i)), "errors", row_name(row), row.where, needs_evidence=True)
        L.declare(("retry", str(i)), "errors", f"{row_name(row)} {'retried' if row.retry else 'not retried'}", row.where, needs_evidence=False)
    if any(r.retry for r in ir.error_rows):
        L.declare(("retry_after",), "errors", "Retry-After is honoured", ir.error_rows[0].where, needs_evidence=False)


def row_name(row: ErrorRowIR) -> str:
    """How a report names an error-table row: ``error 429 → RateLimitError``."""
    bits = []
    if row.statuses:
        bits.append("/".join(str(s) for s in row.statuses))
    if row.code is not None:
        bits.append(f"code {row.code}")
    if row.match is not None:
        bits.append(f"match {row.match!r}")
    return f"error {' '.join(bits)} → {row.cls}"
