"""Recorded wire transcripts: moved to :mod:`specgen.transcripts` (shared with the audit).

Re-exported here so that ``from specgen.conform.transcripts import ...`` keeps working.
"""

from __future__ import annotations

from specgen.transcripts import (
    API_KEY,
    KINDS,
    SCHEMA,
    Transcript,
    TranscriptError,
    check_file,
    fixture_dirs,
    load,
    set_at,
)

__all__ = ["API_KEY", "KINDS", "SCHEMA", "Transcript", "TranscriptError", "check_file", "fixture_dirs", "load", "set_at"]
