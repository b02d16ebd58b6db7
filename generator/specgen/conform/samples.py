"""Sample OpenAI-style values the runner sends for each declared param when it checks a mapping.

A mapping is checked by sending one value and finding it (transformed) at the declared target,
so any value of the right kind works; these are the values a real caller would send.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Sequence
from typing import Any

from specgen_runtime import wires
from specgen_runtime.transforms import TOOLS_SAMPLE

TOOLS = TOOLS_SAMPLE

BY_NAME: dict[str, Any] = {
    "max_tokens": 64,
    "max_completion_tokens": 64,
    "stop": ["END"],
    "tools": TOOLS,
    "tool_choice": "auto",
    "parallel_tool_calls": False,
    "response_format": {"type": "json_object"},
    "reasoning_effort": "low",
    "seed": 42,
    "user": "user-1234",
    "top_k": 5,
    "logprobs": True,
    "top_logprobs": 2,
    "n": 1,
    "presence_penalty": 0.5,
    "frequency_penalty": 0.5,
    "logit_bias": {"50256": -100},
    "stream_options": {"include_usage": True},
    "service_tier": "auto",
    "thinking": {"type": "enabled", "budget_tokens": 2048},
    "modalities": ["text"],
    "dimensions": 256,
    "encoding_format": "float",
    "prompt_cache_key": "conform-cache-key",
    "metadata": {"trace": "conform"},
    "store": False,
}


def sample(name: str, transform: str | None, rng: tuple[Any, Any] | None, enum: list[Any] | None) -> Any:
    if enum:
        return enum[0]
    if rng is not None:
        lo, hi = rng
        if lo is None and hi is None:
            return 1
        if lo is None:
            return hi
        if hi is None:
            return lo
        if isinstance(lo, int) and isinstance(hi, int):
            return (lo + hi + 1) // 2
        return round((lo + hi) / 2, 3)
    if transform:
        # each transform declares the sample it is checked with, next to itself
        declared = wires.transforms().get(transform)
        if declared is not None and declared.sample is not None:
            return declared.sample
    if name in BY_NAME:
        return BY_NAME[name]
    return f"conform-{name}"


def example_model(patterns: list[str]) -> str:
    """A model name that the first shell pattern matches: ``claude*`` → ``claude-conform``."""
    pat = patterns[0]
    name = re.sub(r"\[!?([^\]]+)\]", lambda m: m.group(1)[0] if not m.group(0).startswith("[!") else "z", pat)
    name = name.replace("*", "-conform").replace("?", "x")
    if not fnmatch.fnmatchcase(name, pat):  # an odd pattern: fall back to the pattern text
        name = pat
    return name


def other_model(patterns: list[str], preferred: str) -> str | None:
    """A model none of the patterns match (the preferred one if it qualifies)."""
    for cand in (preferred, "conform-other-model", "zz-conform"):
        if not any(fnmatch.fnmatchcase(cand, p) for p in patterns):
            return cand
    return None


def path_values(path_params: list[tuple[str, list[str], str | None]], body_fields: Sequence[tuple[str, bool]] = ()) -> dict[str, str]:
    """A host-safe value for each path parameter (its default, else ``conform-<name>``): the
    runner passes them as the client's keywords, as a caller would. A body field (``in: body``)
    gets one only when it is required: an optional one is left to the transcripts."""
    optional = {name for name, required in body_fields if not required}
    return {name: default or "conform-" + name.replace("_", "-") for name, _env, default in path_params if name not in optional}


def token_answer(token_spec: dict[str, Any], access_token: str) -> dict[str, Any]:
    """What a token endpoint answers, shaped by the spec's ``token_path`` and expiry paths."""
    import time

    answer: dict[str, Any] = {}

    def put(path: str, value: Any) -> None:
        parts = path.split(".")
        cur = answer
        for part in parts[:-1]:
            cur = cur.setdefault(part, {})
        cur[parts[-1]] = value

    put(str(token_spec.get("token_path", "access_token")), access_token)
    if "expires_at" in token_spec:
        put(str(token_spec["expires_at"]), int(time.time()) + 3600)
    else:
        put(str(token_spec.get("expires_in", "expires_in")), 3600)
    return answer


_SA_KEY: list[str] = []


def google_service_account(token_uri: str) -> dict[str, Any]:
    """A Google service-account key (the JSON a key file holds) whose token endpoint is
    ``token_uri``: google-auth signs a JWT with its freshly made RSA key and posts it there, so a
    conformance run exercises the real credential flow against a loopback fake (needs google-auth,
    whose dependency ``cryptography`` makes the key)."""
    if not _SA_KEY:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        _SA_KEY.append(pem.decode())
    return {
        "type": "service_account",
        "project_id": "conform-project",
        "private_key_id": "conform-key-id",
        "private_key": _SA_KEY[0],
        "client_email": "conform@conform-project.iam.gserviceaccount.com",
        "client_id": "100000000000000000000",
        "token_uri": token_uri,
    }
