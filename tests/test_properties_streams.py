"""Property tests: how a byte stream is cut into chunks never changes what comes out of it.

Two levels:

* the sans-I/O decoders (SSE, NDJSON, JSON array) over streams generated from
  hypothesis data, checked against a model of the protocol and against
  themselves fed whole and fed in arbitrary pieces;
* every generated adapter's ``chat.parse_stream`` over every recorded fixture
  stream (``specs/fixtures/<provider>/chat/stream*``), re-chunked at random.
"""

from __future__ import annotations

import asyncio
import importlib
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from specgen_runtime.streams import JSONArrayDecoder, NDJSONDecoder, SSEDecoder

from strategies import byte_by_byte, chunkings, json_containers, json_texts, json_values

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "specs" / "fixtures"

DECODER_SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)


def decode(cls: type, pieces: Iterable[bytes]) -> list[tuple[str, str]]:
    dec = cls()
    out: list[tuple[str, str]] = []
    for piece in pieces:
        out.extend(dec.feed(piece))
    out.extend(dec.close())
    return out


def check_split_invariance(data: st.DataObject, cls: type, stream: bytes) -> list[tuple[str, str]]:
    """Whole == byte by byte == hypothesis-chosen pieces; returns the frames."""
    whole = decode(cls, [stream])
    assert decode(cls, byte_by_byte(stream)) == whole
    pieces = data.draw(chunkings(stream), label="pieces")
    assert decode(cls, pieces) == whole
    return whole


# ---------------------------------------------------------------------------- SSE

LINE_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"), max_size=16)
DATA_VALUE = st.one_of(LINE_TEXT, json_texts(one_line=True))
# field names the decoder must ignore: not data/event, not a comment, not blank
OTHER_FIELD = st.one_of(
    st.sampled_from(["id", "retry", "foo", "Data", "EVENT", "data ", " data"]),
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n:"), min_size=1, max_size=6),
).filter(lambda n: n not in ("data", "event"))


@st.composite
def sse_line(draw: st.DrawFn) -> tuple[str, str, str | None]:
    """(kind, raw line, value) for one non-blank line of an event."""
    kind = draw(st.sampled_from(["data", "data", "data", "event", "comment", "field"]))
    if kind == "data":
        value = draw(DATA_VALUE)
        styles = ["space"]
        if not value.startswith(" "):
            styles.append("nospace")
        if value == "":
            styles.append("bare")
        style = draw(st.sampled_from(styles))
        raw = {"space": "data: " + value, "nospace": "data:" + value, "bare": "data"}[style]
        return "data", raw, value
    if kind == "event":
        name = draw(LINE_TEXT)
        if name.startswith(" ") or draw(st.booleans()):
            return "event", "event: " + name, name
        return "event", "event:" + name, name
    if kind == "comment":
        return "comment", ":" + draw(LINE_TEXT), None
    name = draw(OTHER_FIELD)
    return "field", name + draw(st.sampled_from(["", ":", ": "])) + draw(LINE_TEXT), None


@st.composite
def sse_streams(draw: st.DrawFn) -> tuple[bytes, list[tuple[str, str]]]:
    """An SSE byte stream and the frames the protocol says it carries."""
    events = draw(st.lists(st.lists(sse_line(), max_size=5), max_size=6))
    lines: list[str] = []
    expected: list[tuple[str, str]] = []
    last_blank = draw(st.booleans())  # False: the final event lacks its blank line
    for i, ev in enumerate(events):
        name = ""
        datas: list[str] = []
        for kind, raw, value in ev:
            lines.append(raw)
            if kind == "data":
                datas.append(value or "")
            elif kind == "event":
                name = value or ""
        if datas:
            expected.append((name, "\n".join(datas)))
        if i < len(events) - 1 or last_blank:
            lines.append("")
        # a blank line that ends no event is harmless; sometimes add extras
        if draw(st.booleans()) and draw(st.booleans()):
            lines.append("")
    mode = draw(st.sampled_from(["\n", "\r\n", "\r", "mixed"]))
    out: list[str] = []
    prev_end = ""
    for j, line in enumerate(lines):
        end = draw(st.sampled_from(["\n", "\r\n", "\r"])) if mode == "mixed" else mode
        if prev_end == "\r" and line == "" and end == "\n":
            end = "\r\n"  # CR then LF would be one CRLF, swallowing the blank line
        if j == len(lines) - 1 and line != "" and draw(st.booleans()):
            end = ""  # the very last line may lack its terminator
        out.append(line + end)
        prev_end = end
    return "".join(out).encode("utf-8"), expected


@DECODER_SETTINGS
@given(sse_streams(), st.data())
def test_sse_frames_independent_of_chunking(stream_and_frames: tuple[bytes, list[tuple[str, str]]], data: st.DataObject) -> None:
    stream, expected = stream_and_frames
    frames = check_split_invariance(data, SSEDecoder, stream)
    assert frames == expected


