"""``specgen.runtime`` is now the top-level package ``specgen_runtime``, shipped with the adapters
in the ``specgen-providers`` distribution (so that an application that only imports adapters does
not install the compiler). This alias keeps ``from specgen.runtime.errors import RateLimitError``
and the like working: each ``specgen.runtime.X`` is the very module ``specgen_runtime.X``."""

from __future__ import annotations

import importlib
import sys

from specgen_runtime import *  # noqa: F403  (the public names: errors and result types)
from specgen_runtime import __all__ as __all__

for _name in ("core", "errors", "http", "modes", "shape", "streams", "transforms", "transport", "types", "wires"):
    sys.modules[f"{__name__}.{_name}"] = importlib.import_module(f"specgen_runtime.{_name}")
