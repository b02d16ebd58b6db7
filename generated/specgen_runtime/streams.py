"""Incremental, sans-I/O stream decoders.

Each decoder is fed bytes in chunks of any size and returns the complete frames
seen so far as ``(event, data)`` pairs of strings; ``close()`` returns what is
left at the end of the stream.  How the bytes are split never changes the frames.
"""

from __future__ import annotations

import json
from struct import error as struct_error
from typing import Any

__all__ = [
    "EventStreamDecoder",
    "EventStreamSSEDecoder",
    "Frame",
    "JSONArrayDecoder",
    "NDJSONDecoder",
    "SSEDecoder",
    "StreamDecodeError",
    "make_decoder",
]

Frame = tuple[str, str]


class StreamDecodeError(ValueError):
    """The bytes are not a valid frame of the protocol."""


def _split_lines(buf: bytes, final: bool) -> tuple[list[bytes], bytes]:
    """Split on CRLF, LF or CR; keep the unterminated tail (and a trailing CR, which may precede LF)."""
    if b"\r" in buf:
        if buf.endswith(b"\r") and not final:
            head, tail = buf[:-1], b"\r"
        else:
            head, tail = buf, b""
        head = head.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        lines = head.split(b"\n")
        rest = lines.pop()
        return lines, rest + tail
    lines = buf.split(b"\n")
    return lines, lines.pop()


_BOM = b"\xef\xbb\xbf"


class SSEDecoder:
    """Server-sent events (WHATWG): LF/CRLF/CR line ends, comments, multi-line data, event names."""

    __slots__ = ("_buf", "_data", "_event", "_started")

    def __init__(self) -> None:
        self._buf = b""
        self._event = ""
        self._data: list[str] = []
        self._started = False

    def feed(self, chunk: bytes) -> list[Frame]:
        buf = self._buf + chunk if self._buf else chunk
        if not self._started:  # one leading byte-order mark is not part of the stream
            if len(buf) < 3 and _BOM.startswith(buf):
                self._buf = buf
                return []
            self._started = True
            if buf.startswith(_BOM):
                buf = buf[3:]
        lines, self._buf = _split_lines(buf, False)
        return self._lines(lines) if lines else []

    def _lines(self, lines: list[bytes]) -> list[Frame]:
        out: list[Frame] = []
        for raw in lines:
            if not raw:
                if self._data:
                    out.append((self._event, "\n".join(self._data)))
                self._event = ""
                self._data = []
                continue
            if raw[0] == 58:  # b":" comment
                continue
            line = raw.decode("utf-8", "replace")
            name, sep, value = line.partition(":")
            if sep and value[:1] == " ":
                value = value[1:]
            if name == "data":
                self._data.append(value)
            elif name == "event":
                self._event = value
            # id, retry and unknown fields carry nothing an adapter needs
        return out

    def close(self) -> list[Frame]:
        lines, rest = _split_lines(self._buf, True)
        self._buf = b""
        if rest:
            lines.append(rest)
        out = self._lines(lines)
        if self._data:  # the last event lacked its blank line: still deliver it
            out.append((self._event, "\n".join(self._data)))
            self._data = []
        return out


class NDJSONDecoder:
    """Newline-delimited JSON: one value per line; blank lines are skipped."""

    __slots__ = ("_buf",)

    def __init__(self) -> None:
        self._buf = b""

    def feed(self, chunk: bytes) -> list[Frame]:
        buf = self._buf + chunk if self._buf else chunk
        lines, self._buf = _split_lines(buf, False)
        return [("", line.decode("utf-8", "replace")) for line in lines if line.strip()]

    def close(self) -> list[Frame]:
        lines, rest = _split_lines(self._buf, True)
        self._buf = b""
        lines.append(rest)
        return [("", line.decode("utf-8", "replace")) for line in lines if line.strip()]


_WS = " \t\r\n"


class JSONArrayDecoder:
    """A JSON array of objects sent incrementally (``[{...},{...}]``); each element is a frame."""

    __slots__ = ("_buf", "_decoder", "_ended", "_started", "_undecoded")

    def __init__(self) -> None:
        self._buf = ""
        self._undecoded = b""
        self._started = False
        self._ended = False
        self._decoder = json.JSONDecoder()

    def feed(self, chunk: bytes) -> list[Frame]:
        data = self._undecoded + chunk
        # keep an incomplete UTF-8 sequence for the next chunk
        try:
            text = data.decode("utf-8")
            self._undecoded = b""
        except UnicodeDecodeError as exc:
            if exc.start >= len(data) - 3 and exc.reason == "unexpected end of data":
                text = data[: exc.start].decode("utf-8")
                self._undecoded = data[exc.start :]
            else:
                raise StreamDecodeError(f"invalid UTF-8 in JSON array stream: {exc}") from None
        self._buf += text
        return self._drain()

    def _drain(self) -> list[Frame]:
        out: list[Frame] = []
        buf = self._buf
        pos = 0
        n = len(buf)
        while True:
            while pos < n and buf[pos] in _WS:
                pos += 1
            if pos >= n:
                break
            ch = buf[pos]
            if not self._started:
                if ch != "[":
                    raise StreamDecodeError("JSON array stream does not start with '['")
                self._started = True
                pos += 1
                continue
            if self._ended:
                raise StreamDecodeError("data after the end of the JSON array")
            if ch == ",":
                pos += 1
                continue
            if ch == "]":
                self._ended = True
                pos += 1
                continue
            if ch not in "{[":
                raise StreamDecodeError(f"unexpected {ch!r} in JSON array stream")
            try:
                _, end = self._decoder.raw_decode(buf, pos)
            except json.JSONDecodeError:
                break  # incomplete element: wait for more bytes
            out.append(("", buf[pos:end]))
            pos = end
        self._buf = buf[pos:]
        return out

    def close(self) -> list[Frame]:
        out = self._drain()
        if self._buf.strip() or self._undecoded:
            raise StreamDecodeError("JSON array stream ended inside an element")
        return out

    @property
    def ended(self) -> bool:
        return self._ended


