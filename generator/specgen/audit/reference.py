"""The LiteLLM reference snapshot: what an installed ``litellm`` supports, per provider and mode.

One module (about 670 lines) on purpose: it has one job, introspecting LiteLLM into the
snapshot, and the snapshot's format (below), the probes and the serializer change together with
the pinned LiteLLM; the offline guard it shares with the capture lives in ``_offline``.

``specgen reference sync`` writes ``checklist/litellm_reference.json`` from LiteLLM's own data:
``litellm.provider_list``, ``litellm.models_by_provider``, the bundled model cost map
(``litellm.model_cost``), the bundled provider/endpoint table
(``provider_endpoints_support_backup.json``), ``litellm.get_supported_openai_params`` and the
per-mode provider config classes (``litellm.ProviderConfigManager``), and the
``litellm.supports_*`` capability checks.

Offline: :data:`OFFLINE_ENV` is set before ``litellm`` is imported, so LiteLLM uses its bundled
cost map, beta-header table, blog posts and policy templates and does not read a ``.env`` file.
Nothing opens a socket (``tests/test_reference.py`` runs a sync under a ``socket.connect`` guard).

Deterministic: keys sorted, lists sorted (families by size, then name), no timestamps, no
paths, no memory addresses; a provider or mode whose introspection raises is recorded with the
exception's class name only (``"error": "ValueError"``), never its message.

The snapshot (``schema_version`` 1)::

    {
      "schema_version": 1,
      "generated_by": "specgen reference sync",
      "litellm_version": "1.100.5",
      "modes": {"chat": {"endpoint": "chat_completions", "params_from": "..."}, ...},
      "openai_params": {"chat": [...], "embedding": [...], "audio_transcription": [...]},  # LiteLLM's lists
      "summary": {"providers": N, "models": N, "models_by_mode": {"chat": N, ...}},
      "providers": {
        "<litellm provider>": {
          "display_name": "...", "docs": "https://docs.litellm.ai/...",
          "endpoints": ["chat_completions", "embeddings", ...],   # LiteLLM's endpoint table, true ones
          "model_count": N, "models_not_in_cost_map": N,
          "model_facts": {"<model>": {"max_input_tokens": N, "input_cost_per_token": X, ...}},  # see MODEL_FACTS
          "modes": {
            "<mode>": {
              "model_count": N,
              "representative_model": "claude-sonnet-4-5" | null,   # null: no known model, probed with "model"
              "config_class": "AnthropicConfig" | null,
              "wire": "openai" | "anthropic" | "gemini" | "ollama" | null,   # chat only: see WIRES
              "supported_openai_params": [...] | null,             # for the representative; null: LiteLLM has no list
              "params_error": "ValueError",                          # only when the call raised
              "stream": {"param": bool, "fake_stream": bool, "native_streaming": bool},   # chat only
              "capabilities": {"function_calling": N, ...},   # models whose cost-map entry sets supports_<cap>
              "families": [                                          # one per distinct supported-param set
                {"representative_model": "...", "model_count": N, "patterns": ["claude-3*", ...],
                 "supported_openai_params": [...] | null, "error": "KeyError"?}
              ]
            }
          }
        }
      }
    }

``families`` is present only when a mode's models do not all share one param set; its first
entry is the representative's family. ``patterns`` are descriptive globs (each model's name up
to its first versioned segment), not a partition: read ``representative_model`` for an exact
model. Model names are as a LiteLLM user writes them after ``<provider>/``.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import sys
import tempfile
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from importlib import metadata
from pathlib import Path
from types import ModuleType
from typing import Any

from specgen.audit import LiteLLMMissingError
from specgen.audit._offline import no_network, quiet_litellm

__all__ = [
    "DEFAULT_OUT",
    "OFFLINE_ENV",
    "SCHEMA_VERSION",
    "build_snapshot",
    "dumps",
    "import_litellm",
    "load_snapshot",
    "sync",
]

SCHEMA_VERSION = 1

#: LiteLLM chat config classes (or their bases) → the specgen chat format that speaks the same
#: wire. A LiteLLM-only provider whose chat config derives from an OpenAI config is a spec of a
#: few lines (``extends: openai``); one with none of these needs a new format.
WIRES = {
    "OpenAIGPTConfig": "openai",
    "OpenAIConfig": "openai",
    "AnthropicConfig": "anthropic",
    "VertexGeminiConfig": "gemini",
    "OllamaChatConfig": "ollama",
}
DEFAULT_OUT = Path("checklist") / "litellm_reference.json"

#: Environment set before ``import litellm`` so that nothing reaches the network and no local
#: ``.env`` file changes what LiteLLM reports.
OFFLINE_ENV: dict[str, str] = {
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",  # bundled model_prices_and_context_window_backup.json
    "LITELLM_LOCAL_ANTHROPIC_BETA_HEADERS": "True",  # bundled anthropic_beta_headers_config.json
    "LITELLM_LOCAL_BLOG_POSTS": "True",
    "LITELLM_LOCAL_POLICY_TEMPLATES": "True",
    "LITELLM_MODE": "PRODUCTION",  # DEV (the default) loads a .env file at import
    "HF_HUB_OFFLINE": "1",  # tokenizers/huggingface_hub, should anything reach for them
    "TRANSFORMERS_OFFLINE": "1",
}

PLACEHOLDER_MODEL = "model"  # probes a mode for which LiteLLM knows no model
MAX_PATTERNS = 16  # per family; the rest are counted in "patterns_omitted"

# LiteLLM endpoint-table key -> model cost map "mode"
ENDPOINT_MODES: dict[str, str] = {
    "chat_completions": "chat",
    "text_completion": "completion",
    "embeddings": "embedding",
    "image_generations": "image_generation",
    "image_edits": "image_edit",
    "audio_transcriptions": "audio_transcription",
    "audio_speech": "audio_speech",
    "moderations": "moderation",
    "rerank": "rerank",
    "responses": "responses",
    "ocr": "ocr",
    "search": "search",
    "video_generations": "video_generation",
    "realtime": "realtime",
}

# litellm.utils.get_optional_params_embeddings checks these providers' embedding params
# against another provider's list (gemini: vertex_ai's)
_EMBEDDING_PARAMS_PROVIDER = {"gemini": "vertex_ai"}

# modes whose endpoint flag alone (with no known model) is worth a probe; "responses" is
# bridged to chat for most providers, the others are probed only when LiteLLM lists models
_PROBE_WITHOUT_MODELS = {"chat", "embedding"}

CAPABILITIES = (
    "function_calling",
    "tool_choice",
    "parallel_function_calling",
    "vision",
    "response_schema",
    "reasoning",
    "prompt_caching",
    "system_messages",
    "pdf_input",
    "audio_input",
    "audio_output",
    "web_search",
    "computer_use",
)


# --------------------------------------------------------------------------- import


def import_litellm() -> ModuleType:
    """Import ``litellm`` offline (:data:`OFFLINE_ENV` is set in ``os.environ`` first, and stays
    set for the rest of the process). Raises :class:`LiteLLMMissingError`.

    The flags are read at import time: when ``litellm`` was already imported in this process
    without them, the cost map may have come from the network; that is refused (a snapshot must
    come from the package's bundled data) rather than silently mixed.
    """
    os.environ.update(OFFLINE_ENV)
    already = "litellm" in sys.modules
    try:
        litellm = importlib.import_module("litellm")
    except ImportError as exc:
        raise LiteLLMMissingError(exc) from exc
    if already:
        info = getattr(
            sys.modules.get("litellm.litellm_core_utils.get_model_cost_map"), "_cost_map_source_info", None
        )
        source = getattr(info, "source", "local")
        if source != "local":
            raise RuntimeError(
                "litellm was imported before its offline flags were set and loaded a remote "
                "model cost map; run `specgen reference sync` in a fresh process"
            )
    return litellm


def _today() -> str:
    import datetime

    return datetime.datetime.now(datetime.UTC).date().isoformat()


def litellm_version() -> str:
    try:
        return metadata.version("litellm")
    except metadata.PackageNotFoundError:  # pragma: no cover - imported but not installed?
        return "unknown"


# --------------------------------------------------------------------------- serializer


def _canonical(value: Any) -> Any:
    """JSON-ready, order-stable: sets become sorted lists, tuples lists, keys strings."""
    if isinstance(value, Mapping):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        return sorted(_canonical(v) for v in value)
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("a snapshot holds no NaN or infinity")
        return value
    raise TypeError(f"not JSON data: {type(value).__name__}")


def dumps(snapshot: Mapping[str, Any]) -> str:
    """The snapshot's canonical text: sorted keys, 1-space indent, UTF-8, one trailing newline."""
    return json.dumps(_canonical(snapshot), sort_keys=True, indent=1, ensure_ascii=False) + "\n"


def load_snapshot(path: Path | str = DEFAULT_OUT) -> dict[str, Any]:
    """Read a snapshot written by :func:`sync` (no ``litellm`` needed)."""
    data: dict[str, Any] = json.loads(Path(path).read_text(encoding="utf-8"))
    if data.get("schema_version") != SCHEMA_VERSION:
        raise ValueError(f"{path}: schema_version {data.get('schema_version')!r}, expected {SCHEMA_VERSION}")
    return data


# --------------------------------------------------------------------------- helpers


def _error_kind(exc: BaseException) -> str:
    return type(exc).__name__


def _value(provider: Any) -> str:
    return str(getattr(provider, "value", provider))


_DATED = re.compile(r"(\d{4}-?\d{2}-?\d{2}|@\d{6,8}|-\d{3,4}$|-\d{2}-\d{2}$)")
_UNSTABLE = re.compile(r"(preview|exp|latest|beta|alpha|test)", re.IGNORECASE)
_SEGMENT = re.compile(r"([-/:@_])")


def _representative_key(name: str) -> tuple[bool, bool, int, int, str]:
    """Prefer undated, stable, unprefixed, short names; the name itself breaks ties."""
    return (bool(_DATED.search(name)), bool(_UNSTABLE.search(name)), name.count("/"), len(name), name)


def pick_representative(names: Iterable[str]) -> str:
    return min(names, key=_representative_key)


def family_pattern(name: str) -> str:
    """``claude-3-5-sonnet-20240620`` -> ``claude-3*``; ``gemini-2.5-flash`` -> ``gemini-2.5*``;
    a name with no digit is its own pattern (``deepseek-chat``)."""
    parts = _SEGMENT.split(name)
    prefix = ""
    for i in range(0, len(parts), 2):
        prefix += parts[i]
        if any(c.isdigit() for c in parts[i]):
            return prefix if prefix == name else prefix + "*"
        if i + 1 < len(parts):
            prefix += parts[i + 1]
    return name


def _strip_provider(provider: str, name: str) -> str:
    return name[len(provider) + 1 :] if name.startswith(provider + "/") else name


# --------------------------------------------------------------------------- per-mode probes


class _Probes:
    """How LiteLLM answers "which OpenAI params does (provider, model) take in this mode"."""

    def __init__(self, litellm: ModuleType) -> None:
        self.ll = litellm
        self.pcm = litellm.ProviderConfigManager
        self.providers_enum = litellm.LlmProviders

    def _enum(self, provider: str) -> Any:
        return self.providers_enum(provider)

    def table(self) -> dict[str, Callable[[str, str], tuple[list[str] | None, str | None]]]:
        return {
            "chat": self.chat,
            "completion": self.completion,
            "embedding": self.embedding,
            "audio_transcription": self.audio_transcription,
            "audio_speech": self.audio_speech,
            "image_generation": self.image_generation,
            "image_edit": self.image_edit,
            "video_generation": self.video_generation,
            "rerank": self.rerank,
            "responses": self.responses,
            "ocr": self.ocr,
        }

    @staticmethod
    def _name(config: Any) -> str | None:
        return None if config is None else type(config).__name__

    @staticmethod
    def wire_of(config: Any) -> str | None:
        """The specgen chat format a LiteLLM chat config speaks (:data:`WIRES`, by its class
        hierarchy), or None for a wire specgen has no format for."""
        if config is None:
            return None
        for cls in type(config).__mro__:
            if cls.__name__ in WIRES:
                return WIRES[cls.__name__]
        return None

    @staticmethod
    def _params(params: Any) -> list[str] | None:
        if params is None:
            return None
        return sorted({str(p) for p in params})

    def chat_config(self, provider: str, model: str) -> Any:
        try:
            return self.pcm.get_provider_chat_config(model=model, provider=self._enum(provider))
        except Exception:
            return None

    def chat(self, provider: str, model: str) -> tuple[list[str] | None, str | None]:
        params = self.ll.get_supported_openai_params(
            model=model, custom_llm_provider=provider, request_type="chat_completion"
        )
        return self._params(params), self._name(self.chat_config(provider, model))

    def completion(self, provider: str, model: str) -> tuple[list[str] | None, str | None]:
        config = self.pcm.get_provider_text_completion_config(model=model, provider=self._enum(provider))
        return self._params(config.get_supported_openai_params(model=model)), self._name(config)

    def _generic(self, provider: str, model: str, request_type: str) -> list[str] | None:
        """``get_supported_openai_params`` for a non-chat request type, or None when LiteLLM has
        no list for it: for many providers (openai, groq, ...) the function ignores
        ``request_type`` and returns the chat list, which says nothing about this mode."""
        params = self.ll.get_supported_openai_params(
            model=model, custom_llm_provider=provider, request_type=request_type
        )
        if params is None:
            return None
        chat = self.ll.get_supported_openai_params(
            model=model, custom_llm_provider=provider, request_type="chat_completion"
        )
        if chat is not None and sorted(params) == sorted(chat):
            return None
        return self._params(params)

    def embedding(self, provider: str, model: str) -> tuple[list[str] | None, str | None]:
        config = self.pcm.get_provider_embedding_config(model=model, provider=self._enum(provider))
        if config is not None:
            return self._params(config.get_supported_openai_params(model=model)), self._name(config)
        alias = _EMBEDDING_PARAMS_PROVIDER.get(provider)
        if alias is not None:
            params = self.ll.get_supported_openai_params(
                model=model, custom_llm_provider=alias, request_type="embeddings"
            )
            return self._params(params), None
        return self._generic(provider, model, "embeddings"), None

    def audio_transcription(self, provider: str, model: str) -> tuple[list[str] | None, str | None]:
        config = self.pcm.get_provider_audio_transcription_config(model=model, provider=self._enum(provider))
        if config is not None:
            return self._params(config.get_supported_openai_params(model=model)), self._name(config)
        return self._generic(provider, model, "transcription"), None

    def _config_params(self, config: Any, model: str, method: str = "get_supported_openai_params") -> tuple[list[str] | None, str | None]:
        if config is None:
            return None, None
        return self._params(getattr(config, method)(model=model)), self._name(config)

    def audio_speech(self, provider: str, model: str) -> tuple[list[str] | None, str | None]:
        return self._config_params(
            self.pcm.get_provider_text_to_speech_config(model=model, provider=self._enum(provider)), model
        )

    def image_generation(self, provider: str, model: str) -> tuple[list[str] | None, str | None]:
        return self._config_params(
            self.pcm.get_provider_image_generation_config(model=model, provider=self._enum(provider)), model
        )

    def image_edit(self, provider: str, model: str) -> tuple[list[str] | None, str | None]:
        return self._config_params(
            self.pcm.get_provider_image_edit_config(model=model, provider=self._enum(provider)), model
        )

    def video_generation(self, provider: str, model: str) -> tuple[list[str] | None, str | None]:
        return self._config_params(
            self.pcm.get_provider_video_config(model=model, provider=self._enum(provider)), model
        )

    def rerank(self, provider: str, model: str) -> tuple[list[str] | None, str | None]:
        config = self.pcm.get_provider_rerank_config(
            model=model, provider=self._enum(provider), api_base=None, present_version_params=[]
        )
        return self._config_params(config, model, "get_supported_cohere_rerank_params")

    def responses(self, provider: str, model: str) -> tuple[list[str] | None, str | None]:
        return self._config_params(
            self.pcm.get_provider_responses_api_config(provider=self._enum(provider), model=model), model
        )

    def ocr(self, provider: str, model: str) -> tuple[list[str] | None, str | None]:
        return self._config_params(
            self.pcm.get_provider_ocr_config(model=model, provider=self._enum(provider)), model, "get_supported_ocr_params"
        )

    # -- stream and capabilities (chat)

    def stream(
        self, provider: str, model: str, params: list[str] | None, model_entry: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        out: dict[str, Any] = {"param": params is not None and "stream" in params}
        config = self.chat_config(provider, model)
        try:
            out["fake_stream"] = bool(
                config is not None and config.should_fake_stream(model=model, stream=True, custom_llm_provider=provider)
            )
        except Exception as exc:
            out["fake_stream_error"] = _error_kind(exc)
        # litellm.supports_native_streaming reads this flag, defaulting to True (see _capabilities)
        native = model_entry.get("supports_native_streaming") if model_entry is not None else None
        out["native_streaming"] = native is not False
        return out


# --------------------------------------------------------------------------- the snapshot


def _endpoint_table(litellm: ModuleType) -> dict[str, Any]:
    if litellm.__file__ is None:
        return {}
    path = Path(litellm.__file__).parent / "provider_endpoints_support_backup.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    providers = data.get("providers")
    return providers if isinstance(providers, dict) else {}


def _models(litellm: ModuleType, provider: str) -> dict[str, Mapping[str, Any] | None]:
    """LiteLLM's models for a provider -> their cost-map entry (None: not in the cost map)."""
    cost: Mapping[str, Any] = litellm.model_cost
    names: set[str] = set(getattr(litellm, "models_by_provider", {}).get(provider, ()) or ())
    names.update(k for k, v in cost.items() if isinstance(v, Mapping) and v.get("litellm_provider") == provider)
    out: dict[str, Mapping[str, Any] | None] = {}
    for raw in sorted(names):
        entry = cost.get(raw)
        if not isinstance(entry, Mapping):
            entry = cost.get(f"{provider}/{raw}")
        name = _strip_provider(provider, str(raw))
        if out.get(name) is None:
            out[name] = entry if isinstance(entry, Mapping) else None
    return out


#: the cost-map facts of each chat and embedding model that the audit compares with the specs'
#: ``models.known`` (context window, max output, prices per token, cache prices)
MODEL_FACTS = (
    "max_input_tokens",
    "max_output_tokens",
    "input_cost_per_token",
    "output_cost_per_token",
    "cache_read_input_token_cost",
    "cache_creation_input_token_cost",
)


def _model_facts(models: Mapping[str, Mapping[str, Any] | None]) -> dict[str, dict[str, Any]]:
    """``model → {fact: value}`` for the provider's chat and embedding models in the cost map."""
    out: dict[str, dict[str, Any]] = {}
    for name, entry in sorted(models.items()):
        if entry is None or _mode_of(entry) not in ("chat", "embedding"):
            continue
        facts = {
            k: entry[k]
            for k in MODEL_FACTS
            if isinstance(entry.get(k), int | float) and not isinstance(entry.get(k), bool)
        }
        if facts:
            out[name] = facts
    return out


def _mode_of(entry: Mapping[str, Any] | None) -> str:
    # LiteLLM lists models missing from the cost map (or without a mode) among its chat models
    return str(entry.get("mode") or "chat") if entry is not None else "chat"


def _capabilities(entry: Mapping[str, Any] | None) -> list[str]:
    """The cost map's ``supports_*`` flags, which ``litellm.supports_*`` read. Those functions
    are not called: for some providers they first resolve credentials (GitHub Copilot and
    ChatGPT start an OAuth device-code login) or fetch model info over HTTP (Hugging Face,
    Lemonade), which an offline snapshot must not do."""
    if entry is None:
        return []
    return [cap for cap in CAPABILITIES if entry.get(f"supports_{cap}") is True]


def _mode_entry(
    probes: _Probes, provider: str, mode: str, model_entries: Mapping[str, Mapping[str, Any] | None]
) -> dict[str, Any]:
    models = sorted(model_entries)
    entry: dict[str, Any] = {"model_count": len(models)}
    probe = probes.table().get(mode)
    if probe is None:
        entry["representative_model"] = pick_representative(models) if models else None
        entry["supported_openai_params"] = None
        return entry

    probe_models = models or [PLACEHOLDER_MODEL]
    results: dict[str, tuple[list[str] | None, str | None] | str] = {}
    for model in probe_models:
        try:
            results[model] = probe(provider, model)
        except Exception as exc:
            results[model] = _error_kind(exc)

    groups: dict[str, list[str]] = defaultdict(list)
    for model, result in results.items():
        key = json.dumps(result if isinstance(result, str) else result[0])
        groups[key].append(model)
    families = sorted(
        groups.values(), key=lambda members: (-len(members), _representative_key(pick_representative(members)))
    )
    rep = pick_representative(families[0])
    entry["representative_model"] = rep if models else None
    rep_result = results[rep]
    if isinstance(rep_result, str):
        entry["supported_openai_params"] = None
        entry["params_error"] = rep_result
        entry["config_class"] = None
    else:
        entry["supported_openai_params"] = rep_result[0]
        entry["config_class"] = rep_result[1]
    if mode == "chat":
        entry["wire"] = probes.wire_of(probes.chat_config(provider, rep))
        params = None if isinstance(rep_result, str) else rep_result[0]
        entry["stream"] = probes.stream(provider, rep, params, model_entries.get(rep))
    counts: Counter[str] = Counter()
    for model_entry in model_entries.values():
        counts.update(_capabilities(model_entry))
    if counts:
        entry["capabilities"] = dict(counts)
    if len(families) > 1:
        entry["families"] = [_family(results, members) for members in families]
    return entry


def _family(results: Mapping[str, Any], members: list[str]) -> dict[str, Any]:
    rep = pick_representative(members)
    result = results[rep]
    patterns = sorted({family_pattern(m) for m in members})
    fam: dict[str, Any] = {
        "representative_model": rep,
        "model_count": len(members),
        "patterns": patterns[:MAX_PATTERNS],
    }
    if len(patterns) > MAX_PATTERNS:
        fam["patterns_omitted"] = len(patterns) - MAX_PATTERNS
    if isinstance(result, str):
        fam["error"] = result
        fam["supported_openai_params"] = None
    else:
        fam["supported_openai_params"] = result[0]
    if len(members) <= 3:
        fam["models"] = sorted(members)
    return fam


def _provider_entry(probes: _Probes, provider: str, endpoint_info: Mapping[str, Any] | None) -> dict[str, Any]:
    entry: dict[str, Any] = {}
    if endpoint_info:
        entry["display_name"] = endpoint_info.get("display_name")
        entry["docs"] = endpoint_info.get("url")
        endpoints = endpoint_info.get("endpoints") or {}
        entry["endpoints"] = sorted(k for k, v in endpoints.items() if v is True)
    else:
        entry["endpoints"] = None
    try:
        models = _models(probes.ll, provider)
    except Exception as exc:
        entry["error"] = _error_kind(exc)
        return entry
    entry["model_count"] = len(models)
    entry["models_not_in_cost_map"] = sum(1 for m in models.values() if m is None)
    facts = _model_facts(models)
    if facts:
        entry["model_facts"] = facts

    by_mode: dict[str, dict[str, Mapping[str, Any] | None]] = defaultdict(dict)
    for name, model_entry in models.items():
        by_mode[_mode_of(model_entry)][name] = model_entry
    for endpoint in entry["endpoints"] or ():
        mode = ENDPOINT_MODES.get(endpoint)
        if mode is not None and mode in _PROBE_WITHOUT_MODELS and mode not in by_mode:
            by_mode[mode] = {}
    entry["modes"] = {mode: _mode_entry(probes, provider, mode, names) for mode, names in sorted(by_mode.items())}
    return entry


def build_snapshot(litellm: ModuleType | None = None, *, network_log: list[str] | None = None) -> dict[str, Any]:
    """The snapshot as a dict (see the module docstring). Imports ``litellm`` offline if not given.

    Introspection runs under :func:`specgen.audit._offline.no_network`; every attempt LiteLLM
    made to reach the network is appended to ``network_log`` (none is expected: the affected
    entry would record ``NetworkBlockedError``)."""
    ll = litellm if litellm is not None else import_litellm()
    probes = _Probes(ll)
    endpoints = _endpoint_table(ll)
    providers = sorted({_value(p) for p in ll.provider_list})
    out_providers = {}
    # any LiteLLM code path that reaches for the network fails fast (recorded as an error kind)
    with no_network(network_log), quiet_litellm(ll):
        for provider in providers:
            try:
                out_providers[provider] = _provider_entry(probes, provider, endpoints.get(provider))
            except Exception as exc:  # one provider never sinks the snapshot
                out_providers[provider] = {"error": _error_kind(exc)}

    models_by_mode: Counter[str] = Counter()
    total = 0
    for p in out_providers.values():
        total += int(p.get("model_count", 0))
        for mode, m in (p.get("modes") or {}).items():
            models_by_mode[mode] += int(m.get("model_count", 0))
    return {
        "schema_version": SCHEMA_VERSION,
        "generated_by": "specgen reference sync",
        "litellm_version": litellm_version(),
        # the day it was taken (UTC): the audit says how old the reference it compares with is
        "synced": _today(),
        "modes": {
            mode: {"endpoint": endpoint, "params_from": _PARAMS_FROM.get(mode)}
            for endpoint, mode in sorted(ENDPOINT_MODES.items())
        },
        "openai_params": _openai_params(ll),
        "summary": {"providers": len(out_providers), "models": total, "models_by_mode": dict(models_by_mode)},
        "providers": out_providers,
    }


def _openai_params(litellm: ModuleType) -> dict[str, list[str] | None]:
    """LiteLLM's own list of the OpenAI params per request kind (``litellm.constants``)."""
    constants = getattr(litellm, "constants", None)
    out: dict[str, list[str] | None] = {}
    for mode, name in (
        ("chat", "OPENAI_CHAT_COMPLETION_PARAMS"),
        ("embedding", "OPENAI_EMBEDDING_PARAMS"),
        ("audio_transcription", "OPENAI_TRANSCRIPTION_PARAMS"),
    ):
        value = getattr(constants, name, None)
        out[mode] = sorted({str(v) for v in value}) if isinstance(value, list | tuple | set | frozenset) else None
    return out


_PARAMS_FROM = {
    "chat": "litellm.get_supported_openai_params(request_type='chat_completion')",
    "completion": "ProviderConfigManager.get_provider_text_completion_config",
    "embedding": "ProviderConfigManager.get_provider_embedding_config, else get_supported_openai_params(request_type='embeddings') unless that is the chat list (null: no list; litellm.embedding() then passes the OpenAI embedding params through for most providers)",
    "audio_transcription": "ProviderConfigManager.get_provider_audio_transcription_config, else get_supported_openai_params(request_type='transcription') unless that is the chat list",
    "audio_speech": "ProviderConfigManager.get_provider_text_to_speech_config",
    "image_generation": "ProviderConfigManager.get_provider_image_generation_config",
    "image_edit": "ProviderConfigManager.get_provider_image_edit_config",
    "video_generation": "ProviderConfigManager.get_provider_video_config",
    "rerank": "ProviderConfigManager.get_provider_rerank_config (Cohere rerank params)",
    "responses": "ProviderConfigManager.get_provider_responses_api_config (null: bridged to chat)",
    "ocr": "ProviderConfigManager.get_provider_ocr_config",
}


def sync(
    out_path: Path | str = DEFAULT_OUT,
    *,
    litellm: ModuleType | None = None,
    network_log: list[str] | None = None,
) -> dict[str, Any]:
    """Build the snapshot from the installed ``litellm`` and write it to ``out_path`` atomically.

    Returns the snapshot. Raises :class:`specgen.audit.LiteLLMMissingError` without LiteLLM.
    ``network_log``: see :func:`build_snapshot`.
    """
    snapshot = build_snapshot(litellm, network_log=network_log)
    text = dumps(snapshot)
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return snapshot
