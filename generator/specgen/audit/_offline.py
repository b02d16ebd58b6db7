"""Guards for running LiteLLM offline: no socket connects, no DNS, quiet logs."""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

__all__ = ["NetworkBlockedError", "no_network", "quiet_litellm"]

_lock = threading.RLock()


class NetworkBlockedError(ConnectionRefusedError):
    """Something tried to reach the network while a :func:`no_network` guard was active."""


@contextmanager
def no_network(attempts: list[str] | None = None) -> Iterator[list[str]]:
    """Refuse every ``socket.connect``/``connect_ex`` and DNS lookup in this process while active.

    Each attempt is appended (as ``"connect <addr>"`` / ``"dns <host>"``) to ``attempts`` (a new
    list when not given), which the context yields. The guard is process-wide (sockets have no
    notion of "this caller"), so guards nest but do not run concurrently with live traffic.
    """
    seen: list[str] = attempts if attempts is not None else []

    def connect(self: socket.socket, address: Any) -> None:
        seen.append(f"connect {address!r}")
        raise NetworkBlockedError(f"network blocked: connect {address!r}")

    def connect_ex(self: socket.socket, address: Any) -> int:
        seen.append(f"connect {address!r}")
        return 111  # ECONNREFUSED

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(f"dns {host!r}")
        raise NetworkBlockedError(f"network blocked: DNS lookup of {host!r}")

    with _lock:
        saved_connect, saved_connect_ex = socket.socket.connect, socket.socket.connect_ex
        saved_getaddrinfo = socket.getaddrinfo
        setattr(socket.socket, "connect", connect)  # noqa: B010 - a method patch mypy cannot type
        setattr(socket.socket, "connect_ex", connect_ex)  # noqa: B010
        setattr(socket, "getaddrinfo", getaddrinfo)  # noqa: B010
        try:
            yield seen
        finally:
            setattr(socket.socket, "connect", saved_connect)  # noqa: B010
            setattr(socket.socket, "connect_ex", saved_connect_ex)  # noqa: B010
            setattr(socket, "getaddrinfo", saved_getaddrinfo)  # noqa: B010


@contextmanager
def quiet_litellm(litellm: ModuleType) -> Iterator[None]:
    """Silence LiteLLM's banners ("Provider List: ...") and its warning logs while active."""
    saved_flag = getattr(litellm, "suppress_debug_info", False)
    loggers = [logging.getLogger(name) for name in ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy")]
    saved_levels = [lg.level for lg in loggers]
    setattr(litellm, "suppress_debug_info", True)  # noqa: B010 - a module flag
    for lg in loggers:
        lg.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        setattr(litellm, "suppress_debug_info", saved_flag)  # noqa: B010
        for lg, level in zip(loggers, saved_levels, strict=True):
            lg.setLevel(level)
