"""The audit side of specgen: what LiteLLM supports, taken from an installed ``litellm``.

- :mod:`specgen.audit.reference` builds the committed snapshot
  ``checklist/litellm_reference.json`` (``specgen reference sync``).
- :mod:`specgen.audit.litellm_capture` runs LiteLLM with its HTTP transport patched, to see
  the request it would send and the OpenAI-shaped result it makes of a recorded response
  (the differential oracle's half that needs LiteLLM).

Neither module imports ``litellm`` at import time: CI installs no LiteLLM and reads the
committed snapshot. ``pip install specgen[reference]`` installs the pinned LiteLLM.
"""

from __future__ import annotations

__all__ = ["LITELLM_MISSING", "LiteLLMMissingError"]

LITELLM_MISSING = "litellm is not installed; install specgen[reference] (pip install 'specgen[reference]')"


class LiteLLMMissingError(ImportError):
    """``litellm`` cannot be imported; the message says how to install it."""

    def __init__(self, cause: BaseException | None = None) -> None:
        detail = f" ({type(cause).__name__}: {cause})" if cause is not None else ""
        super().__init__(LITELLM_MISSING + detail)
