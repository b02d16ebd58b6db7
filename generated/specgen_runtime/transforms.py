"""Named value transforms a spec may apply to a request parameter, and their registry.

A spec names a transform (``transform: as_list``); the generated code calls that function
directly. A transform takes the OpenAI value and returns the provider's; it raises ``ValueError``
on a value it cannot convert (the adapter turns that into a ``BadRequestError`` naming the
provider), :class:`~specgen_runtime.core.UnsupportedValue` for a value the provider has no form for
(an ``UnsupportedParamsError`` naming the param), and returns ``MISSING`` when the value means
"send nothing".

Every transform is declared with :func:`transform`, which registers it under its function name
with the sample value conformance sends through it to check a mapping. The transforms here are
the wire-neutral ones; a wire's own transforms live in its module (``openai_tools_to_anthropic`` in
:mod:`specgen_runtime.wires.anthropic`), and a project's in its plug-in module: each is written
once, next to what it serves.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

__all__ = [
    "TOOLS_SAMPLE",
    "Transform",
    "as_list",
    "as_str",
    "developer_to_system",
    "drop_null_content",
    "function_tools",
    "identity",
    "negate",
    "registered",
    "response_format_inline_schema",
    "strip_message_names",
    "text_parts_to_string",
    "tool_choice_to_function_call",
    "tool_messages_to_functions",
    "tools_to_functions",
    "transform",
]

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Transform:
    """A registered transform: where generated code imports it from, and how conformance samples it."""

    name: str
    module: str  # the importable module that defines it
    function: Callable[[Any], Any]
    sample: Any  # an OpenAI-style value conformance sends through it
    messages: bool  # a messages_transform (takes and returns the whole messages list)
    doc: str


_REGISTRY: dict[str, Transform] = {}


def transform(*, sample: Any = None, messages: bool = False) -> Callable[[F], F]:
    """Declare a transform under its function's name (names are global: a second transform of the
    same name from another module is an error at import)."""

    def register(fn: F) -> F:
        known = _REGISTRY.get(fn.__name__)
        if known is not None and known.module != fn.__module__:
            raise ValueError(
                f"transform {fn.__name__!r} is declared in {known.module} and {fn.__module__}"
            )
        _REGISTRY[fn.__name__] = Transform(
            fn.__name__,
            fn.__module__,
            fn,
            sample,
            messages,
            (fn.__doc__ or "").strip().split("\n")[0],
        )
        return fn

    return register


def registered() -> dict[str, Transform]:
    """Every transform declared so far (the built-in wires' once they are imported; see
    :func:`specgen_runtime.wires.transforms`)."""
    return dict(_REGISTRY)


#: a function tool, the sample for transforms of ``tools``
TOOLS_SAMPLE = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Current weather in a city",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    }
]


@transform(sample="conform")
def identity(value: Any) -> Any:
    """The value as it is."""
    return value


@transform(sample="END")
def as_list(value: Any) -> list[Any]:
    """``"x"`` → ``["x"]``; a list stays a list."""
    if isinstance(value, list | tuple):
        return list(value)
    return [value]


@transform(sample=7)
def as_str(value: Any) -> str:
    """The value as a string."""
    return value if isinstance(value, str) else str(value)


@transform(sample=True)
def negate(value: Any) -> bool:
    """``not value``."""
    return not bool(value)


@transform(messages=True)
def strip_message_names(value: Any) -> Any:
    """Chat messages without the optional ``name`` field (a provider that rejects it)."""
    if not isinstance(value, list):
        return value
    return [
        {k: v for k, v in m.items() if k != "name"} if isinstance(m, dict) else m for m in value
    ]


@transform(messages=True)
def developer_to_system(value: Any) -> Any:
    """Chat messages with the ``developer`` role sent as ``system`` (a provider that predates it)."""
    if not isinstance(value, list):
        return value
    return [
        {**m, "role": "system"} if isinstance(m, dict) and m.get("role") == "developer" else m
        for m in value
    ]


@transform(messages=True)
def text_parts_to_string(value: Any) -> Any:
    """Chat messages whose content is a list of text parts only sent with that text as one string
    (the parts' texts joined as they are), for a provider that accepts only string content; a
    list holding any other part (an image, audio) is sent as it is."""
    if not isinstance(value, list):
        return value
    out = []
    for m in value:
        parts = m.get("content") if isinstance(m, dict) else None
        if (
            isinstance(parts, list)
            and parts
            and all(
                isinstance(p, dict) and p.get("type") == "text" and isinstance(p.get("text"), str)
                for p in parts
            )
        ):
            m = {**m, "content": "".join(p["text"] for p in parts)}
        out.append(m)
    return out


@transform(messages=True)
def drop_null_content(value: Any) -> Any:
    """Chat messages without a ``content: null`` (an assistant turn that only calls tools), for a
    provider that refuses a null content."""
    if not isinstance(value, list):
        return value
    return [
        {k: v for k, v in m.items() if not (k == "content" and v is None)}
        if isinstance(m, dict)
        else m
        for m in value
    ]


@transform(
    sample={
        "type": "json_schema",
        "json_schema": {
            "name": "city",
            "schema": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    }
)
def response_format_inline_schema(value: Any) -> Any:
    """OpenAI ``{type: json_schema, json_schema: {name, schema}}`` → ``{type: json_object,
    json_schema: <schema>}`` (JSON mode with the schema itself beside it); other types pass."""
    if not isinstance(value, dict):
        raise ValueError("response_format must be an object")
    if value.get("type") != "json_schema":
        return value
    spec = value.get("json_schema")
    schema = spec.get("schema") if isinstance(spec, dict) else None
    if not isinstance(schema, dict):
        raise ValueError("response_format json_schema needs json_schema.schema (an object)")
    return {"type": "json_object", "json_schema": schema}


def function_tools(value: Any) -> list[dict[str, Any]]:
    """OpenAI ``tools``, checked to be a list (for the wires' tool transforms)."""
    if not isinstance(value, list):
        raise ValueError("tools must be a list")
    return value


@transform(sample=TOOLS_SAMPLE)
def tools_to_functions(value: Any) -> list[dict[str, Any]]:
    """OpenAI ``tools`` → the legacy ``functions`` list (each function tool's ``function``
    object), for a provider that only takes functions (GigaChat); a tool of another type has no
    such form."""
    from specgen_runtime.core import UnsupportedValue

    out: list[dict[str, Any]] = []
    for tool in function_tools(value):
        if not isinstance(tool, dict) or tool.get("type", "function") != "function":
            raise UnsupportedValue("only function tools can be sent as functions")
        function = tool.get("function")
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            raise ValueError("a function tool needs function.name")
        out.append(dict(function))
    return out


@transform(sample={"type": "function", "function": {"name": "get_weather"}})
def tool_choice_to_function_call(value: Any) -> Any:
    """OpenAI ``tool_choice`` → the legacy ``function_call``: ``auto`` and ``none`` pass, a named
    function becomes ``{name}``; ``required`` has no legacy form."""
    from specgen_runtime.core import UnsupportedValue

    if value in ("auto", "none"):
        return value
    if isinstance(value, dict) and isinstance(value.get("function"), dict):
        name = value["function"].get("name")
        if isinstance(name, str) and name:
            return {"name": name}
    if value == "required":
        raise UnsupportedValue("tool_choice 'required' has no function_call form")
    raise ValueError("tool_choice must be auto, none, or a named function")


@transform(messages=True)
def tool_messages_to_functions(value: Any) -> Any:
    """A tool conversation in the legacy functions form, for a provider that takes tools as
    ``functions`` (GigaChat): an assistant turn's tool call becomes ``function_call`` (its
    arguments a JSON object when they parse as one), a ``tool`` result a ``function`` message
    named after the call it answers, its content JSON (a result that is not is sent as a JSON
    string); a null content becomes "". One call per assistant turn: a turn with several has no
    such form."""
    import json

    from specgen_runtime.core import UnsupportedValue

    if not isinstance(value, list):
        return value
    names: dict[str, str] = {}
    out: list[Any] = []
    for m in value:
        if not isinstance(m, dict):
            out.append(m)
            continue
        m = dict(m)
        calls = m.pop("tool_calls", None)
        if calls:
            if not isinstance(calls, list) or len(calls) != 1 or not isinstance(calls[0], dict):
                raise UnsupportedValue("an assistant turn can carry one function call")
            function = calls[0].get("function") or {}
            arguments = function.get("arguments", "{}")
            if isinstance(arguments, str):
                try:
                    parsed = json.loads(arguments)
                except ValueError:
                    parsed = None
                arguments = parsed if isinstance(parsed, dict) else arguments
            m["function_call"] = {"name": function.get("name", ""), "arguments": arguments}
            names[str(calls[0].get("id", ""))] = str(function.get("name", ""))
        if m.get("role") == "tool":
            m["role"] = "function"
            name = names.get(str(m.pop("tool_call_id", "")))
            if name and "name" not in m:
                m["name"] = name
            content = m.get("content")
            if content is not None and not _is_json(content):
                m["content"] = json.dumps(content, ensure_ascii=False)
        if m.get("content") is None:
            m["content"] = ""
        out.append(m)
    return out


def _is_json(value: Any) -> bool:
    """Whether ``value`` is a string holding JSON."""
    import json

    if not isinstance(value, str):
        return False
    try:
        json.loads(value)
    except ValueError:
        return False
    return True
