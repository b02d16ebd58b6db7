"""Hypothesis strategies shared by the property tests (streams, adapters, rendering).

Nothing here touches the repository: streams are built in memory and specs are
written to temporary folders by the tests themselves.
"""

from __future__ import annotations

import json
import re
from typing import Any

from hypothesis import strategies as st

# ---------------------------------------------------------------------------- text

# Any character that can be written to a UTF-8 file: no lone surrogates; no NUL.
CHARS = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")

# Text that has been known to break code generators: quoting, escapes, line ends
# (including the ones only str.splitlines() knows), template syntax, unicode.
HOSTILE_FRAGMENTS = (
    '"',
    "'",
    '"""',
    "'''",
    "\\",
    "\\\\",
    "\\n",
    "\\x00",
    "\\u0000",
    "\\N{BULLET}",
    "\n",
    "\r",
    "\r\n",
    "\t",
    "\x0b",
    "\x0c",
    "\x1c",
    "\x85",
    "\u2028",
    "\u2029",
    "\ufeff",
    "#",
    "# noqa",
    "{",
    "}",
    "{}",
    "{{",
    "}}",
    "{{ p.name }}",
    "{%",
    "%}",
    "{% raw %}",
    "{#",
    "#}",
    "${x}",
    "%s",
    "{0}",
    "f'{x}'",
    ")",
    "]",
    "):",
    ";",
    " ",
    "é",
    "日本語",
    "🙂",
    "Σ",
    "İ",
    "\u202e",
    "\x1b[31m",
    "__import__('os').system('echo pwned')",
    '__import__("os").system("echo pwned")',
    "import os",
    "\nimport os\n",
    "lambda: 0",
)


def hostile_text(min_size: int = 0, max_parts: int = 6) -> st.SearchStrategy[str]:
    """Arbitrary NUL-free text, heavily seasoned with hostile fragments."""
    part = st.one_of(st.sampled_from(HOSTILE_FRAGMENTS), st.text(CHARS, max_size=6))
    text = st.one_of(
        st.lists(part, max_size=max_parts).map("".join),
        st.text(CHARS, max_size=12),
    )
    if min_size:
        text = text.filter(lambda s: len(s) >= min_size)
    return text


# printable ASCII (and tab): what an HTTP/1.1 header value can carry byte-for-byte
_HEADER_VALUE_CHARS = st.characters(min_codepoint=0x20, max_codepoint=0x7E) | st.just("\t")
ASCII_HOSTILE = tuple(f for f in HOSTILE_FRAGMENTS if all(c == "\t" or 0x20 <= ord(c) <= 0x7E for c in f))


def header_values() -> st.SearchStrategy[str]:
    part = st.one_of(st.sampled_from(ASCII_HOSTILE), st.text(_HEADER_VALUE_CHARS, max_size=6))
    return st.lists(part, max_size=6).map("".join)


# RFC 9110 token characters: the schema's propertyNames pattern for headers
TOKEN_CHARS = "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
TOKEN_RE = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")


def header_names() -> st.SearchStrategy[str]:
    return st.text(st.sampled_from(TOKEN_CHARS), min_size=1, max_size=12)


# ---------------------------------------------------------------------------- JSON

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(CHARS | st.just("\x00"), max_size=10),
)

json_values: st.SearchStrategy[Any] = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.text(CHARS, max_size=6), children, max_size=4),
    ),
    max_leaves=12,
)

json_containers: st.SearchStrategy[Any] = st.one_of(
    st.lists(json_values, max_size=4),
    st.dictionaries(st.text(CHARS, max_size=6), json_values, max_size=4),
)


@st.composite
def json_texts(draw: st.DrawFn, values: st.SearchStrategy[Any] = json_values, one_line: bool = True) -> str:
    """A JSON document for a drawn value, in one of several legal spellings."""
    value = draw(values)
    ensure_ascii = draw(st.booleans())
    seps = draw(st.sampled_from([(",", ":"), (", ", ": "), (",", ": ")]))
    indent = None if one_line else draw(st.sampled_from([None, 1, 2, "\t"]))
    return json.dumps(value, ensure_ascii=ensure_ascii, separators=seps, indent=indent)


# ---------------------------------------------------------------------------- chunking


def interesting_cuts(data: bytes) -> list[int]:
    """Offsets that split a multi-byte UTF-8 character or a CRLF pair."""
    out = [i for i in range(1, len(data)) if 0x80 <= data[i] <= 0xBF]
    out += [i + 1 for i in range(len(data) - 1) if data[i : i + 2] == b"\r\n"]
    return out


@st.composite
def chunkings(draw: st.DrawFn, data: bytes, max_cuts: int = 40) -> list[bytes]:
    """``data`` cut into pieces at hypothesis-chosen offsets (empty pieces included)."""
    n = len(data)
    special = interesting_cuts(data)
    offset = st.integers(min_value=0, max_value=n)
    if special:
        offset = st.one_of(offset, st.sampled_from(special))
    cuts = sorted(draw(st.lists(offset, max_size=max_cuts)))
    pieces: list[bytes] = []
    prev = 0
    for c in cuts:
        pieces.append(data[prev:c])
        prev = c
    pieces.append(data[prev:])
    assert b"".join(pieces) == data
    return pieces


def byte_by_byte(data: bytes) -> list[bytes]:
    return [data[i : i + 1] for i in range(len(data))]
