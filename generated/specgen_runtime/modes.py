"""The typed shape of a generated mode (``<provider>.chat``, ``<provider>.embeddings``,
``<provider>.completions``)."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

import httpx

from specgen_runtime.types import (
    ChatCompletion,
    ChatCompletionChunk,
    EmbeddingResponse,
    TextCompletion,
    TextCompletionChunk,
)

__all__ = ["BuildRequest", "ChatMode", "CompletionsMode", "EmbeddingsMode", "Mode"]

R = TypeVar("R", covariant=True)


class BuildRequest(Protocol):
    def __call__(
        self,
        params: Mapping[str, Any],
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        api_version: str | None = None,
    ) -> httpx.Request: ...


class ParseResponse(Protocol[R]):
    def __call__(self, response: httpx.Response) -> R: ...


class ParseStream(Protocol):
    def __call__(
        self, chunks: Iterable[bytes], *, model: str | None = None
    ) -> Iterator[ChatCompletionChunk]: ...


class AParseStream(Protocol):
    def __call__(
        self, chunks: AsyncIterable[bytes], *, model: str | None = None
    ) -> AsyncIterator[ChatCompletionChunk]: ...


class ParseTextStream(Protocol):
    def __call__(
        self, chunks: Iterable[bytes], *, model: str | None = None
    ) -> Iterator[TextCompletionChunk]: ...


class AParseTextStream(Protocol):
    def __call__(
        self, chunks: AsyncIterable[bytes], *, model: str | None = None
    ) -> AsyncIterator[TextCompletionChunk]: ...


T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Mode(Generic[T]):
    name: str
    build_request: BuildRequest
    parse_response: ParseResponse[T]


@dataclass(frozen=True, slots=True)
class ChatMode(Mode[ChatCompletion]):
    parse_stream: ParseStream
    aparse_stream: AParseStream


@dataclass(frozen=True, slots=True)
class EmbeddingsMode(Mode[EmbeddingResponse]):
    pass


@dataclass(frozen=True, slots=True)
class CompletionsMode(Mode[TextCompletion]):
    """Legacy text completions (``/completions``) and fill-in-the-middle (``prompt`` + ``suffix``)."""

    parse_stream: ParseTextStream
    aparse_stream: AParseTextStream
