"""The AWS event stream decoders (``specgen_runtime.streams``): botocore's reader under ours, frames
split anywhere, both checksums checked, exceptions as AWS JSON error bodies, PayloadParts as SSE."""

from __future__ import annotations

import json
import struct

import pytest
from eventstream_util import encode, event, message, regenerate
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from specgen_runtime.streams import (
    EventStreamDecoder,
    EventStreamSSEDecoder,
    StreamDecodeError,
    make_decoder,
)

from conftest import FIXTURES

EVENTS = [
    {"event": "messageStart", "payload": {"role": "assistant"}},
    {"event": "contentBlockDelta", "payload": {"contentBlockIndex": 0, "delta": {"text": "Héllo ✓"}}},
    {"event": "messageStop", "payload": {"stopReason": "end_turn"}},
    {"exception": "throttlingException", "payload": {"message": "Too many requests"}},
]
DATA = encode(EVENTS)


def _decode(decoder: EventStreamDecoder, pieces: list[bytes]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for piece in pieces:
        out.extend(decoder.feed(piece))
    out.extend(decoder.close())
    return out


def test_events_are_members_and_exceptions_error_bodies() -> None:
    frames = _decode(EventStreamDecoder(), [DATA])
    assert [name for name, _ in frames] == [
        "messageStart",
        "contentBlockDelta",
        "messageStop",
        "throttlingException",
    ]
    assert json.loads(frames[1][1]) == {
        "contentBlockDelta": {"contentBlockIndex": 0, "delta": {"text": "Héllo ✓"}}
    }
    assert json.loads(frames[3][1]) == {
        "message": "Too many requests",
        "__type": "throttlingException",
    }


def test_error_message_type_and_non_json_exception() -> None:
    data = message(
        {":message-type": "error", ":error-code": "InternalFailure", ":error-message": "boom"}, b""
    ) + message({":message-type": "exception", ":exception-type": "oops"}, b"plain text")
    frames = _decode(EventStreamDecoder(), [data])
    assert json.loads(frames[0][1]) == {"message": "boom", "__type": "InternalFailure"}
    assert json.loads(frames[1][1]) == {"message": "plain text", "__type": "oops"}


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.integers(0, len(DATA)), max_size=20))
def test_split_anywhere_gives_the_same_frames(cuts: list[int]) -> None:
    points = sorted(set(cuts))
    pieces = [DATA[i:j] for i, j in zip([0, *points], [*points, len(DATA)], strict=True)]
    assert _decode(EventStreamDecoder(), pieces) == _decode(EventStreamDecoder(), [DATA])


@pytest.mark.parametrize(
    "offset",
    [
        pytest.param(9, id="prelude CRC"),  # a byte of the prelude's checksum
        pytest.param(2, id="total length"),  # the prelude itself: its CRC no longer matches
        pytest.param(-6, id="payload"),  # the message CRC no longer matches
        pytest.param(-1, id="message CRC"),
    ],
)
def test_a_corrupted_byte_is_a_decode_error(offset: int) -> None:
    first = event("messageStart", {"role": "assistant"})
    bad = bytearray(first)
    bad[offset] ^= 0x01
    with pytest.raises(StreamDecodeError, match="bad AWS event stream message"):
        _decode(EventStreamDecoder(), [bytes(bad)])


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.integers(0, len(DATA) - 1), st.integers(0, 7), st.integers(1, len(DATA)))
def test_any_flipped_bit_is_an_error_or_changes_nothing_silently(
    index: int, bit: int, cut: int
) -> None:
    """A flipped bit anywhere, however the bytes are split, never passes unnoticed: the decoder
    raises (a checksum, a length) or, for a bit in a length that makes the message longer, waits
    and fails at the end of the stream."""
    bad = bytearray(DATA)
    bad[index] ^= 1 << bit
    with pytest.raises(StreamDecodeError):
        _decode(EventStreamDecoder(), [bytes(bad[:cut]), bytes(bad[cut:])])


def test_a_stream_that_ends_inside_a_message() -> None:
    decoder = EventStreamDecoder()
    assert decoder.feed(DATA[:-3]) != []
    with pytest.raises(StreamDecodeError, match="ended inside a message"):
        decoder.close()


def test_a_huge_declared_length_is_refused() -> None:
    prelude = struct.pack(">II", 64 * 1024 * 1024, 0)
    import binascii

    data = prelude + struct.pack(">I", binascii.crc32(prelude)) + b"x" * 8
    with pytest.raises(StreamDecodeError):
        _decode(EventStreamDecoder(), [data])


SSE = (
    'data: {"choices":[{"index":0,"delta":{"content":"Hel"}}]}\n\n'
    'data: {"choices":[{"index":0,"delta":{"content":"lo"}}]}\n\n'
    "data: [DONE]\n\n"
)


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.integers(1, len(SSE) - 1), max_size=6), st.integers(1, 200))
def test_payload_parts_are_one_sse_stream(part_cuts: list[int], byte_cut: int) -> None:
    """SSE bytes cut into PayloadParts anywhere (inside an event, inside a UTF-8 sequence), and the
    event stream's bytes cut anywhere again: the SSE frames are the same."""
    points = sorted(set(part_cuts))
    parts = [SSE[i:j] for i, j in zip([0, *points], [*points, len(SSE)], strict=True)]
    data = encode([{"event": "PayloadPart", "bytes": p} for p in parts if p])
    cut = min(byte_cut, len(data))
    frames = _decode(EventStreamSSEDecoder(), [data[:cut], data[cut:]])
    assert [d for _, d in frames] == [
        '{"choices":[{"index":0,"delta":{"content":"Hel"}}]}',
        '{"choices":[{"index":0,"delta":{"content":"lo"}}]}',
        "[DONE]",
    ]


def test_payload_decoder_passes_exceptions_on() -> None:
    data = encode(
        [
            {"event": "PayloadPart", "bytes": "data: {}\n\n"},
            {"exception": "ModelStreamError", "payload": {"Message": "failed"}},
        ]
    )
    frames = _decode(EventStreamSSEDecoder(), [data])
    assert frames[0] == ("", "{}")
    assert json.loads(frames[1][1]) == {"Message": "failed", "__type": "ModelStreamError"}


def test_make_decoder_knows_the_protocol() -> None:
    assert isinstance(make_decoder("aws_eventstream"), EventStreamDecoder)


@pytest.mark.parametrize("provider", ["bedrock", "sagemaker_chat"])
def test_recorded_streams_are_the_encoding_of_their_sources(provider: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Each committed ``*.eventstream`` is exactly the encoding of the ``*.events.json`` beside it."""
    import shutil

    folder = FIXTURES / provider / "chat"
    for source in folder.glob("*.events.json"):
        shutil.copy(source, tmp_path / source.name)
    for made in regenerate(tmp_path):
        assert made.read_bytes() == (folder / made.name).read_bytes(), made.name
