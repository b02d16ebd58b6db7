"""`specgen audit`: the join of declarations, conformance and the LiteLLM reference, and its --check."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from specgen.audit.checklist import FAILING, GAP, OURS, VERIFIED, audit, stale, write
from specgen.cli import main
from specgen.conform.runner import conform
from specgen.spec.resolve import load_specs

ROOT = Path(__file__).resolve().parent.parent

REFERENCE = {
    "litellm_version": "1.100.5",
    "providers": {
        "anthropic": {
            "model_count": 26,
            "modes": {
                "chat": {"supported_openai_params": ["max_tokens", "temperature", "top_p", "web_search_options", "stream", "api_key"]},
                "image_generation": {"supported_openai_params": []},
            },
        },
        "bedrock": {"model_count": 420, "modes": {"chat": {"config_class": "AmazonConverseConfig", "wire": None}, "rerank": {}}},
        "cohere": {"model_count": 30, "modes": {"chat": {"config_class": "CohereV2ChatConfig", "wire": None}, "rerank": {}}},
        "deepinfra": {"model_count": 3, "modes": {"chat": {"config_class": "DeepInfraConfig", "wire": "openai"}}},
    },
}


@pytest.fixture(scope="module")
def specs(anthropic_specs: Path) -> Path:
    return anthropic_specs


def test_cells_and_gaps(specs: Path) -> None:
    results = conform(specs).results
    a = audit(load_specs(specs), results, REFERENCE)
    cells = a.parity["providers"]["anthropic"]["modes"]["chat"]["params"]
    assert cells["temperature"]["cell"] == VERIFIED  # mapped, conformance passed with a transcript
    assert cells["web_search_options"]["cell"] == GAP  # LiteLLM has it, the spec doesn't
    assert cells["top_k"]["cell"] == OURS  # mapped here, not in LiteLLM's list
    assert "api_key" not in cells and "stream" not in cells  # call options, not params
    gaps = a.parity["providers"]["anthropic"]["gaps"]
    assert {"kind": "mode", "mode": "image_generation"} in gaps
    high = {g["abstraction"]: g["blocks"] for g in a.parity["high_level_gaps"]}
    assert high["mode rerank"] == 2 and high["mode image_generation"] == 1
    assert [p["provider"] for p in a.parity["litellm_only_providers"]] == ["bedrock", "cohere", "deepinfra"]  # by model count
    # which chat wire each speaks: the OpenAI one is a spec away, others need a message format
    assert [p["wire"] for p in a.parity["litellm_only_providers"]] == [None, None, "openai"]
    assert high["message format AmazonConverseConfig"] == 1 and high["message format CohereV2ChatConfig"] == 1
    assert "message format DeepInfraConfig" not in high
    assert "1 of these 3 speak the OpenAI chat wire" in a.markdown and "| deepinfra | 3 | chat | openai |" in a.markdown
    # a failing check shows as failing
    broken = [r if r.check != "param temperature → temperature" else type(r)(**{**{k: v for k, v in r.to_dict().items() if k != "inherited_only"}, "status": "fail"}) for r in results]
    assert audit(load_specs(specs), broken, REFERENCE).parity["providers"]["anthropic"]["modes"]["chat"]["params"]["temperature"]["cell"] == FAILING


def test_deterministic_and_check(specs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    results = conform(specs).results
    first = audit(load_specs(specs), results, REFERENCE)
    second = audit(load_specs(specs), conform(specs).results, REFERENCE)
    assert first.files == second.files and first.parity == second.parity
    evidence = first.parity["providers"]["anthropic"]["evidence"]
    assert evidence["documentation"] > 0 and evidence["failing"] == 0 and evidence["self_check"] > 0
    assert "[anthropic](providers/anthropic.md)" in first.markdown and "## chat" in first.files["providers/anthropic.md"]
    out = tmp_path / "checklist"
    write(first, out)
    assert stale(second, out) == []
    (out / "litellm_reference.json").write_text(json.dumps(REFERENCE))
    assert main(["audit", "--specs", str(specs), "--out", str(out), "--check"]) == 0
    md = out / "LITELLM_PROVIDER_CHECKLIST.md"
    md.write_text(md.read_text().replace("✅", "x", 1))
    assert main(["audit", "--specs", str(specs), "--out", str(out), "--check"]) == 1
    assert "stale" in capsys.readouterr().err
    assert main(["audit", "--specs", str(specs), "--out", str(out)]) == 0
    assert stale(first, out) == []
    # a provider's page is checked too, and a page whose provider is gone is stale (then removed)
    page = out / "providers" / "anthropic.md"
    page.write_text(page.read_text() + "edited\n")
    assert stale(first, out) == ["providers/anthropic.md"]
    (out / "providers" / "gone.md").write_text("old\n")
    assert "providers/gone.md" in stale(first, out)
    write(first, out)
    assert stale(first, out) == [] and not (out / "providers" / "gone.md").exists()
