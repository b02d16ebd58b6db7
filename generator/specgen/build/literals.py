"""The one door from spec strings into generated code.

``lit`` turns a value into a Python literal that evaluates back to exactly that
value; ``ident`` lets through only validated identifiers; ``comment`` makes text
safe inside a ``#`` comment.  Templates use nothing else to place spec data.
"""

from __future__ import annotations

import keyword
import math
import re
from typing import Any

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class LiteralError(TypeError):
    pass


def lit(value: Any) -> str:
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, int):
        return repr(int(value))
    if isinstance(value, float):
        if math.isfinite(value):
            return repr(float(value))
        return f"float({str(value)!r})"
    if isinstance(value, str):
        return repr(str(value))
    if isinstance(value, tuple):
        if len(value) == 1:
            return f"({lit(value[0])},)"
        return "(" + ", ".join(lit(v) for v in value) + ")"
    if isinstance(value, list):
        return "[" + ", ".join(lit(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{lit(k)}: {lit(v)}" for k, v in value.items()) + "}"
    raise LiteralError(f"cannot emit a {type(value).__name__} as a literal")


def ident(name: str) -> str:
    if not isinstance(name, str) or not _IDENT.match(name) or keyword.iskeyword(name):
        raise LiteralError(f"not a valid identifier: {name!r}")
    return name


def dotted(name: str) -> str:
    """A dotted module name (``specgen_runtime.wires.anthropic``), each part a valid identifier."""
    if not isinstance(name, str) or not name:
        raise LiteralError(f"not a module name: {name!r}")
    for part in name.split("."):
        ident(part)
    return name


def comment(text: Any) -> str:
    """Printable ASCII on one line: safe after ``#``."""
    return str(text).encode("unicode_escape").decode("ascii").replace('"', "\\x22")


def json_compatible(value: Any) -> bool:
    if value is None or isinstance(value, bool | int | str):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(json_compatible(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and json_compatible(v) for k, v in value.items())
    return False
