"""Named transforms that several providers share: each does what its docstring says."""

from __future__ import annotations

from specgen_runtime import transforms


def test_text_parts_to_string_joins_text_only_lists_and_leaves_the_rest() -> None:
    t = transforms.registered()["text_parts_to_string"]
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": [{"type": "text", "text": "Hello, "}, {"type": "text", "text": "world"}]},
        {"role": "user", "content": [{"type": "text", "text": "What is this?"}, image]},
        {"role": "assistant", "content": None, "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
        {"role": "user", "content": []},
    ]
    out = t.function(messages)
    assert out[0] == messages[0]
    assert out[1] == {"role": "user", "content": "Hello, world"}
    assert out[2] == messages[2]  # an image part: sent as given
    assert out[3] == messages[3] and out[4] == messages[4]
    assert messages[1]["content"] != "Hello, world"  # the caller's messages are not changed
    assert t.function("not a list") == "not a list"