@DECODER_SETTINGS
@given(sse_streams(), st.data())
def test_sse_leading_byte_order_mark_is_ignored(stream_and_frames: tuple[bytes, list[tuple[str, str]]], data: st.DataObject) -> None:
    """WHATWG: one U+FEFF at the very start of the stream is dropped, however the bytes are cut."""
    stream, expected = stream_and_frames
    assert check_split_invariance(data, SSEDecoder, b"\xef\xbb\xbf" + stream) == expected


@DECODER_SETTINGS
@given(st.lists(st.tuples(LINE_TEXT, st.lists(DATA_VALUE, min_size=1, max_size=3)), max_size=5), st.data())
def test_sse_line_endings_are_equivalent(events: list[tuple[str, list[str]]], data: st.DataObject) -> None:
    """The same events written with LF, CRLF or CR give the same frames, however cut."""
    lf = "".join("event: " + name + "\n" + "".join("data: " + d + "\n" for d in datas) + "\n" for name, datas in events)
    results = []
    for end in ("\n", "\r\n", "\r"):
        stream = lf.replace("\n", end).encode("utf-8")
        results.append(check_split_invariance(data, SSEDecoder, stream))
    assert results[0] == results[1] == results[2] == [(n, "\n".join(ds)) for n, ds in events]


# ---------------------------------------------------------------------------- NDJSON

BLANK = st.sampled_from(["", " ", "\t", "  \t "])
PAD = st.sampled_from(["", "", " ", "\t"])


@st.composite
def ndjson_streams(draw: st.DrawFn) -> tuple[bytes, list[tuple[str, str]], list[Any]]:
    values = draw(st.lists(json_values, max_size=8))
    lines: list[str] = []
    texts: list[str] = []
    for value in values:
        for _ in range(draw(st.integers(0, 2))):
            lines.append(draw(BLANK))
        text = draw(PAD) + json.dumps(value, ensure_ascii=draw(st.booleans())) + draw(PAD)
        lines.append(text)
        texts.append(text)
    mode = draw(st.sampled_from(["\n", "\r\n", "\r", "mixed"]))
    out = []
    for j, line in enumerate(lines):
        end = draw(st.sampled_from(["\n", "\r\n", "\r"])) if mode == "mixed" else mode
        if j == len(lines) - 1 and draw(st.booleans()):
            end = ""  # no newline after the last value
        out.append(line + end)
    return "".join(out).encode("utf-8"), [("", t) for t in texts], values


@DECODER_SETTINGS
@given(ndjson_streams(), st.data())
def test_ndjson_frames_independent_of_chunking(stream_frames_values: tuple[bytes, list[tuple[str, str]], list[Any]], data: st.DataObject) -> None:
    stream, expected, values = stream_frames_values
    frames = check_split_invariance(data, NDJSONDecoder, stream)
    assert frames == expected
    assert [json.loads(d) for _, d in frames] == values


# ---------------------------------------------------------------------------- JSON array

WS = st.text(st.sampled_from(" \t\r\n"), max_size=3)


@st.composite
def json_array_streams(draw: st.DrawFn) -> tuple[bytes, list[tuple[str, str]], list[Any]]:
    values = draw(st.lists(json_containers, max_size=6))
    texts = [
        json.dumps(v, ensure_ascii=draw(st.booleans()), indent=draw(st.sampled_from([None, 1, "\t"])))
        for v in values
    ]
    parts = [draw(WS), "["]
    for i, text in enumerate(texts):
        if i:
            parts += [draw(WS), ",", draw(WS)]
        else:
            parts.append(draw(WS))
        parts.append(text)
    parts += [draw(WS), "]", draw(WS)]
    return "".join(parts).encode("utf-8"), [("", t) for t in texts], values


@DECODER_SETTINGS
@given(json_array_streams(), st.data())
def test_json_array_frames_independent_of_chunking(stream_frames_values: tuple[bytes, list[tuple[str, str]], list[Any]], data: st.DataObject) -> None:
    stream, expected, values = stream_frames_values
    frames = check_split_invariance(data, JSONArrayDecoder, stream)
    assert frames == expected
    assert [json.loads(d) for _, d in frames] == values


# ---------------------------------------------------------------------------- whole adapters over the fixtures

STREAM_FIXTURES = sorted(
    [*FIXTURES.glob("*/chat/stream*.sse"), *FIXTURES.glob("*/chat/stream*.ndjson")],
    key=lambda p: (p.parent.parent.name, p.name),
)


def _fixture_id(path: Path) -> str:
    return f"{path.parent.parent.name}/{path.name}"


