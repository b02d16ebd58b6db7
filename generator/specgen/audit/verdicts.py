"""Maintainers' verdicts on the differential oracle's differences.

``checklist/oracle_verdicts.yaml`` is written by hand and never by a command, so a verdict
survives every regeneration of ``oracle.json`` and of the checklist. One entry per difference
id (as the checklist shows it), or per pattern (``*`` matches anything, ``/`` included; ``?``
one character; nothing else is special, so the ``[]`` of an id's list paths is literal)::

    anthropic/chat/error/status 529:error/value:
      verdict: ours          # ours (specgen is right) | litellm (LiteLLM is right) | both (both acceptable)
      note: Anthropic documents 529 overloaded_error; a 503-class error is what retries expect
    "*/error/status 502:error/value": {verdict: both, note: ...}

An exact id wins over patterns; among patterns the first in the file wins. ``specgen audit``
lists each difference with its verdict (``unreviewed`` when none applies), counts a difference
judged ``litellm`` as one of our gaps, and lists exact ids that match no current difference.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["VERDICTS", "VERDICTS_FILE", "Verdict", "VerdictError", "load_verdicts", "verdict_for"]

VERDICTS_FILE = "oracle_verdicts.yaml"
#: verdict → what the checklist says
VERDICTS = {"ours": "ours right", "litellm": "LiteLLM right", "both": "both acceptable"}
UNREVIEWED = "unreviewed"


class VerdictError(ValueError):
    """The verdicts file cannot be used; the message starts with ``file:line:column``."""


@dataclass(frozen=True)
class Verdict:
    key: str  # a difference id, or a glob pattern over ids
    verdict: str  # ours | litellm | both
    note: str
    line: int

    @property
    def pattern(self) -> bool:
        return "*" in self.key or "?" in self.key

    def matches(self, diff_id: str) -> bool:
        """``*`` matches any run of characters, ``?`` one; everything else (``[]`` in an id's
        list paths included) is literal."""
        regex = re.escape(self.key).replace(r"\*", ".*").replace(r"\?", ".")
        return re.fullmatch(regex, diff_id, flags=re.DOTALL) is not None


def load_verdicts(path: Path, shown: str | None = None) -> list[Verdict]:
    """The verdicts in ``path`` in file order (none when the file does not exist)."""
    import yaml

    where = shown or path.name
    if not path.is_file():
        return []
    text = path.read_text(encoding="utf-8")
    try:
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f"{mark.line + 1}:{mark.column + 1}" if mark is not None else "1:1"
        raise VerdictError(f"{where}:{at}: invalid YAML: {getattr(exc, 'problem', exc)}") from None
    if root is None:
        return []
    if not isinstance(root, yaml.MappingNode):
        raise VerdictError(f"{where}:{root.start_mark.line + 1}:{root.start_mark.column + 1}: expected a mapping of difference id → {{verdict, note}}")
    out: list[Verdict] = []
    seen: set[str] = set()
    for key_node, value_node in root.value:
        at = f"{where}:{key_node.start_mark.line + 1}:{key_node.start_mark.column + 1}"
        key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
        if not isinstance(key, str) or not key.strip():
            raise VerdictError(f"{at}: a key must be a difference id or a pattern")
        if key in seen:
            raise VerdictError(f"{at}: {key!r} is given twice")
        seen.add(key)
        value: Any = yaml.safe_load(yaml.serialize(value_node))
        if not isinstance(value, dict):
            raise VerdictError(f"{at}: {key}: expected {{verdict: ours|litellm|both, note: ...}}")
        unknown = set(value) - {"verdict", "note"}
        if unknown:
            raise VerdictError(f"{at}: {key}: unknown field {sorted(unknown)[0]!r} (fields: verdict, note)")
        verdict = value.get("verdict")
        if verdict not in VERDICTS:
            raise VerdictError(f"{at}: {key}: verdict must be one of {', '.join(VERDICTS)}, not {verdict!r}")
        note = value.get("note") or ""
        if not isinstance(note, str):
            raise VerdictError(f"{at}: {key}: note must be text")
        out.append(Verdict(key, str(verdict), " ".join(note.split()), key_node.start_mark.line + 1))
    return out


def verdict_for(diff_id: str, verdicts: list[Verdict]) -> Verdict | None:
    """The verdict that applies to a difference id: its exact entry, else the first pattern."""
    for v in verdicts:
        if v.key == diff_id:
            return v
    for v in verdicts:
        if v.pattern and v.matches(diff_id):
            return v
    return None
