"""What every contender sends and what it must get back.

The model, messages and ``max_tokens`` of every call; the exact request specgen builds
(``wire_request``), which the raw floors replay byte for byte; the reply text each contender
is checked against before it is timed; and loading LiteLLM, the optional contender.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass
from typing import Any

from payloads import response_body

KEY = "sk-bench-0000-not-a-real-key"
MODELS = {"anthropic": "claude-sonnet-4-5", "openai": "gpt-4o"}
LITELLM_MODELS = {"anthropic": "anthropic/claude-sonnet-4-5", "openai": "openai/gpt-4o"}
MESSAGES = [
    {"role": "system", "content": "You are a terse assistant."},
    {"role": "user", "content": "Say hello."},
]
MAX_TOKENS = 256
DELTAS = 2000
CONCURRENCY = 50
NA_LITELLM = "n/a (not installed)"


def summary() -> dict[str, Any]:
    """The ``workload`` entry of the results file."""
    return {
        "messages": MESSAGES,
        "max_tokens": MAX_TOKENS,
        "stream_deltas": DELTAS,
        "concurrency": CONCURRENCY,
        "models": MODELS,
        "litellm_models": LITELLM_MODELS,
    }


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def adapter(fmt: str) -> Any:
    if fmt == "anthropic":
        from specgen_providers import anthropic

        return anthropic
    from specgen_providers import openai

    return openai


def base_url(fmt: str, server: str) -> str:
    # anthropic: the adapter appends /v1/messages; openai: the OpenAI SDK meaning (…/v1)
    return server if fmt == "anthropic" else server + "/v1"


@dataclass
class Wire:
    url: str
    headers: dict[str, str]
    body: dict[str, Any]  # the provider-native JSON body specgen sends


def wire_request(fmt: str, server: str, stream: bool) -> Wire:
    """The exact request specgen sends (URL, headers, JSON body), for the floor to replay."""
    params: dict[str, Any] = {"model": MODELS[fmt], "messages": MESSAGES, "max_tokens": MAX_TOKENS}
    if stream:
        params["stream"] = True
    req = adapter(fmt).chat.build_request(params, api_key=KEY, base_url=base_url(fmt, server))
    headers = {k: v for k, v in req.headers.items() if k.lower() not in ("host", "content-length")}
    body = json.loads(req.content)
    if dumps(body) != req.content:
        raise RuntimeError("could not reproduce specgen's request body byte for byte")
    return Wire(str(req.url), headers, body)


def expected_text(fmt: str) -> str:
    data = json.loads(response_body(fmt))
    if fmt == "anthropic":
        return "".join(b.get("text", "") for b in data["content"] if b.get("type") == "text")
    return str(data["choices"][0]["message"]["content"])


def load_litellm() -> tuple[Any, str | None]:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no network fetch at import
    try:
        import litellm
    except ImportError:
        return None, NA_LITELLM
    except Exception as exc:  # a broken install counts as not installed
        return None, f"{NA_LITELLM[:-1]}: import failed with {type(exc).__name__})"
    for attr, value in (
        ("telemetry", False),
        ("suppress_debug_info", True),
        ("set_verbose", False),
    ):
        if hasattr(litellm, attr):
            with contextlib.suppress(Exception):
                setattr(litellm, attr, value)
    return litellm, None


def litellm_kwargs(fmt: str, server: str) -> dict[str, Any]:
    return {
        "model": LITELLM_MODELS[fmt],
        "messages": MESSAGES,
        "max_tokens": MAX_TOKENS,
        "api_key": KEY,
        "api_base": base_url(fmt, server),
    }


def chunk_text(chunk: Any) -> str:
    """Delta text of an OpenAI-shaped chunk (a specgen WireView or a litellm object)."""
    if hasattr(chunk, "to_dict"):
        d = chunk.to_dict()
        if isinstance(d, dict) and "choices" in d:
            choices = d.get("choices") or []
            return "".join((c.get("delta") or {}).get("content") or "" for c in choices)
    choices = getattr(chunk, "choices", None) or []
    out = ""
    for c in choices:
        delta = getattr(c, "delta", None)
        out += getattr(delta, "content", None) or ""
    return out


def completion_text(resp: Any) -> str:
    if hasattr(resp, "to_dict"):
        d = resp.to_dict()
        if isinstance(d, dict) and "choices" in d:
            return str(d["choices"][0]["message"].get("content") or "")
    return str(resp.choices[0].message.content or "")


def native_text(fmt: str, data: dict[str, Any]) -> str:
    if fmt == "anthropic":
        return "".join(
            b.get("text", "") for b in data.get("content", []) if b.get("type") == "text"
        )
    return str(data["choices"][0]["message"]["content"])
