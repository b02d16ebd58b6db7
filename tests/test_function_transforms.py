"""tools_to_functions / tool_choice_to_function_call: OpenAI tools sent as the legacy functions and
function_call (GigaChat), with a value that has no legacy form refused before sending."""

from __future__ import annotations

from typing import Any

import pytest

from specgen_runtime.core import UnsupportedValue
from specgen_runtime.transforms import (
    TOOLS_SAMPLE,
    tool_choice_to_function_call,
    tools_to_functions,
)


def test_function_tools_become_functions() -> None:
    assert tools_to_functions(TOOLS_SAMPLE) == [t["function"] for t in TOOLS_SAMPLE]
    with pytest.raises(UnsupportedValue):
        tools_to_functions([{"type": "web_search"}])
    with pytest.raises(ValueError):
        tools_to_functions({"type": "function"})


def test_tool_choice_becomes_function_call() -> None:
    assert tool_choice_to_function_call("auto") == "auto"
    assert tool_choice_to_function_call("none") == "none"
    assert tool_choice_to_function_call({"type": "function", "function": {"name": "f"}}) == {"name": "f"}
    with pytest.raises(UnsupportedValue):
        tool_choice_to_function_call("required")
    with pytest.raises(ValueError):
        tool_choice_to_function_call(3)


def test_a_tool_conversation_becomes_functions() -> None:
    from specgen_runtime.transforms import tool_messages_to_functions

    messages: list[dict[str, Any]] = [
        {"role": "user", "content": "Weather?"},
        {"role": "assistant", "content": None, "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "wx", "arguments": '{"city": "Paris"}'}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
    ]
    assert tool_messages_to_functions(messages) == [
        {"role": "user", "content": "Weather?"},
        {"role": "assistant", "content": "", "function_call": {"name": "wx", "arguments": {"city": "Paris"}}},
        {"role": "function", "name": "wx", "content": '"sunny"'},  # a function result is JSON
    ]
    assert messages[1]["tool_calls"]  # the caller's list is not changed
    two = [{"role": "assistant", "tool_calls": [{"id": "a", "function": {"name": "f"}}, {"id": "b", "function": {"name": "g"}}]}]
    with pytest.raises(UnsupportedValue):
        tool_messages_to_functions(two)
    # arguments that are not a JSON object stay as they were
    odd: list[dict[str, Any]] = [{"role": "assistant", "tool_calls": [{"id": "a", "function": {"name": "f", "arguments": "not json"}}]}]
    assert tool_messages_to_functions(odd)[0]["function_call"]["arguments"] == "not json"


def test_a_legacy_function_call_is_read_as_a_tool_call() -> None:
    from specgen_runtime.table import table_choices

    table = {"choices": ("choices",), "content": ({"from": ("message", "content")},), "tool_calls": {"from": ("message", "function_call"), "name": ("name",), "arguments": ("arguments",)}}
    body = {"choices": [{"message": {"content": "", "function_call": {"name": "wx", "arguments": {"city": "Paris"}}}, "finish_reason": "function_call"}]}
    [(_source, message, _index)] = table_choices(body, table)
    assert message["tool_calls"][0]["function"] == {"name": "wx", "arguments": '{"city": "Paris"}'}
