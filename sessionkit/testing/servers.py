"""Helpers for tests that need a real server."""

from __future__ import annotations

import os
import socket

import pytest

from ..netutil import free_port

__all__ = ["FrozenClock", "free_port", "require_server"]


def require_server(host: str, port: int, what: str) -> None:
    """Skip the calling test if ``host:port`` does not accept connections, unless in CI.

    With ``CI`` set to a true value a missing server is a failure, never a skip.
    """
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return
    except OSError as exc:
        reason = f"{what} is not reachable at {host}:{port} ({exc})"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{reason}; CI expects it to be running", pytrace=False)
    pytest.skip(reason)


class FrozenClock:
    """A clock for stores that take one (``clock=``): it stands still until a test moves it.

    ``clock.now += 61`` makes a minute pass without sleeping.
    """

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now
