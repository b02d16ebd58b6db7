"""Any malformed provider response raises a typed error naming the provider, never a KeyError.

For every built-in adapter and mode: random JSON, and recorded responses and streams with one
value replaced or removed anywhere in them, go through ``parse_response`` / ``parse_stream``.
Each either parses or raises an :class:`~specgen.runtime.errors.LLMError` whose ``provider`` is the
adapter's; no other exception escapes.
"""

from __future__ import annotations

import copy
import importlib
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from specgen.runtime.errors import LLMError

from conftest import FIXTURES

PROVIDERS = ["anthropic", "deepseek", "gemini", "groq", "litellm_proxy", "ollama", "openai", "openrouter"]
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=10,
)
SETTINGS = settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))


def _cases() -> list[tuple[str, str]]:
    out = []
    for name in PROVIDERS:
        module = importlib.import_module(f"specgen_providers.{name}")
        out += [(name, mode) for mode in ("chat", "embeddings") if hasattr(module, mode)]
    return out


def _fixture_dir(name: str, mode: str) -> Path:
    own = FIXTURES / name / mode
    return own if own.is_dir() and any(own.glob("response*.json")) else FIXTURES / "openai" / mode


def _bodies(name: str, mode: str) -> list[Any]:
    return [json.loads(p.read_text()) for p in sorted(_fixture_dir(name, mode).glob("response*.json"))]


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*prefix, i))
    return out


def _mutate(value: Any, path: tuple[Any, ...], new: Any, remove: bool) -> Any:
    if not path:
        return new
    data = copy.deepcopy(value)
    target = data
    for key in path[:-1]:
        target = target[key]
    if remove:
        del target[path[-1]]
    else:
        target[path[-1]] = new
    return data


def _check(name: str, call: Any) -> None:
    try:
        call()
    except LLMError as exc:
        assert exc.provider == name, f"{type(exc).__name__} names {exc.provider!r}, not {name!r}"


def _parse(name: str, mode: str, body: bytes) -> Any:
    module = importlib.import_module(f"specgen_providers.{name}")
    request = httpx.Request("POST", "https://provider.invalid/")
    response = httpx.Response(200, content=body, headers={"content-type": "application/json"}, request=request)
    return lambda: getattr(module, mode).parse_response(response).to_dict()


@pytest.mark.parametrize(("name", "mode"), _cases())
@SETTINGS
@given(value=JSON)
def test_random_json_response(name: str, mode: str, value: Any) -> None:
    _check(name, _parse(name, mode, json.dumps(value).encode()))


@pytest.mark.parametrize(("name", "mode"), _cases())
@SETTINGS
@given(data=st.data(), new=JSON, remove=st.booleans())
def test_recorded_response_with_one_value_broken(name: str, mode: str, data: st.DataObject, new: Any, remove: bool) -> None:
    body = data.draw(st.sampled_from(_bodies(name, mode)))
    path = data.draw(st.sampled_from(_paths(body)))
    broken = _mutate(body, path, new, remove and bool(path))
    _check(name, _parse(name, mode, json.dumps(broken).encode()))


def _streams(name: str) -> list[Path]:
    own = FIXTURES / name / "chat"
    found = sorted(p for p in own.glob("stream*.*") if p.suffix in (".sse", ".ndjson")) if own.is_dir() else []
    return found or sorted((FIXTURES / "openai" / "chat").glob("stream*.sse"))


def _frames(path: Path) -> tuple[list[str], str]:
    text = path.read_text()
    if path.suffix == ".ndjson":
        return [line for line in text.splitlines() if line.strip()], "ndjson"
    return [block for block in text.split("\n\n") if block.strip()], "sse"


def _replace_data(frame: str, kind: str, new: str) -> str:
    if kind == "ndjson":
        return new
    lines = frame.split("\n")
    return "\n".join(("data: " + new) if line.startswith("data:") else line for line in lines)


@pytest.mark.parametrize("name", PROVIDERS)
@SETTINGS
@given(data=st.data(), new=JSON)
def test_recorded_stream_with_one_frame_broken(name: str, data: st.DataObject, new: Any) -> None:
    module = importlib.import_module(f"specgen_providers.{name}")
    path = data.draw(st.sampled_from(_streams(name)))
    frames, kind = _frames(path)
    i = data.draw(st.integers(0, len(frames) - 1))
    frames[i] = _replace_data(frames[i], kind, json.dumps(new))
    joined = ("\n".join(frames) + "\n") if kind == "ndjson" else ("\n\n".join(frames) + "\n\n")
    _check(name, lambda: [c.to_dict() for c in module.chat.parse_stream([joined.encode()], model="m")])