def _adapter(path: Path) -> Any:
    """specs/fixtures/<name>/... → specgen_providers.<name>."""
    return importlib.import_module(f"specgen_providers.{path.parent.parent.name}")


def _normalize(chunks: list[dict[str, Any]], source: bytes) -> list[Any]:
    """Drop ``created`` (a clock reading) and rename ids the adapter invented.

    An id that appears in the fixture bytes came from the provider and is kept;
    any other id (``chatcmpl-…``/``call_…`` from uuid) is replaced by its order
    of first appearance, so equal ids stay equal and different ones different.
    """
    invented: dict[str, str] = {}

    def walk(value: Any, key: str | None = None) -> Any:
        if isinstance(value, dict):
            return {k: walk(v, k) for k, v in value.items() if not (k == "created" and isinstance(v, int))}
        if isinstance(value, list):
            return [walk(v) for v in value]
        if key == "id" and isinstance(value, str) and value and json.dumps(value).encode() not in source:
            return invented.setdefault(value, f"<invented id #{len(invented)}>")
        return value

    return [walk(c) for c in chunks]


def _run(adapter: Any, pieces: list[bytes]) -> tuple[list[dict[str, Any]], type[BaseException] | None, str | None]:
    out: list[dict[str, Any]] = []
    try:
        for chunk in adapter.chat.parse_stream(iter(pieces)):
            out.append(chunk.to_dict())
    except Exception as exc:
        return out, type(exc), str(exc)
    return out, None, None


def _run_async(adapter: Any, pieces: list[bytes]) -> tuple[list[dict[str, Any]], type[BaseException] | None, str | None]:
    async def gen() -> Any:
        for p in pieces:
            yield p

    async def main() -> tuple[list[dict[str, Any]], type[BaseException] | None, str | None]:
        out: list[dict[str, Any]] = []
        try:
            async for chunk in adapter.chat.aparse_stream(gen()):
                out.append(chunk.to_dict())
        except Exception as exc:
            return out, type(exc), str(exc)
        return out, None, None

    return asyncio.run(main())


def _line_ending_variants(path: Path, raw: bytes) -> Iterator[tuple[str, bytes]]:
    yield "LF", raw
    yield "CRLF", raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    yield "CR", raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r")


def test_fixture_streams_found() -> None:
    names = {_fixture_id(p) for p in STREAM_FIXTURES}
    assert names, "no stream fixtures under specs/fixtures"
    assert any(n.endswith(".ndjson") for n in names) and any(n.endswith(".sse") for n in names)


@pytest.mark.parametrize("path", STREAM_FIXTURES, ids=_fixture_id)
def test_fixture_stream_baseline(path: Path) -> None:
    """Sanity of the baseline the property compares against: something comes out, errors are typed."""
    from specgen_runtime.errors import LLMError

    adapter = _adapter(path)
    raw = path.read_bytes()
    chunks, err, _ = _run(adapter, [raw])
    assert chunks, f"{_fixture_id(path)} produced no chunks"
    if "error" in path.name:
        assert err is not None and issubclass(err, LLMError), f"{_fixture_id(path)}: expected a typed error, got {err}"
    else:
        assert err is None, f"{_fixture_id(path)} raised {err}"
    # line endings are the transport's business, not the adapter's
    base = _normalize(chunks, raw)
    for label, variant in _line_ending_variants(path, raw):
        v_chunks, v_err, _v_msg = _run(adapter, [variant])
        assert (_normalize(v_chunks, variant), v_err) == (base, err), label


@pytest.mark.parametrize("path", STREAM_FIXTURES, ids=_fixture_id)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_fixture_stream_independent_of_chunking(path: Path, data: st.DataObject) -> None:
    adapter = _adapter(path)
    raw = path.read_bytes()
    _label, stream = data.draw(st.sampled_from(list(_line_ending_variants(path, raw))), label="line endings")
    whole, whole_err, whole_msg = _run(adapter, [stream])
    expected = (_normalize(whole, stream), whole_err, whole_msg)

    pieces = data.draw(chunkings(stream, max_cuts=60), label="pieces")
    got, err, msg = _run(adapter, pieces)
    assert (_normalize(got, stream), err, msg) == expected

    a_got, a_err, a_msg = _run_async(adapter, pieces)
    assert (_normalize(a_got, stream), a_err, a_msg) == expected


@pytest.mark.parametrize("path", STREAM_FIXTURES, ids=_fixture_id)
def test_fixture_stream_byte_by_byte(path: Path) -> None:
    adapter = _adapter(path)
    raw = path.read_bytes()
    whole, err, msg = _run(adapter, [raw])
    got, got_err, got_msg = _run(adapter, byte_by_byte(raw))
    assert (_normalize(got, raw), got_err, got_msg) == (_normalize(whole, raw), err, msg)
