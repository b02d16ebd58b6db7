"""Wires: one module per wire format, and the one registry that names them.

A spec names the wire each mode speaks (``format: anthropic``). A wire is a module that provides
the :class:`Wire` interface below; generated adapters import it by its dotted name and call its
functions. Spec validation, the build, conformance and the audit all learn which wires exist, which
modes each serves and how to sample it from this registry, and from nowhere else: adding a wire is a
spec, one module and its tests.

The built-in wires are :mod:`.openai`, :mod:`.anthropic`, :mod:`.gemini`, :mod:`.ollama` and
:mod:`.vertex_predict` (and the others :data:`BUILTIN` lists). A
project adds its own from a plug-in module it names in its configuration (``[tool.specgen]
plugins`` in its ``pyproject.toml``, or ``--plugin``), never from a spec: the plug-in calls
:func:`register` for each wire module it brings, and declares its transforms with
:func:`specgen_runtime.transforms.transform`.
"""

from __future__ import annotations

import importlib
import re
from types import ModuleType
from typing import TYPE_CHECKING, Any, Protocol

from specgen_runtime.transforms import Transform, registered

if TYPE_CHECKING:
    from specgen_runtime.core import StreamState
    from specgen_runtime.wires._common import Choices, StreamChoices

__all__ = ["BUILTIN", "Wire", "load", "module_of", "names", "register", "transforms"]

#: wire name → module
BUILTIN: dict[str, str] = {
    "openai": "specgen_runtime.wires.openai",
    "anthropic": "specgen_runtime.wires.anthropic",
    "gemini": "specgen_runtime.wires.gemini",
    "ollama": "specgen_runtime.wires.ollama",
    "vertex_predict": "specgen_runtime.wires.vertex_predict",
    "bedrock": "specgen_runtime.wires.bedrock",
}
_WIRES: dict[str, str] = dict(BUILTIN)

DOTTED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
NAME = re.compile(r"[a-z][a-z0-9_]*")


class Wire(Protocol):
    """What a wire module provides (a module satisfies a Protocol by its attributes).

    Metadata, read by the build and conformance:

    - ``NAME``: the name specs use (``format: NAME``);
    - ``MODES``: the modes it serves (``chat``, ``embeddings``, ``completions``);
    - ``STREAMS``: whether a chat stream's events are whole objects it reads
      (``stream.format: NAME``); otherwise a spec describes the stream with an event table;
    - ``PASSTHROUGH``: the response body is already OpenAI's (checked and passed on, not rebuilt);
    - ``RESPONSE_DEFAULTS``: response paths (``id``, ``created``, ``finish_reason``) a spec that
      says nothing gets;
    - ``CHOICE_PREFIX``: where a response's first choice lives (``choices.0.``), so conformance can
      place a finish reason it varies;
    - ``PARAMS_ROOT``: per mode, where mapped params go inside the body (``("requests", "0")``).

    Functions, called by generated adapters (those of a mode it does not serve may be absent):

    - ``chat_request(body, messages)`` writes the conversation into the body;
    - ``chat_finalize(body)``: last fix-ups once every param is placed;
    - ``chat_choices(data)``: ``[(finish_source, message, index)]`` of a response;
    - ``stream_choices(obj, state)``: ``[(index, delta, raw_finish_reason)]`` of one stream event
      (``STREAMS`` wires);
    - ``completions_request(body, prompt, suffix)`` and ``completions_choices(data)``: a text
      completion's request, and the OpenAI ``text_completion`` choices (``index``, ``text``,
      ``logprobs``, ``finish_reason``) of a response or of one stream chunk;
    - ``embeddings_request(body, inputs, model)`` and ``embeddings_data(data)``; optionally
      ``embeddings_usage(data)``, the OpenAI ``usage`` of a response whose token counts are not in
      one place a spec's ``response.usage`` paths can name (or None).

    Its own transforms (``openai_tools_to_anthropic``) are declared in the module with
    :func:`~specgen_runtime.transforms.transform`.
    """

    NAME: str
    MODES: frozenset[str]
    STREAMS: bool
    PASSTHROUGH: bool
    RESPONSE_DEFAULTS: dict[str, str]
    CHOICE_PREFIX: str
    PARAMS_ROOT: dict[str, tuple[str, ...]]

    def chat_request(self, body: dict[str, Any], messages: Any) -> None: ...

    def chat_finalize(self, body: dict[str, Any]) -> None: ...

    def chat_choices(self, data: dict[str, Any]) -> Choices: ...

    def stream_choices(self, obj: dict[str, Any], state: StreamState) -> StreamChoices: ...

    def embeddings_request(self, body: dict[str, Any], inputs: Any, model: str) -> None: ...

    def embeddings_data(self, data: dict[str, Any]) -> list[dict[str, Any]]: ...


def register(module: str) -> str:
    """Register the wire module ``module`` (a dotted name) under its ``NAME``; returns the name."""
    if not DOTTED.fullmatch(module):
        raise ValueError(f"{module!r} is not a dotted module name")
    loaded = importlib.import_module(module)
    name = getattr(loaded, "NAME", None)
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise ValueError(f"wire module {module} has no valid NAME (a lower-case identifier)")
    known = _WIRES.get(name)
    if known is not None and known != module:
        raise ValueError(f"wire {name!r} is already {known}; {module} cannot take its name")
    missing = [
        a
        for a in (
            "MODES",
            "STREAMS",
            "PASSTHROUGH",
            "RESPONSE_DEFAULTS",
            "CHOICE_PREFIX",
            "PARAMS_ROOT",
        )
        if not hasattr(loaded, a)
    ]
    needs = {
        "chat": ("chat_request", "chat_finalize", "chat_choices"),
        "embeddings": ("embeddings_request", "embeddings_data"),
        "completions": ("completions_request", "completions_choices"),
    }
    for mode in getattr(loaded, "MODES", ()):
        missing += [f for f in needs.get(mode, ()) if not callable(getattr(loaded, f, None))]
    if getattr(loaded, "STREAMS", False) and not callable(getattr(loaded, "stream_choices", None)):
        missing.append("stream_choices")
    if missing:
        raise ValueError(f"wire module {module} lacks {', '.join(missing)}")
    _WIRES[name] = module
    return name


def names() -> list[str]:
    """Every wire known: the built-in ones and those plug-ins registered."""
    return sorted(_WIRES)


def module_of(name: str) -> str:
    return _WIRES[name]


def load(name: str) -> Wire:
    """The wire module of ``name`` (a ``KeyError`` for an unknown one)."""
    module: ModuleType = importlib.import_module(_WIRES[name])
    return module


def transforms() -> dict[str, Transform]:
    """Every transform: the wire-neutral ones and those of every known wire (importing a wire
    module declares its transforms)."""
    for name in _WIRES:
        load(name)
    return registered()
