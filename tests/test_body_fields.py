"""path_params with `in: body`: a value from the call, the client's keyword or the environment that
the request carries as a top-level body field (watsonx's project_id / space_id), optional or required."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from specgen.conform.runner import built_adapters
from specgen_runtime import errors as E

SPEC = """name: bodyish
extends: openai
model_naming: bodyish/<model>
base_url: https://api.bodyish.example
path_params:
  project_id: { env: BODYISH_PROJECT_ID, in: body, required: false }
  space_id: { env: BODYISH_SPACE_ID, in: body, required: false }
  tenant: { env: BODYISH_TENANT, in: body }
modes:
  chat:
    model_field: model_id
"""
MSGS = [{"role": "user", "content": "Hi"}]


@pytest.fixture(scope="module")
def bodyish(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    specs = tmp_path_factory.mktemp("specs")
    (specs / "bodyish.yaml").write_text(SPEC)
    with built_adapters(Path(specs), ["bodyish"]) as built:
        yield built[0][1]


def _body(request) -> Any:  # type: ignore[no-untyped-def]
    return json.loads(request.content)


def test_values_come_from_the_call_the_client_and_the_environment(bodyish, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    client = bodyish.Client(api_key="k", project_id="p-1", tenant="t")
    body = _body(client._build(bodyish.chat, {"model": "m", "messages": MSGS}, "k"))
    assert body == {"project_id": "p-1", "tenant": "t", "model_id": "m", "messages": MSGS}
    # the call's value wins over the client's; an optional field with no source is left out
    body = _body(client._build(bodyish.chat, {"model": "m", "messages": MSGS, "project_id": "p-2"}, "k"))
    assert body["project_id"] == "p-2" and "space_id" not in body
    monkeypatch.setenv("BODYISH_SPACE_ID", "s-env")
    monkeypatch.setenv("BODYISH_TENANT", "t-env")
    body = _body(bodyish.chat.build_request({"model": "m", "messages": MSGS}, api_key="k"))
    assert body == {"space_id": "s-env", "tenant": "t-env", "model_id": "m", "messages": MSGS}


def test_a_required_field_without_a_value_is_refused_before_sending(bodyish, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("BODYISH_TENANT", raising=False)
    with pytest.raises(E.BadRequestError, match="'tenant' is required"):
        bodyish.chat.build_request({"model": "m", "messages": MSGS}, api_key="k")


def test_a_body_field_is_no_url_variable(tmp_path: Path) -> None:
    from specgen.spec.errors import SpecErrors
    from specgen.spec.resolve import load_specs

    bad = SPEC.replace("bodyish", "bad").replace("https://api.bad.example", "https://{tenant}.bad.example")
    (tmp_path / "bad.yaml").write_text(bad)
    with pytest.raises(SpecErrors, match=r"path param \{tenant\} is sent in the body"):
        load_specs(tmp_path)
    (tmp_path / "bad.yaml").write_text(SPEC.replace("bodyish", "bad").replace("tenant: { env: BODYISH_TENANT, in: body }", "tenant: { env: BODYISH_TENANT, required: false }"))
    with pytest.raises(SpecErrors, match="required applies to one sent in: body"):
        load_specs(tmp_path)
