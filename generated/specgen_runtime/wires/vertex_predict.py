"""The Vertex AI prediction wire (``:predict``), embeddings only: each input is one of
``instances`` (``{"content": text}``), the options are ``parameters``
(``outputDimensionality``, ``autoTruncate``), and each of ``predictions`` holds
``embeddings.values`` with ``embeddings.statistics.token_count``. Google's text embedding models on
Vertex AI (``gemini-embedding-001``, ``text-embedding-005``, ``text-multilingual-embedding-002``)
take it."""

from __future__ import annotations

from typing import Any

from specgen_runtime.wires._common import as_list

__all__ = [
    "CHOICE_PREFIX",
    "MODES",
    "NAME",
    "PARAMS_ROOT",
    "PASSTHROUGH",
    "RESPONSE_DEFAULTS",
    "STREAMS",
    "embeddings_data",
    "embeddings_request",
    "embeddings_usage",
]

NAME = "vertex_predict"
MODES = frozenset({"embeddings"})
STREAMS = False
PASSTHROUGH = False
RESPONSE_DEFAULTS: dict[str, str] = {}
CHOICE_PREFIX = ""
#: mapped options stay where the spec puts them (``parameters.outputDimensionality``)
PARAMS_ROOT: dict[str, tuple[str, ...]] = {}


def embeddings_request(body: dict[str, Any], inputs: Any, model: str) -> None:
    """→ ``{"instances": [{"content": text}, ...], "parameters": {...}}``: one instance per input."""
    texts = [inputs] if isinstance(inputs, str) else inputs
    if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
        raise ValueError("'input' must be a string or a non-empty list of strings")
    body["instances"] = [{"content": t} for t in texts]


def embeddings_data(data: dict[str, Any]) -> list[dict[str, Any]]:
    """``predictions[].embeddings.values`` → OpenAI ``data``, in input order."""
    out: list[dict[str, Any]] = []
    for i, prediction in enumerate(as_list(data["predictions"], "predictions")):
        values = prediction["embeddings"]["values"]
        if not isinstance(values, list):
            raise TypeError(f"predictions[{i}].embeddings.values is not a list")
        out.append({"object": "embedding", "index": i, "embedding": values})
    return out


def embeddings_usage(data: dict[str, Any]) -> dict[str, Any] | None:
    """OpenAI ``usage`` from each prediction's ``embeddings.statistics.token_count`` (summed); None
    when no prediction reports one (none is made up)."""
    counts = [
        p["embeddings"]["statistics"]["token_count"]
        for p in as_list(data["predictions"], "predictions")
        if isinstance(p.get("embeddings", {}).get("statistics"), dict)
        and "token_count" in p["embeddings"]["statistics"]
    ]
    if not counts:
        return None
    if not all(isinstance(c, int) and not isinstance(c, bool) for c in counts):
        raise TypeError("embeddings.statistics.token_count is not an integer")
    total = sum(counts)
    return {"prompt_tokens": total, "total_tokens": total}
