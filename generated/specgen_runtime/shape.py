"""The OpenAI shape of every result, checked once where the result is made.

Every adapter, whatever its wire, ends with an OpenAI ``chat.completion``, ``chat.completion.chunk``,
legacy ``text_completion`` or embeddings dict; the functions here check that dict in place before it is wrapped in a result
view, so that reading any attribute of a result never raises and ``to_dict()`` is JSON that the
official ``openai`` types accept:

- a value of the wrong JSON type where OpenAI's types fix one (``choices`` an object, ``index`` a
  string, a ``message`` or ``delta`` that is not an object, ``usage`` a list, token counts that are
  not integers) raises :class:`~specgen_runtime.errors.APIResponseValidationError` naming the provider;
- what is merely missing is filled the way OpenAI would send it: an ``id`` (``chatcmpl-…``, one per
  stream), ``created``, the message ``role``, ``total_tokens``, a tool call's ``id`` and ``type``;
- a provider value outside OpenAI's set for an OpenAI field (a ``finish_reason`` the spec does not
  map, Groq's ``service_tier: "on_demand"``) is not passed off as OpenAI's: the field gets OpenAI's
  nearest value (``finish_reason`` → ``"stop"``; ``service_tier`` → absent) and the provider's own
  value moves to ``provider_specific_fields`` of the same object;
- a reasoning text given as ``reasoning`` (a string: vLLM, OpenRouter, Cerebras) is also given as
  ``reasoning_content``, where LiteLLM's users read it, unless the provider sent that too.

The checks are a handful of ``isinstance`` calls per object, cheap enough for every stream chunk.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from typing import Any

from specgen_runtime.errors import APIResponseValidationError

__all__ = [
    "FINISH_REASONS",
    "SERVICE_TIERS",
    "check_chunk",
    "check_completion",
    "check_embeddings",
    "check_text_completion",
    "new_id",
]

FINISH_REASONS = frozenset({"stop", "length", "tool_calls", "content_filter", "function_call"})
SERVICE_TIERS = frozenset({"auto", "default", "flex", "scale", "priority"})
DELTA_ROLES = frozenset({"developer", "system", "user", "assistant", "tool"})
_TEXT_FIELDS = ("content", "refusal", "reasoning_content", "reasoning")
_USAGE_COUNTS = ("prompt_tokens", "completion_tokens", "total_tokens")
_DETAIL_COUNTS = (
    "cached_tokens",
    "audio_tokens",
    "reasoning_tokens",
    "accepted_prediction_tokens",
    "rejected_prediction_tokens",
)


_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")


def new_id(prefix: str = "chatcmpl-") -> str:
    """An id for a result the provider gave none."""
    return prefix + uuid.uuid4().hex[:24]


class _Bad(Exception):
    """Where the shape is wrong (a dotted path) and what was found there; never the value itself."""

    def __init__(self, where: str, value: Any) -> None:
        super().__init__(f"{where} is a JSON {_kind(value)}")


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object" if isinstance(value, dict) else type(value).__name__


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _count(value: Any, where: str) -> int | None:
    """A token count: an integer (``12.0`` is taken as 12), or None."""
    if value is None or _is_int(value):
        return value  # type: ignore[no-any-return]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise _Bad(where, value)


def _move(obj: dict[str, Any], key: str, value: Any) -> None:
    """Keep a provider's own value of an OpenAI field, outside OpenAI's field."""
    extra = obj.get("provider_specific_fields")
    if not isinstance(extra, dict):
        extra = obj["provider_specific_fields"] = {}
    extra[key] = value


def _finish(choice: dict[str, Any], where: str, required: bool) -> None:
    reason = choice.get("finish_reason")
    if reason is None:
        if required:  # OpenAI's completion choice always has one
            choice["finish_reason"] = "stop"
        return
    if not isinstance(reason, str):
        raise _Bad(where + ".finish_reason", reason)
    if reason not in FINISH_REASONS:
        choice["finish_reason"] = "stop"
        _move(choice, "finish_reason", reason)


def _usage(obj: dict[str, Any]) -> None:
    usage = obj.get("usage")
    if usage is None:
        return
    if not isinstance(usage, dict):
        raise _Bad("usage", usage)
    counts = [_count(usage.get(k), "usage." + k) for k in _USAGE_COUNTS]
    if counts == [None, None, None]:
        obj["usage"] = None
        return
    prompt, completion, total = (c or 0 for c in counts)
    usage["prompt_tokens"] = prompt
    usage["completion_tokens"] = completion
    usage["total_tokens"] = total if counts[2] is not None else prompt + completion
    for part in ("prompt_tokens_details", "completion_tokens_details"):
        details = usage.get(part)
        if details is None:
            continue
        if not isinstance(details, dict):
            raise _Bad("usage." + part, details)
        for key in _DETAIL_COUNTS:
            if key in details:
                details[key] = _count(details[key], f"usage.{part}.{key}")


def _tool_calls(holder: dict[str, Any], where: str, chunk: bool) -> None:
    calls = holder.get("tool_calls")
    if calls is None:
        return
    if not isinstance(calls, list):
        raise _Bad(where + ".tool_calls", calls)
    for i, call in enumerate(calls):
        at = f"{where}.tool_calls[{i}]"
        if not isinstance(call, dict):
            raise _Bad(at, call)
        if chunk:
            index = call.get("index", i)
            if not _is_int(index):
                raise _Bad(at + ".index", index)
            call["index"] = index
        call_id = call.get("id")
        if call_id is not None and not isinstance(call_id, str):
            raise _Bad(at + ".id", call_id)
        kind = call.get("type")
        if kind is not None and not isinstance(kind, str):
            raise _Bad(at + ".type", kind)
        fn = call.get("function")
        if fn is None:
            if chunk or kind == "custom":
                continue
            raise _Bad(at + ".function", fn)
        if not isinstance(fn, dict):
            raise _Bad(at + ".function", fn)
        name = fn.get("name")
        if name is not None and not isinstance(name, str):
            raise _Bad(at + ".function.name", name)
        args = fn.get("arguments")
        if isinstance(args, dict | list):  # some servers send the arguments as an object
            fn["arguments"] = json.dumps(args, ensure_ascii=False)
        elif args is not None and not isinstance(args, str):
            raise _Bad(at + ".function.arguments", args)
        if not chunk:
            if not call_id:
                call["id"] = new_id("call_")
            if kind is None:
                call["type"] = "function"
            if name is None:
                fn["name"] = ""
            if args is None:
                fn["arguments"] = ""


_KIND_OF = {
    **dict.fromkeys(_TEXT_FIELDS, str),
    "images": list,
    "annotations": list,
    "function_call": dict,
}


def _texts(holder: dict[str, Any], where: str) -> None:
    # a delta holds one or two keys: walk them, not every field OpenAI defines
    for key, value in holder.items():
        kind = _KIND_OF.get(key)
        if kind is not None and value is not None and not isinstance(value, kind):
            raise _Bad(f"{where}.{key}", value)
    # the reasoning text under the other name several servers use (vLLM, OpenRouter, Cerebras,
    # Upstage, W&B): also given as ``reasoning_content``, where callers of every provider read it
    reasoning = holder.get("reasoning")
    if isinstance(reasoning, str) and holder.get("reasoning_content") is None:
        holder["reasoning_content"] = reasoning


def _head(
    obj: dict[str, Any], kind: str, model: str, default_id: str | None, created: int | None
) -> None:
    rid = obj.get("id")
    if not isinstance(rid, str) or not rid:
        if rid is None or rid == "":
            obj["id"] = default_id or new_id()
        elif _is_int(rid):
            obj["id"] = str(rid)
        else:
            raise _Bad("id", rid)
    obj["object"] = kind
    stamp = obj.get("created")
    if not _is_int(stamp):
        if stamp is None:
            obj["created"] = created if created is not None else int(time.time())
        elif isinstance(stamp, float) and stamp == stamp and abs(stamp) < 1e15:
            obj["created"] = int(stamp)
        else:
            raise _Bad("created", stamp)
    name = obj.get("model")
    if not isinstance(name, str):
        if name is not None:
            raise _Bad("model", name)
        obj["model"] = model
    tier = obj.get("service_tier")
    if tier is not None and tier not in SERVICE_TIERS:
        del obj["service_tier"]
        _move(obj, "service_tier", tier)
    fingerprint = obj.get("system_fingerprint")
    if fingerprint is not None and not isinstance(fingerprint, str):
        raise _Bad("system_fingerprint", fingerprint)


def _logprobs(choice: dict[str, Any], where: str) -> None:
    lp = choice.get("logprobs")
    if lp is not None and not isinstance(lp, dict):
        raise _Bad(where + ".logprobs", lp)


def _invalid(provider: str, model: str | None, exc: _Bad, what: str) -> APIResponseValidationError:
    return APIResponseValidationError(
        f"malformed {what} from {provider}: {exc}", provider=provider, model=model
    )


def check_completion(out: dict[str, Any], provider: str, model: str = "") -> dict[str, Any]:
    """Check (and complete) an OpenAI ``chat.completion`` dict in place; returns it."""
    problem: _Bad | None = None
    try:
        _head(out, "chat.completion", model, None, None)
        choices = out.get("choices")
        if choices is None:
            choices = out["choices"] = []
        if not isinstance(choices, list):
            raise _Bad("choices", choices)
        for i, choice in enumerate(choices):
            where = f"choices[{i}]"
            if not isinstance(choice, dict):
                raise _Bad(where, choice)
            index = choice.setdefault("index", i)
            if not _is_int(index):
                raise _Bad(where + ".index", index)
            message = choice.get("message")
            if message is None:
                message = choice["message"] = {"role": "assistant", "content": None}
            elif not isinstance(message, dict):
                raise _Bad(where + ".message", message)
            message["role"] = "assistant"
            message.setdefault("content", None)
            _texts(message, where + ".message")
            _tool_calls(message, where + ".message", False)
            _finish(choice, where, True)
            _logprobs(choice, where)
        _usage(out)
        if out.get("usage", 0) is None:
            del out["usage"]
    except _Bad as exc:
        problem = exc
    if problem is not None:  # raised here, outside the handler: the error carries no context
        raise _invalid(provider, model or None, problem, "response")
    return out


def check_chunk(
    obj: dict[str, Any], provider: str, model: str, stream_id: str, created: int
) -> dict[str, Any]:
    """Check (and complete) an OpenAI ``chat.completion.chunk`` dict in place; returns it.
    ``stream_id`` is the stream's one id (its first chunk's, or one made up when that had none):
    every chunk carries it."""
    problem: _Bad | None = None
    try:
        _head(obj, "chat.completion.chunk", model, stream_id, created)
        if (
            stream_id
        ):  # one id for the whole stream, even where the provider's first chunk had none (Azure)
            obj["id"] = stream_id
        choices = obj.get("choices")
        if choices is None:
            choices = obj["choices"] = []
        if not isinstance(choices, list):
            raise _Bad("choices", choices)
        for i, choice in enumerate(choices):
            where = f"choices[{i}]"
            if not isinstance(choice, dict):
                raise _Bad(where, choice)
            index = choice.setdefault("index", i)
            if not _is_int(index):
                raise _Bad(where + ".index", index)
            delta = choice.get("delta")
            if delta is None:
                delta = choice["delta"] = {}
            elif not isinstance(delta, dict):
                raise _Bad(where + ".delta", delta)
            role = delta.get("role")
            if role is not None and role not in DELTA_ROLES:
                if not isinstance(role, str):
                    raise _Bad(where + ".delta.role", role)
                delta["role"] = "assistant"
            _texts(delta, where + ".delta")
            _tool_calls(delta, where + ".delta", True)
            _finish(choice, where, False)
            _logprobs(choice, where)
        if "usage" in obj:
            _usage(obj)
    except _Bad as exc:
        problem = exc
    if problem is not None:
        raise _invalid(provider, model or None, problem, "stream chunk")
    return obj


def _item_usage(data: list[Any]) -> dict[str, int] | None:
    """The usage of an embeddings list whose every vector carries its own ``usage.prompt_tokens``
    (and the list none): their sum; None when any vector lacks a count."""
    total = 0
    for item in data:
        usage = item.get("usage") if isinstance(item, dict) else None
        count = usage.get("prompt_tokens") if isinstance(usage, dict) else None
        if not isinstance(count, int) or isinstance(count, bool):
            return None
        total += count
    return {"prompt_tokens": total, "total_tokens": total}


def check_embeddings(out: dict[str, Any], provider: str, model: str = "") -> dict[str, Any]:
    """Check an OpenAI embeddings ``list`` dict in place; returns it."""
    problem: _Bad | None = None
    try:
        out["object"] = "list"
        name = out.get("model")
        if not isinstance(name, str):
            if name is not None:
                raise _Bad("model", name)
            out["model"] = model
        data = out.get("data")
        if not isinstance(data, list):
            raise _Bad("data", data)
        for i, item in enumerate(data):
            where = f"data[{i}]"
            if not isinstance(item, dict):
                raise _Bad(where, item)
            index = item.setdefault("index", i)
            if not _is_int(index):
                raise _Bad(where + ".index", index)
            item["object"] = "embedding"
            vector = item.get("embedding")
            if isinstance(vector, list):
                if vector and not all(
                    isinstance(x, int | float) and not isinstance(x, bool) for x in vector
                ):
                    raise _Bad(
                        where + ".embedding[]",
                        next(
                            x
                            for x in vector
                            if not isinstance(x, int | float) or isinstance(x, bool)
                        ),
                    )
            elif not (
                isinstance(vector, str) and _BASE64.fullmatch(vector) and len(vector) % 4 == 0
            ):
                raise _Bad(
                    where + ".embedding", vector
                )  # a string only as base64 (encoding_format)
        usage = out.get("usage")
        if usage is None and data:
            usage = _item_usage(data)  # counts given per vector (GigaChat): their sum
            if usage is not None:
                out["usage"] = usage
        if usage is not None:
            if not isinstance(usage, dict):
                raise _Bad("usage", usage)
            for key in ("prompt_tokens", "total_tokens"):
                if key in usage:
                    usage[key] = _count(usage[key], "usage." + key)
            if "total_tokens" not in usage and _is_int(usage.get("prompt_tokens")):
                usage["total_tokens"] = usage["prompt_tokens"]
    except _Bad as exc:
        problem = exc
    if problem is not None:
        raise _invalid(provider, model or None, problem, "embeddings response")
    return out


#: the finish reasons of OpenAI's legacy completion choice
TEXT_FINISH_REASONS = frozenset({"stop", "length", "content_filter"})


def check_text_completion(
    out: dict[str, Any],
    provider: str,
    model: str = "",
    stream_id: str | None = None,
    created: int | None = None,
) -> dict[str, Any]:
    """Check an OpenAI legacy ``text_completion`` dict in place (a response, or with ``stream_id``
    one stream chunk); returns it. Each choice has a string ``text``, an ``index``, ``logprobs``
    (an object or null) and a ``finish_reason`` (one of OpenAI's three; a response's is never null)."""
    problem: _Bad | None = None
    chunk = stream_id is not None
    try:
        _head(out, "text_completion", model, stream_id or new_id("cmpl-"), created)
        if stream_id:
            out["id"] = stream_id
        choices = out.get("choices")
        if choices is None and chunk:
            choices = out["choices"] = []
        if not isinstance(choices, list):
            raise _Bad("choices", choices)
        for i, choice in enumerate(choices):
            where = f"choices[{i}]"
            if not isinstance(choice, dict):
                raise _Bad(where, choice)
            index = choice.setdefault("index", i)
            if not _is_int(index):
                raise _Bad(where + ".index", index)
            text = choice.get("text")
            if text is None:
                choice["text"] = ""
            elif not isinstance(text, str):
                raise _Bad(where + ".text", text)
            choice.setdefault("logprobs", None)
            _logprobs(choice, where)
            _finish(choice, where, not chunk)
            reason = choice.get("finish_reason")
            if reason is not None and reason not in TEXT_FINISH_REASONS:
                choice["finish_reason"] = "stop"
                _move(choice, "finish_reason", reason)
        if "usage" in out:
            _usage(out)
    except _Bad as exc:
        problem = exc
    if problem is not None:
        raise _invalid(
            provider,
            model or None,
            problem,
            "text completion chunk" if chunk else "text completion",
        )
    return out
