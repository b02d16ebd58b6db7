"""The declarative response table: an OpenAI message read from a body that is not OpenAI's.

A spec whose provider answers with its own body shape (Cohere's ``message.content`` blocks) says in
``modes.chat.response`` where each part of the message is, instead of needing a wire module::

    response:
      choices: choices                   # the list of choice objects (absent: the body is one choice)
      content: { from: message.content, type: text, text: text }
      reasoning: [{ from: message.content, type: thinking, text: thinking }, message.tool_plan]
      refusal: message.refusal
      tool_calls: message.tool_calls     # OpenAI-shaped calls, or {from:, id:, name:, arguments:}

A *text rule* is a path, or ``{from, type, text}``: the value at ``from`` is a string (taken as it
is when the rule's ``type`` is ``text`` or unset) or a list of typed blocks, of which those whose
``type`` matches give the text at their ``text`` path (itself a string, or a list of text parts,
as Mistral nests its thinking); the texts are joined. A list of rules joins what each gives. The
build renders the table as a literal; this module reads it.
"""

from __future__ import annotations

from typing import Any

from specgen_runtime.core import read_path
from specgen_runtime.wires._common import Choices, assistant_message, tool_call

__all__ = ["table_choices", "texts"]

Rule = dict[str, Any]


def _flat(value: Any, where: str) -> str | None:
    """Text from a string, or from a list of text parts (strings or ``{type: text, text}``)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, list):
        parts = [
            p if isinstance(p, str) else p.get("text") if isinstance(p, dict) else None
            for p in value
        ]
        joined = "".join(p for p in parts if isinstance(p, str))
        return joined if any(isinstance(p, str) for p in parts) else None
    raise TypeError(f"{where} is a {type(value).__name__}, not text")


def texts(source: Any, rules: tuple[Rule, ...]) -> str | None:
    """The text the rules find in ``source``, joined; None when none finds any."""
    found: list[str] = []
    for rule in rules:
        value = read_path(source, rule["from"])
        kind, at = rule.get("type"), rule.get("text") or ("text",)
        where = ".".join(rule["from"])
        if value is None:
            continue
        if isinstance(value, str):
            if kind in (None, "text"):
                found.append(value)
            continue
        if not isinstance(value, list):
            raise TypeError(f"{where} is a {type(value).__name__}, not text or a list of blocks")
        for block in value:
            if isinstance(block, str):
                if kind in (None, "text"):
                    found.append(block)
                continue
            if not isinstance(block, dict):
                raise TypeError(f"a block of {where} is a {type(block).__name__}")
            if kind is not None and block.get("type") != kind:
                continue
            text = _flat(read_path(block, at), f"{where}[].{'.'.join(at)}")
            if text is not None:
                found.append(text)
    return "".join(found) if found else None


def _calls(source: Any, rule: Rule | None) -> list[dict[str, Any]]:
    if rule is None:
        return []
    raw = read_path(source, rule["from"])
    if raw is None:
        return []
    if isinstance(raw, dict):  # one call, not a list (the legacy message.function_call)
        raw = [raw]
    if not isinstance(raw, list):
        raise TypeError(
            f"{'.'.join(rule['from'])} is a {type(raw).__name__}, not a list of tool calls"
        )
    out = []
    for call in raw:
        if not isinstance(call, dict):
            raise TypeError("a tool call is not an object")
        call_id = read_path(call, rule.get("id") or ("id",))
        name = read_path(call, rule.get("name") or ("function", "name"))
        arguments = read_path(call, rule.get("arguments") or ("function", "arguments"))
        out.append(
            tool_call(
                str(call_id or ""), str(name or ""), arguments if arguments is not None else {}
            )
        )
    return out


def table_choices(data: dict[str, Any], table: dict[str, Any]) -> Choices:
    """``[(finish_source, message, index)]`` of a response, read through a spec's table."""
    at = table.get("choices")
    sources = read_path(data, at) if at else [data]
    if sources is None:
        sources = []
    if not isinstance(sources, list):
        raise TypeError(
            f"{'.'.join(at or ())} is a {type(sources).__name__}, not a list of choices"
        )
    out: Choices = []
    for i, source in enumerate(sources):
        message = assistant_message(
            texts(source, table.get("content") or ()),
            _calls(source, table.get("tool_calls")),
            texts(source, table.get("reasoning") or ()),
        )
        refusal = texts(source, table.get("refusal") or ())
        if refusal is not None:
            message["refusal"] = refusal
        index = source.get("index", i) if isinstance(source, dict) else i
        out.append((source, message, index))
    return out
