"""Spec errors: every one names ``file:line:column``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Location:
    file: str
    line: int  # 1-based
    column: int  # 1-based

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


class SpecError(Exception):
    """One problem in a spec, at a location."""

    def __init__(self, location: Location, message: str) -> None:
        self.location = location
        self.message = message
        super().__init__(f"{location}: {message}")


class SpecErrors(Exception):
    """Several problems, reported together."""

    def __init__(self, errors: list[SpecError]) -> None:
        self.errors = sorted(errors, key=lambda e: (e.location.file, e.location.line, e.location.column, e.message))
        super().__init__("\n".join(str(e) for e in self.errors))


# ---------------------------------------------------------------------------- GitHub annotations


def github_data(text: str) -> str:
    """A workflow command's message, escaped as GitHub Actions requires (``%``, CR, LF)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def github_property(text: str) -> str:
    """A workflow command's property value (``file=…``): the message escapes, and ``:`` and ``,``."""
    return github_data(text).replace(":", "%3A").replace(",", "%2C")


def github_annotation(message: str, *, file: str | None = None, line: int | None = None, col: int | None = None, level: str = "error") -> str:
    """``::error file=specs/x.yaml,line=12,col=5::message``: one GitHub Actions annotation."""
    props = []
    if file:
        props.append(f"file={github_property(file)}")
        if line:
            props.append(f"line={line}")
            if col:
                props.append(f"col={col}")
    head = f"::{level} {','.join(props)}" if props else f"::{level}"
    return f"{head}::{github_data(message)}"
