"""A small AWS event stream *encoder* for tests and fixtures (the runtime only decodes).

The binary format (AWS's "Event Stream Encoding"): per message a 12-byte prelude (total length,
headers length, both big-endian uint32, then the CRC32 of those 8 bytes), the headers (name length
byte, name, type byte, value: type 7 is a string with a uint16 length), the payload and the CRC32
of everything before it. The recorded streams under ``specs/fixtures/<p>/chat/*.eventstream`` are
this encoding of the documented events in the ``*.events.json`` beside them; regenerate them with
``python tests/eventstream_util.py specs/fixtures/bedrock/chat``.
"""

from __future__ import annotations

import binascii
import json
import struct
import sys
from pathlib import Path
from typing import Any


def _header(name: str, value: str) -> bytes:
    raw_name, raw_value = name.encode(), value.encode()
    return bytes([len(raw_name)]) + raw_name + bytes([7]) + struct.pack(">H", len(raw_value)) + raw_value


def message(headers: dict[str, str], payload: bytes) -> bytes:
    """One event-stream message."""
    head = b"".join(_header(k, v) for k, v in headers.items())
    total = 12 + len(head) + len(payload) + 4
    prelude = struct.pack(">II", total, len(head))
    body = prelude + struct.pack(">I", binascii.crc32(prelude)) + head + payload
    return body + struct.pack(">I", binascii.crc32(body))


def event(event_type: str, payload: Any, content_type: str = "application/json") -> bytes:
    data = payload if isinstance(payload, bytes) else json.dumps(payload, separators=(",", ":")).encode()
    return message({":event-type": event_type, ":content-type": content_type, ":message-type": "event"}, data)


def exception(exception_type: str, payload: Any) -> bytes:
    data = json.dumps(payload, separators=(",", ":")).encode()
    return message(
        {":exception-type": exception_type, ":content-type": "application/json", ":message-type": "exception"}, data
    )


def encode(events: list[dict[str, Any]]) -> bytes:
    """``[{"event": type, "payload": {...}}, {"exception": type, "payload": {...}},
    {"event": "PayloadPart", "bytes": "text"}]`` → the stream's bytes."""
    out = b""
    for item in events:
        if "exception" in item:
            out += exception(item["exception"], item.get("payload") or {})
        elif "bytes" in item:
            out += event(item["event"], item["bytes"].encode(), "application/octet-stream")
        else:
            out += event(item["event"], item.get("payload") or {})
    return out


def regenerate(folder: Path) -> list[Path]:
    written = []
    for source in sorted(folder.glob("*.events.json")):
        target = source.with_name(source.name.removesuffix(".events.json") + ".eventstream")
        target.write_bytes(encode(json.loads(source.read_text())["events"]))
        written.append(target)
    return written


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        for path in regenerate(Path(arg)):
            print(path)
