"""The differential oracle's inputs: OpenAI-style requests, a fixed corpus and generated ones.

Every request here is a valid OpenAI Chat Completions / Embeddings call (the shapes of
https://platform.openai.com/docs/api-reference/chat/create and .../embeddings/create); the
oracle sends each one through LiteLLM and through a specgen adapter and compares the wire
requests.  ``model`` is left out: the oracle fills in each provider's model.

:func:`fixed` is the corpus (one case per feature a gateway user reaches for: sampling knobs,
tools and tool results, structured output, images, streaming...). :func:`strategy` is the
hypothesis strategy for generated requests: every optional param independently present or not,
with values inside the range every built-in provider documents (temperature 0-1, penalties
-2..2...), so a difference is about mapping, not about a value one side refuses.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

__all__ = ["fixed", "strategy"]

# a 1x1 transparent PNG, base64 (a data URL every vision API accepts inline)
PNG_1x1 = (
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)

WEATHER_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather in a given location",
        "parameters": {
            "type": "object",
            "properties": {
                "location": {"type": "string", "description": "The city and state, e.g. San Francisco, CA"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["location"],
        },
    },
}
TIME_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_time",
        "description": "Get the current time in a time zone",
        "parameters": {"type": "object", "properties": {"tz": {"type": "string"}}, "required": ["tz"]},
    },
}
PERSON_SCHEMA: dict[str, Any] = {
    "type": "json_schema",
    "json_schema": {
        "name": "person",
        "strict": True,
        "schema": {
            "type": "object",
            "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
            "required": ["name", "age"],
            "additionalProperties": False,
        },
    },
}

_USER = {"role": "user", "content": "What is the weather like in Paris?"}
_TOOL_TURN = [
    _USER,
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": "call_abc123", "type": "function", "function": {"name": "get_weather", "arguments": '{"location": "Paris, France"}'}}
        ],
    },
    {"role": "tool", "tool_call_id": "call_abc123", "content": '{"temperature": 18, "unit": "celsius"}'},
]


def fixed(mode: str) -> dict[str, dict[str, Any]]:
    """The fixed corpus for a specgen mode (``chat`` | ``embeddings``): case name → params."""
    if mode == "embeddings":
        return {
            "single": {"input": "The food was delicious and the waiter was friendly."},
            "batch": {"input": ["first sentence", "second sentence", "third sentence"]},
            "dimensions": {"input": "Hello", "dimensions": 256},
            "encoding_float": {"input": "Hello", "encoding_format": "float"},
            "user": {"input": "Hello", "user": "user-1234"},
        }
    if mode != "chat":
        return {}
    return {
        "basic": {"messages": [{"role": "user", "content": "Hello!"}]},
        "system_and_sampling": {
            "messages": [{"role": "system", "content": "You are a helpful assistant."}, {"role": "user", "content": "Hello!"}],
            "temperature": 0.7,
            "top_p": 0.9,
            "max_tokens": 256,
            "stop": ["\n\n", "END"],
        },
        "stop_string": {"messages": [{"role": "user", "content": "Count to ten."}], "stop": "5"},
        "max_completion_tokens": {"messages": [{"role": "user", "content": "Hello!"}], "max_completion_tokens": 300},
        "penalties_seed_user": {
            "messages": [{"role": "user", "content": "Hello!"}],
            "presence_penalty": 0.5,
            "frequency_penalty": 0.25,
            "seed": 42,
            "user": "user-1234",
        },
        "multi_turn": {
            "messages": [
                {"role": "system", "content": "Answer briefly."},
                {"role": "user", "content": "Hi, who are you?"},
                {"role": "assistant", "content": "An assistant."},
                {"role": "user", "content": "What can you do?"},
            ]
        },
        "content_parts": {"messages": [{"role": "user", "content": [{"type": "text", "text": "Describe"}, {"type": "text", "text": "this."}]}]},
        "image_url": {
            "messages": [
                {"role": "user", "content": [{"type": "text", "text": "What is in this image?"}, {"type": "image_url", "image_url": {"url": PNG_1x1}}]}
            ]
        },
        "tools_auto": {"messages": [_USER], "tools": [WEATHER_TOOL, TIME_TOOL], "tool_choice": "auto"},
        "tools_required": {"messages": [_USER], "tools": [WEATHER_TOOL], "tool_choice": "required"},
        "tools_none": {"messages": [_USER], "tools": [WEATHER_TOOL], "tool_choice": "none"},
        "tool_choice_named": {
            "messages": [_USER],
            "tools": [WEATHER_TOOL, TIME_TOOL],
            "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
            "parallel_tool_calls": False,
        },
        "tool_result_turn": {"messages": _TOOL_TURN, "tools": [WEATHER_TOOL]},
        "json_object": {
            "messages": [{"role": "system", "content": "Reply in JSON."}, {"role": "user", "content": "Name and age of Ada Lovelace?"}],
            "response_format": {"type": "json_object"},
        },
        "json_schema": {"messages": [{"role": "user", "content": "Name and age of Ada Lovelace?"}], "response_format": PERSON_SCHEMA},
        "stream": {"messages": [{"role": "user", "content": "Hello!"}], "stream": True},
        "stream_usage": {"messages": [{"role": "user", "content": "Hello!"}], "stream": True, "stream_options": {"include_usage": True}},
        "n_1": {"messages": [{"role": "user", "content": "Hello!"}], "n": 1},
        "logprobs": {"messages": [{"role": "user", "content": "Hello!"}], "logprobs": True, "top_logprobs": 2},
        "reasoning_effort": {"messages": [{"role": "user", "content": "Prove that 2 is prime."}], "reasoning_effort": "low"},
    }


# --------------------------------------------------------------------------- generated requests

_WORDS = st.sampled_from(["Hello", "What is 2+2?", "Tell me a joke.", "Summarize: the sky is blue.", "Translate 'cat' to French.", "¿Qué tal?", "日本語で答えて"])


def _maybe(value: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), value)


@st.composite
def _messages(draw: st.DrawFn) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if draw(st.booleans()):
        out.append({"role": "system", "content": draw(st.sampled_from(["You are a helpful assistant.", "Answer in one word."]))})
    turns = draw(st.integers(1, 3))
    for i in range(turns):
        if draw(st.booleans()):
            out.append({"role": "user", "content": draw(_WORDS)})
        else:
            out.append({"role": "user", "content": [{"type": "text", "text": draw(_WORDS)}]})
        if i < turns - 1:
            out.append({"role": "assistant", "content": draw(_WORDS)})
    return out


_TOOL_CHOICE = st.sampled_from(["auto", "required", "none", {"type": "function", "function": {"name": "get_weather"}}])
_UNIT = st.integers(0, 100).map(lambda n: n / 100)  # 0.00 .. 1.00, exact in JSON
_PENALTY = st.integers(-20, 20).map(lambda n: n / 10)


@st.composite
def _chat(draw: st.DrawFn) -> dict[str, Any]:
    params: dict[str, Any] = {"messages": draw(_messages())}
    optional: dict[str, st.SearchStrategy[Any]] = {
        "temperature": _UNIT,
        "top_p": _UNIT,
        "max_tokens": st.integers(1, 8192),
        "stop": st.one_of(st.sampled_from(["END", "\n"]), st.lists(st.sampled_from(["END", "STOP", "###"]), min_size=1, max_size=3, unique=True)),
        "presence_penalty": _PENALTY,
        "frequency_penalty": _PENALTY,
        "seed": st.integers(0, 2**31 - 1),
        "user": st.sampled_from(["user-1", "a4f0c5c2-7d1e-4b1c-9f3a-2f4e5d6c7b8a"]),
        "response_format": st.sampled_from([{"type": "text"}, {"type": "json_object"}, PERSON_SCHEMA]),
        "stream": st.booleans(),
    }
    for name, values in optional.items():
        value = draw(_maybe(values))
        if value is not None:
            params[name] = value
    if draw(st.booleans()):
        params["tools"] = draw(st.sampled_from([[WEATHER_TOOL], [WEATHER_TOOL, TIME_TOOL]]))
        choice = draw(_maybe(_TOOL_CHOICE))
        if choice is not None:
            params["tool_choice"] = choice
    if params.get("stream") and draw(st.booleans()):
        params["stream_options"] = {"include_usage": True}
    return params


@st.composite
def _embeddings(draw: st.DrawFn) -> dict[str, Any]:
    params: dict[str, Any] = {"input": draw(st.one_of(_WORDS, st.lists(_WORDS, min_size=1, max_size=4)))}
    if draw(st.booleans()):
        params["dimensions"] = draw(st.sampled_from([64, 256, 768]))
    if draw(st.booleans()):
        params["user"] = "user-1"
    return params


def strategy(mode: str) -> st.SearchStrategy[dict[str, Any]] | None:
    """Generated OpenAI-style params for a specgen mode; None for a mode with no generator."""
    return {"chat": _chat(), "embeddings": _embeddings()}.get(mode)
