"""Conformance of specs whose calls need more than an API key: path parameters without a default
get a sample value as client keywords, and a token-auth spec's exchange goes to a second loopback
fake that hands out ACCESS_TOKEN ($ACCESS_TOKEN in transcripts). Nothing reaches the real token URL."""

from __future__ import annotations

from pathlib import Path

from specgen.conform.runner import FAIL, PASS, conform

SPEC = """name: iamish
extends: openai
model_naming: iamish/<model>
base_url: https://{region}.iamish.example
env: { api_key: IAMISH_API_KEY }
auth:
  type: token
  token:
    url: https://iam.unreachable.invalid/identity/token
    form: { apikey: $API_KEY }
    token_path: result.token
    expires_at: result.expires
path_params:
  region: {}
  account: {}
modes:
  chat:
    endpoint: { path: "/accounts/{account}/chat/completions" }
  embeddings: ~
models: { discovery: ~, known: [] }
"""
TRANSCRIPTS = """requests:
  prefixed_model:
    source: https://example.invalid/docs
    params: {model: iamish/m1, messages: [{role: user, content: Hi}], account: acct-7}
    expect:
      path: /accounts/acct-7/chat/completions
      headers: {authorization: Bearer $ACCESS_TOKEN}
      body: {model: m1, messages: [{role: user, content: Hi}]}
"""


def test_token_auth_and_path_params_are_conformed_offline(tmp_path: Path) -> None:
    (tmp_path / "iamish.yaml").write_text(SPEC)
    folder = tmp_path / "fixtures" / "iamish" / "chat"
    folder.mkdir(parents=True)
    (folder / "transcripts.yaml").write_text(TRANSCRIPTS)
    results = conform(tmp_path, ["iamish"], mode="chat").results
    failed = [r for r in results if r.status == FAIL]
    assert not failed, [f"{r.check}: {r.detail}" for r in failed]
    auth = [r for r in results if r.check.startswith("auth")]
    assert auth and all(r.status == PASS for r in auth)
    own = [r for r in results if r.check == "transcript requests/prefixed_model"]
    assert own and own[0].status == PASS
