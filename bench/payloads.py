"""Canned wire bodies for the benchmarks, built from the recorded fixtures.

Shared by the fake server (``fakeserver.py``) and the driver (``run.py``) so that
both sides agree byte for byte on what is sent.  Everything here is derived from
``specs/fixtures/<format>/chat/{response.json,stream.sse}``: the non-streaming
replies are the fixture files as they are, and the long streams keep the
fixture's prologue and epilogue events and repeat its content-delta events
(cycling through them in order) until there are ``n`` deltas.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "specs" / "fixtures"
FORMATS = ("anthropic", "openai")


@dataclass(frozen=True)
class StreamPayload:
    events: list[bytes]  # one SSE event each, with its trailing blank line
    deltas: int  # content deltas in the stream
    text: str  # the concatenated text of those deltas

    @property
    def body(self) -> bytes:
        return b"".join(self.events)

    def chunked(self) -> bytes:
        """The stream as an HTTP/1.1 chunked body: one chunk per SSE event, then the last chunk."""
        parts = [b"%x\r\n%s\r\n" % (len(e), e) for e in self.events]
        parts.append(b"0\r\n\r\n")
        return b"".join(parts)


def _blocks(raw: bytes) -> list[bytes]:
    """Split an SSE fixture into its events (each ending in a blank line), keeping bytes as they are."""
    text = raw.replace(b"\r\n", b"\n")
    out = []
    for block in text.split(b"\n\n"):
        if block.strip():
            out.append(block.strip(b"\n") + b"\n\n")
    return out


def _data(block: bytes) -> str:
    lines = [ln[5:].lstrip() for ln in block.decode().split("\n") if ln.startswith("data:")]
    return "\n".join(lines)


def _delta_text(fmt: str, block: bytes) -> str | None:
    """The text of a content-delta event, or None for any other event."""
    data = _data(block)
    if not data or data == "[DONE]":
        return None
    obj = json.loads(data)
    if fmt == "anthropic":
        if (
            obj.get("type") == "content_block_delta"
            and (obj.get("delta") or {}).get("type") == "text_delta"
        ):
            return str(obj["delta"].get("text", ""))
        return None
    choices = obj.get("choices") or []
    if len(choices) != 1:
        return None
    choice = choices[0]
    delta = choice.get("delta") or {}
    if choice.get("finish_reason") is None and "role" not in delta and delta.get("content"):
        return str(delta["content"])
    return None


def response_body(fmt: str) -> bytes:
    """The recorded non-streaming reply (re-serialized compactly, as a server sends it)."""
    data = json.loads((FIXTURES / fmt / "chat" / "response.json").read_bytes())
    return json.dumps(data, separators=(",", ":")).encode()


def stream_payload(fmt: str, n: int) -> StreamPayload:
    blocks = _blocks((FIXTURES / fmt / "chat" / "stream.sse").read_bytes())
    kinds = [_delta_text(fmt, b) for b in blocks]
    idx = [i for i, k in enumerate(kinds) if k is not None]
    if not idx:
        raise ValueError(f"no content deltas found in the {fmt} stream fixture")
    first, last = idx[0], idx[-1]
    deltas = [blocks[i] for i in idx]
    texts = [kinds[i] or "" for i in idx]
    events = blocks[:first] + [deltas[i % len(deltas)] for i in range(n)] + blocks[last + 1 :]
    text = "".join(texts[i % len(texts)] for i in range(n))
    return StreamPayload(events, n, text)
