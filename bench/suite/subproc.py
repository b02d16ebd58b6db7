"""Measured subprocesses: their environment (a private, warm bytecode cache) and the
``specgen`` command they run.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

_SUB_ENV: dict[str, str] = {}


def sub_env() -> dict[str, str]:
    """The environment of every measured subprocess: a private, warm bytecode cache.

    ``PYTHONPYCACHEPREFIX`` points at a temporary folder (so nothing is written beside
    the sources) and ``PYTHONDONTWRITEBYTECODE`` is dropped, so that after one untimed
    run every module (httpx's and specgen's alike) loads from bytecode, as it does from
    an installed wheel.
    """
    return _SUB_ENV or raw_env()


def raw_env() -> dict[str, str]:
    """This process's environment as it is (minus import profiling; LiteLLM kept offline)."""
    env = dict(os.environ, LITELLM_LOCAL_MODEL_COST_MAP="True")
    env.pop("PYTHONPROFILEIMPORTTIME", None)
    return env


def private_bytecode_cache() -> tempfile.TemporaryDirectory[str]:
    """Make ``sub_env()`` point at a fresh bytecode cache; the caller cleans the folder up."""
    pycache = tempfile.TemporaryDirectory(prefix="specgen-bench-pycache-")
    _SUB_ENV.update(raw_env())
    _SUB_ENV.pop("PYTHONDONTWRITEBYTECODE", None)
    _SUB_ENV["PYTHONPYCACHEPREFIX"] = pycache.name
    return pycache


def specgen_cmd() -> list[str]:
    exe = Path(sys.executable).parent / ("specgen.exe" if os.name == "nt" else "specgen")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("specgen")
    return [found] if found else [sys.executable, "-m", "specgen"]


def last_line(out: bytes) -> str:
    """The last line a command printed (specgen's one-line summary)."""
    lines = out.decode(errors="replace").strip().splitlines()
    return lines[-1] if lines else ""