def _eventstream_buffer() -> Any:
    """botocore's incremental event-stream reader (imported on first use: botocore is the optional
    ``aws`` extra, and an adapter that never streams from AWS does not need it)."""
    from specgen_runtime.aws import require_botocore

    require_botocore("aws", "reading an AWS event stream")
    from botocore.eventstream import EventStreamBuffer

    return EventStreamBuffer()


class EventStreamDecoder:
    """The AWS event stream (``application/vnd.amazon.eventstream``), read by botocore's decoder:
    binary messages of a prelude (lengths and its CRC32), headers, a payload and the message's CRC32,
    split anywhere across chunks. Both checksums are checked: a bad one, a truncated message or a
    stream that ends inside a message is a :class:`StreamDecodeError`.

    Each message becomes one frame ``(name, data)``:

    - an ``event`` message: ``(":event-type", {"<event-type>": payload})``, the member of the event
      union as AWS's API references show a stream's output (``{"contentBlockDelta": {...}}``);
    - an ``exception`` message: ``(":exception-type", payload + {"__type": "<exception-type>"})``:
      an AWS JSON error body (``__type`` names the error, ``message`` says it), so that a spec's
      ``stream.error_key: __type`` and its error table classify it;
    - an ``error`` message (``:error-code``, ``:error-message`` headers): the same error body.
    """

    def __init__(self) -> None:
        self._buffer = _eventstream_buffer()
        self._pending = 0

    def _messages(self, chunk: bytes) -> list[Any]:
        from botocore.eventstream import ParserError
        from botocore.exceptions import EventStreamError

        self._buffer.add_data(chunk)
        self._pending += len(chunk)
        out: list[Any] = []
        problem: str | None = None
        try:
            out.extend(self._buffer)
        except (ParserError, EventStreamError) as exc:
            problem = f"bad AWS event stream message: {type(exc).__name__}: {exc}"
        except (ValueError, struct_error) as exc:
            problem = f"bad AWS event stream message: {type(exc).__name__}"
        if problem is not None:  # raised outside the handler: botocore's error is no context
            raise StreamDecodeError(problem)
        for message in out:  # what is left: bytes of a message not complete yet
            self._pending -= message.prelude.total_length
        return out

    def feed(self, chunk: bytes) -> list[Frame]:
        out: list[Frame] = []
        for message in self._messages(chunk):
            out.extend(self._frames(message.headers, message.payload))
        return out

    def _frames(self, headers: dict[str, Any], payload: bytes) -> list[Frame]:
        kind = headers.get(":message-type", "event")
        if kind == "event":
            name = str(headers.get(":event-type", ""))
            text = payload.decode("utf-8", "replace").strip() or "{}"
            return [(name, "{" + json.dumps(name) + ":" + text + "}")]
        if kind == "exception":
            name = str(headers.get(":exception-type", "exception"))
        else:  # "error": a protocol-level error, its code and message in headers
            name = str(headers.get(":error-code", "error"))
            payload = json.dumps({"message": str(headers.get(":error-message", ""))}).encode()
        return [(name, _error_body(name, payload))]

    def close(self) -> list[Frame]:
        if self._pending:
            raise StreamDecodeError(
                f"AWS event stream ended inside a message ({self._pending} bytes left over)"
            )
        return []


def _error_body(name: str, payload: bytes) -> str:
    text = payload.decode("utf-8", "replace")
    try:
        body: Any = json.loads(text) if text.strip() else {}
    except ValueError:
        body = None
    if not isinstance(body, dict):
        body = {"message": text}
    return json.dumps({**body, "__type": name})


class EventStreamSSEDecoder(EventStreamDecoder):
    """An AWS event stream whose ``PayloadPart`` events carry the bytes of a server-sent-events
    stream (SageMaker's ``InvokeEndpointWithResponseStream`` in front of an OpenAI-compatible
    container): the parts are joined and read as SSE, split anywhere, so its frames are the SSE
    stream's; exceptions are frames as :class:`EventStreamDecoder` gives them."""

    def __init__(self) -> None:
        super().__init__()
        self._sse = SSEDecoder()

    def _frames(self, headers: dict[str, Any], payload: bytes) -> list[Frame]:
        if headers.get(":message-type", "event") == "event":
            if headers.get(":event-type") == "PayloadPart":
                return self._sse.feed(payload)
            return []  # other events (none are documented) carry no part of the body
        return super()._frames(headers, payload)

    def close(self) -> list[Frame]:
        super().close()
        return self._sse.close()


def make_decoder(
    protocol: str,
) -> SSEDecoder | NDJSONDecoder | JSONArrayDecoder | EventStreamDecoder:
    if protocol == "aws_eventstream":
        return EventStreamDecoder()
    if protocol == "sse":
        return SSEDecoder()
    if protocol == "ndjson":
        return NDJSONDecoder()
    if protocol == "json_array":
        return JSONArrayDecoder()
    raise ValueError(f"unknown stream protocol {protocol!r}")
