"""The typed shape of a generated mode (``<provider>.chat``, ``<provider>.embeddings``)."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

import httpx

from specgen_runtime.types import ChatCompletion, ChatCompletionChunk, EmbeddingResponse

__all__ = ["BuildRequest", "ChatMode", "EmbeddingsMode", "Mode"]

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
