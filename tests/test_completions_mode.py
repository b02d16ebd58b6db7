"""The ``completions`` mode (legacy text completions and fill-in-the-middle): ``Client.completions()``,
its async twin and streams, ``text_completion()`` / ``atext_completion()``, against the loopback fake
with the providers' recorded wire files; the result's shape is checked like every other result."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

import specgen_providers as pkg
from specgen.conform.fake import FakeProvider, Reply
from specgen_providers import (
    text_completion_codestral,
    text_completion_inception,
    text_completion_openai,
)
from specgen_runtime import errors as E
from specgen_runtime.types import TextCompletion, TextCompletionChunk
from tests.conftest import fixture_path

OPENAI_RESPONSE = fixture_path("text_completion_openai", "completions", "response.json")
OPENAI_STREAM = fixture_path("text_completion_openai", "completions", "stream.sse")
FIM_RESPONSE = fixture_path("text_completion_codestral", "completions", "response.json")
FIM_STREAM = fixture_path("text_completion_codestral", "completions", "stream.sse")


def test_a_text_completion_is_sent_to_completions_and_read_as_text_completion(
    fake: FakeProvider,
) -> None:
    fake.queue(Reply.file(OPENAI_RESPONSE))
    with text_completion_openai.Client(api_key="sk-test", base_url=fake.url) as client:
        r = client.completions(
            model="text-completion-openai/gpt-3.5-turbo-instruct",
            prompt="Say this is a test",
            max_tokens=7,
        )
    assert fake.last.path == "/completions"
    assert fake.last.json() == {
        "model": "gpt-3.5-turbo-instruct",
        "prompt": "Say this is a test",
        "max_tokens": 7,
    }
    assert fake.last.headers["authorization"] == "Bearer sk-test"
    assert isinstance(r, TextCompletion)
    assert r.object == "text_completion" and r.id == "cmpl-uqkvlQyYK7bGYrRHQ0eXlWi7"
    assert r.choices[0].text == "\n\nThis is indeed a test"
    assert (
        r.choices[0].finish_reason == "length"
        and r.choices[0].index == 0
        and r.choices[0].logprobs is None
    )
    assert r.usage is not None and r.usage.total_tokens == 12


def test_the_result_is_what_the_openai_package_accepts(fake: FakeProvider) -> None:
    openai_types = pytest.importorskip("openai.types")
    fake.queue(Reply.file(FIM_RESPONSE), Reply.stream(FIM_STREAM.read_bytes(), "text/event-stream"))
    with text_completion_codestral.Client(api_key="k", base_url=fake.url) as client:
        r = client.completions(
            model="codestral-latest", prompt="def fibonacci(n: int):", suffix="print(fibonacci(3))"
        )
        chunks = list(client.completions(model="codestral-latest", prompt="def", stream=True))
    openai_types.Completion.model_validate(r.to_dict(), strict=False)
    # OpenAI's own stream chunks carry finish_reason null until the last, which its type (made for
    # whole responses) does not allow: the last chunk is checked whole, the others but for that
    openai_types.Completion.model_validate(chunks[-1].to_dict())
    for chunk in chunks[:-1]:
        data = chunk.to_dict()
        openai_types.Completion.model_validate(
            {**data, "choices": [{**c, "finish_reason": "stop"} for c in data["choices"]]}
        )


def test_fim_reads_a_chat_shaped_answer_as_text(fake: FakeProvider) -> None:
    """Codestral answers FIM with choices[].message.content: the text of a text_completion choice."""
    fake.queue(Reply.file(FIM_RESPONSE))
    with text_completion_codestral.Client(api_key="k", base_url=fake.url) as client:
        r = client.completions(
            model="text-completion-codestral/codestral-latest",
            prompt="def f(",
            suffix="return a",
            seed=3,
        )
    assert fake.last.path == "/fim/completions"
    assert fake.last.json() == {
        "model": "codestral-latest",
        "prompt": "def f(",
        "suffix": "return a",
        "random_seed": 3,
    }
    assert r.object == "text_completion"
    assert r.choices[0].text.startswith("\n    a, b = 0, 1")
    assert "message" not in r.choices[0]


def test_streams_sync_and_async_give_text_completion_chunks(fake: FakeProvider) -> None:
    data = OPENAI_STREAM.read_bytes()
    fake.queue(Reply.stream(data, "text/event-stream", [data[:7], data[7:100], data[100:]]))
    with text_completion_openai.Client(api_key="k", base_url=fake.url) as client:
        chunks = list(
            client.completions(
                model="gpt-3.5-turbo-instruct", prompt="Say this is a test", stream=True
            )
        )
    assert fake.last.json()["stream"] is True
    assert all(isinstance(c, TextCompletionChunk) and c.object == "text_completion" for c in chunks)
    assert "".join(c.choices[0].text for c in chunks) == "This is a test"
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert len({c.id for c in chunks}) == 1

    async def go() -> list[Any]:
        fake.queue(Reply.stream(FIM_STREAM.read_bytes(), "text/event-stream"))
        async with text_completion_codestral.AsyncClient(api_key="k", base_url=fake.url) as client:
            return [
                c
                async for c in await client.completions(
                    model="codestral-latest", prompt="def", stream=True
                )
            ]

    fim = asyncio.run(go())
    assert "".join(c.choices[0].text for c in fim) == "\n    a, b = 0, 1\n    "
    assert fim[-1].choices[0].finish_reason == "length"  # model_length, mapped
    assert fim[-1].usage is not None and fim[-1].usage.completion_tokens == 8


def test_a_stream_cut_before_its_terminator_raises_a_typed_error(fake: FakeProvider) -> None:
    data = OPENAI_STREAM.read_bytes()
    fake.queue(Reply.stream(data[: len(data) // 2], "text/event-stream"))
    with (
        text_completion_openai.Client(api_key="k", base_url=fake.url, max_retries=0) as client,
        pytest.raises(E.StreamInterruptedError),
    ):
        list(client.completions(model="gpt-3.5-turbo-instruct", prompt="x", stream=True))


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"choices": {"text": "x"}}, "choices"),
        ({"choices": [{"text": 3, "finish_reason": "stop"}]}, "choices[0].text"),
        ({"choices": [{"text": "x", "index": "0"}]}, "choices[0].index"),
        ({"choices": [{"text": "x", "logprobs": [1]}]}, "choices[0].logprobs"),
        ({"choices": [{"text": "x"}], "usage": [1]}, "usage"),
        ({"id": {"a": 1}, "choices": []}, "id"),
    ],
)
def test_a_malformed_answer_raises_a_validation_error_naming_the_provider(
    fake: FakeProvider, body: dict[str, Any], where: str
) -> None:
    fake.queue(Reply.json(body))
    with (
        text_completion_openai.Client(api_key="k", base_url=fake.url) as client,
        pytest.raises(E.APIResponseValidationError) as info,
    ):
        client.completions(model="gpt-3.5-turbo-instruct", prompt="x")
    assert "text_completion_openai" in str(info.value) and where in str(info.value)
    assert info.value.provider == "text_completion_openai"


def test_missing_id_created_and_finish_reason_are_filled(fake: FakeProvider) -> None:
    fake.queue(Reply.json({"choices": [{"text": "hi"}], "model": "m"}))
    with text_completion_openai.Client(api_key="k", base_url=fake.url) as client:
        r = client.completions(model="gpt-3.5-turbo-instruct", prompt="x").to_dict()
    assert r["id"].startswith("cmpl-") and isinstance(r["created"], int)
    assert r["choices"] == [{"text": "hi", "index": 0, "logprobs": None, "finish_reason": "stop"}]


def test_a_provider_finish_reason_outside_openais_set_is_kept_aside(fake: FakeProvider) -> None:
    fake.queue(Reply.json({"choices": [{"text": "x", "finish_reason": "tool_calls"}]}))
    with text_completion_openai.Client(api_key="k", base_url=fake.url) as client:
        choice = client.completions(model="gpt-3.5-turbo-instruct", prompt="x").to_dict()[
            "choices"
        ][0]
    assert choice["finish_reason"] == "stop"
    assert choice["provider_specific_fields"] == {"finish_reason": "tool_calls"}


def test_params_are_checked_before_any_io(fake: FakeProvider) -> None:
    with text_completion_inception.Client(api_key="k", base_url=fake.url) as client:
        with pytest.raises(E.UnsupportedParamsError):
            client.completions(model="mercury-edit-2", prompt="x", temperature=0.2)
        with pytest.raises(E.BadRequestError):
            client.completions(model="mercury-edit-2")
    with (
        text_completion_openai.Client(api_key="k", base_url=fake.url) as client,
        pytest.raises(E.UnsupportedParamsError),
    ):
        client.completions(model="gpt-3.5-turbo-instruct", prompt="x", logprobs=6)
    assert fake.received == []


def test_an_error_status_maps_to_the_specs_error_class(fake: FakeProvider) -> None:
    body = fixture_path("text_completion_openai", "completions", "error_401.json")
    fake.queue(Reply.file(body, status=401))
    with (
        text_completion_openai.Client(api_key="sk-secret-value-123", base_url=fake.url) as client,
        pytest.raises(E.AuthenticationError) as info,
    ):
        client.completions(model="gpt-3.5-turbo-instruct", prompt="x")
    assert "sk-secret-value-123" not in str(info.value) and "sk-secret-value-123" not in repr(
        info.value
    )


def test_text_completion_entry_points_route_by_prefix(fake: FakeProvider) -> None:
    fake.queue(Reply.file(FIM_RESPONSE))
    r = pkg.text_completion(
        model="text-completion-codestral/codestral-latest",
        prompt="def",
        suffix="return 1",
        api_key="k",
        api_base=fake.url,
    )
    assert fake.last.path == "/fim/completions" and fake.last.json()["suffix"] == "return 1"
    assert isinstance(r, TextCompletion) and r._origin[0] == "text_completion_codestral"

    async def go() -> list[Any]:
        fake.queue(Reply.stream(OPENAI_STREAM.read_bytes(), "text/event-stream"))
        stream = await pkg.atext_completion(
            model="text-completion-openai/gpt-3.5-turbo-instruct",
            prompt="x",
            stream=True,
            api_key="k",
            api_base=fake.url,
        )
        return [c async for c in stream]

    chunks = asyncio.run(go())
    assert "".join(c.choices[0].text for c in chunks) == "This is a test"


def test_a_provider_without_the_mode_says_so() -> None:
    with pytest.raises(E.NotFoundError, match="declares no completions"):
        pkg.text_completion(model="groq/llama-3.3-70b-versatile", prompt="x", api_key="k")
    with pytest.raises(E.NotFoundError, match="declares no chat"):
        pkg.completion(
            model="text-completion-openai/gpt-3.5-turbo-instruct",
            messages=[{"role": "user", "content": "x"}],
            api_key="k",
        )


def test_the_model_registry_names_the_mode_as_litellm_does() -> None:
    info = pkg.get_model_info("text-completion-openai/gpt-3.5-turbo-instruct")
    assert info["mode"] == "completion" and info["max_input_tokens"] == 8192


def test_the_stream_chunk_shape_is_checked(fake: FakeProvider) -> None:
    frame = json.dumps({"id": "c1", "choices": [{"text": ["no"], "index": 0}]})
    fake.queue(Reply.stream(f"data: {frame}\n\ndata: [DONE]\n\n".encode(), "text/event-stream"))
    with (
        text_completion_openai.Client(api_key="k", base_url=fake.url) as client,
        pytest.raises(E.APIResponseValidationError, match="text completion chunk"),
    ):
        list(client.completions(model="gpt-3.5-turbo-instruct", prompt="x", stream=True))
