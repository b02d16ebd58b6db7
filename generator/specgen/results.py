"""A conformance check's result: what ``specgen conform`` reports and ``specgen audit`` reads.

Shared by :mod:`specgen.conform` (which makes them) and :mod:`specgen.audit` (which joins them
with the LiteLLM reference), so that neither imports the other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

PASS, FAIL, UNVERIFIED = "pass", "fail", "unverified"
GROUPS = ("request", "response", "stream", "errors")


@dataclass
class Result:
    provider: str
    mode: str
    group: str
    check: str
    status: str
    spec: str = ""  # "specs/x.yaml:12": the declaration's line
    detail: str = ""  # for a failure: expected vs received
    evidence: list[str] = field(default_factory=list)  # transcripts that exercised it
    #: what the evidence rests on: "documentation" when a transcript that exercised it cites the
    #: provider's documentation, else "captured" (a recorded request), else "unstated"; "" when
    #: no transcript exercised it
    basis: str = ""

    @property
    def inherited_only(self) -> bool:
        """Passed on a parent's transcripts alone (``openai:basic``), none of the provider's own."""
        return bool(self.evidence) and all(":" in name for name in self.evidence)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Result:
        """The result :meth:`to_dict` gave (raises KeyError, TypeError or ValueError on another shape)."""
        return cls(
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

    def to_dict(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "mode": self.mode,
            "group": self.group,
            "check": self.check,
            "status": self.status,
            "spec": self.spec,
            "detail": self.detail,
            "evidence": self.evidence,
            "basis": self.basis,
            "inherited_only": self.inherited_only,
        }


@dataclass
class Report:
    """One ``specgen conform`` run: every result, and how long it took."""

    results: list[Result]
    seconds: float
    cached: list[str] = field(default_factory=list)  # providers whose results a cache gave

    @property
    def failed(self) -> bool:
        return any(r.status == FAIL for r in self.results)
