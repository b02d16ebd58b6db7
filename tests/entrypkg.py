"""A small generated package for the entry-point tests (completion(), the registry, the Router):
built from specs written here, so that the tests do not move when the built-in specs do.

- ``acme`` (OpenAI wire): naming prefix ``acme-ai/`` (a ``-``, where its module is ``acme``), the
  alias ``acme_old``, known models with prices, cache prices and capabilities;
- ``beta`` (OpenAI wire): knows ``shared-1`` too, at another price (both extend openai: a bare
  ``shared-1`` is ambiguous);
- ``anthropic``: the built-in spec, copied;
- ``resell`` (``extends: anthropic``): knows ``claude-sonnet-4-5`` too (a bare id goes to
  ``anthropic``, the one of the two that extends no other spec).
"""

from __future__ import annotations

import importlib
import shutil
import sys
from pathlib import Path
from types import ModuleType

from specgen.build.compiler import build

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "entrypkg_providers"

ACME = """\
name: acme
extends: openai
display_name: Acme
model_naming: acme-ai/<model>
aliases: [acme_old]
base_url: https://api.acme.example/v1
env: { api_key: ACME_API_KEY, base_url: ACME_BASE_URL }
models:
  known:
    - { id: acme-large, context_window: 128000, max_output: 8192, tools: true, vision: true, prompt_caching: true,
        input_cost_per_token: 0.000002, output_cost_per_token: 0.00001,
        cache_read_input_token_cost: 0.0000005, cache_creation_input_token_cost: 0.0000025 }
    - { id: acme-small, context_window: 32000, reasoning: true, response_format: true,
        input_cost_per_token: 0.0000001, output_cost_per_token: 0.0000004 }
    - { id: acme-embed, mode: embeddings, context_window: 8192, output_vector_size: 3, input_cost_per_token: 0.00000002 }
    - { id: shared-1, context_window: 8000, input_cost_per_token: 0.000001, output_cost_per_token: 0.000002 }
"""

BETA = """\
name: beta
extends: openai
model_naming: beta/<model>
base_url: https://api.beta.example/v1
env: { api_key: BETA_API_KEY }
models:
  known:
    - { id: shared-1, context_window: 16000, input_cost_per_token: 0.000003, output_cost_per_token: 0.000004 }
"""


RESELL = """\
name: resell
extends: anthropic
model_naming: resell/<model>
base_url: https://api.resell.example
env: { api_key: RESELL_API_KEY }
models:
  known:
    - { id: claude-sonnet-4-5, context_window: 100000 }
"""


def build_package(folder: Path) -> ModuleType:
    """Build the specs into ``folder/out/entrypkg_providers`` and import the package."""
    specs = folder / "specs"
    (specs / "fixtures").mkdir(parents=True, exist_ok=True)
    (specs / "acme.yaml").write_text(ACME)
    (specs / "beta.yaml").write_text(BETA)
    (specs / "resell.yaml").write_text(RESELL)
    shutil.copy(ROOT / "specs" / "anthropic.yaml", specs / "anthropic.yaml")
    out = folder / "out"
    build(specs, out / PACKAGE)
    for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
        del sys.modules[name]
    if str(out) not in sys.path:
        sys.path.insert(0, str(out))
    importlib.invalidate_caches()
    return importlib.import_module(PACKAGE)
