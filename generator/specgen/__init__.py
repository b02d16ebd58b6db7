"""specgen: a declarative, spec-driven compiler for LLM provider adapters.

Folders say what lives in them:

- ``specgen.spec``    the ProviderSpec language: JSON Schema, loader, semantic checks
- ``specgen.build``   the compiler that renders specs into Python adapter modules
- ``specgen_runtime`` what generated adapters import (never imports the build side)
- ``specgen.conform`` the conformance runner
"""

__version__ = "0.1.0"
