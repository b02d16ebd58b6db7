"""The generated adapters, used from outside: built fresh from specs, and their streams folded.

Shared by :mod:`specgen.conform` (which drives the adapters against a loopback fake) and
:mod:`specgen.audit` (whose differential oracle puts them next to LiteLLM):

* :func:`built_adapters` builds the specs into a temporary package and imports each adapter;
* :func:`accumulate` folds a stream's OpenAI chunks into what a caller ends up with.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import random
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

from specgen.spec.resolve import ResolvedSpec


@contextlib.contextmanager
def built_package(specs_dir: Path, names: list[str] | None = None) -> Iterator[str]:
    """The specs (or ``names``) freshly built into a temporary package importable by the name
    yielded (removed, with its modules, on exit). Raises
    :class:`~specgen.spec.errors.SpecErrors` for a bad spec."""
    from specgen.build.compiler import build

    tmp = Path(tempfile.mkdtemp(prefix="specgen-conform-"))
    package = f"_specgen_conform_{os.getpid()}_{random.randrange(1 << 30):x}"
    try:
        build(specs_dir, tmp / package, only=names or None, force=True)
        sys.path.insert(0, str(tmp))
        try:
            yield package
        finally:
            sys.path.remove(str(tmp))
            for name in [m for m in sys.modules if m == package or m.startswith(package + ".")]:
                del sys.modules[name]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@contextlib.contextmanager
def built_adapters(specs_dir: Path, names: list[str] | None = None) -> Iterator[list[tuple[ResolvedSpec, ModuleType]]]:
    """The specs, each with its adapter module freshly built into a temporary package (removed,
    with its modules, on exit). Raises :class:`~specgen.spec.errors.SpecErrors` for a bad spec."""
    from specgen.spec.resolve import load_specs

    specs = load_specs(specs_dir, only=names or None)
    with built_package(specs_dir, names) as package:
        yield [(spec, importlib.import_module(f"{package}.{spec.name}")) for spec in specs]


def accumulate(chunks: list[dict[str, Any]]) -> dict[str, Any]:
    """Stream chunks folded into one result: what a caller ends up with."""
    out: dict[str, Any] = {"id": None, "model": None, "content": None, "reasoning_content": None, "tool_calls": [], "finish_reason": None, "usage": None, "chunks": len(chunks)}
    calls: dict[int, dict[str, Any]] = {}
    for ch in chunks:
        if out["id"] is None and ch.get("id"):
            out["id"] = ch["id"]
        if ch.get("model"):
            out["model"] = ch["model"]
        for choice in ch.get("choices") or ():
            if isinstance(choice.get("text"), str):  # a text-completion chunk: its text is the content
                out["content"] = (out["content"] or "") + choice["text"]
            delta = choice.get("delta") or {}
            for key in ("content", "reasoning_content"):
                if isinstance(delta.get(key), str):
                    out[key] = (out[key] or "") + delta[key]
            for tc in delta.get("tool_calls") or ():
                slot = calls.setdefault(int(tc.get("index", len(calls))), {"id": None, "type": "function", "function": {"name": None, "arguments": ""}})
                if tc.get("id"):
                    slot["id"] = tc["id"]
                fn = tc.get("function") or {}
                if fn.get("name"):
                    slot["function"]["name"] = fn["name"]
                if isinstance(fn.get("arguments"), str):
                    slot["function"]["arguments"] += fn["arguments"]
            if choice.get("finish_reason"):
                out["finish_reason"] = choice["finish_reason"]
        if ch.get("usage"):
            out["usage"] = ch["usage"]
    out["tool_calls"] = [calls[i] for i in sorted(calls)]
    return out
