"""HTTP details the adapters share: https detection, response headers, and the answers to
store errors (503 while the store is down, 409 for a refused merge) with a quiet log."""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from typing import NamedTuple

from ..errors import SessionConflictError, SessionKitError, StoreUnavailableError

log = logging.getLogger("sessionkit")


def forwarded_https(header: str | None, direct: bool) -> bool:
    """Whether the first value of an ``X-Forwarded-Proto`` header says https; ``direct`` (the
    connection's own scheme) when the proxy sent no such header."""
    if not header:
        return direct
    return header.split(",", 1)[0].strip().lower() == "https"


def is_server_error(status: int) -> bool:
    """No session is saved for a 5xx response: the request did not complete."""
    return status >= 500


def vary_with(vary: str, header: str = "Cookie") -> str:
    """A ``Vary`` header value that also names ``header``."""
    tokens = {token.strip().lower() for token in vary.split(",")}
    if header.lower() in tokens or "*" in tokens:
        return vary
    return f"{vary}, {header}" if vary.strip() else header


class ErrorAnswer(NamedTuple):
    """The response an adapter gives for a store error it answers itself."""

    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes


RETRY_AFTER = 5  # seconds, when nothing better is known


def answer_for(error: SessionKitError) -> ErrorAnswer | None:
    """503 with Retry-After for an unavailable store, 409 for a conflict the policy refused
    to resolve, None for the errors an adapter leaves to the framework."""
    if isinstance(error, StoreUnavailableError):
        wait = RETRY_AFTER if error.retry_after is None else max(1, math.ceil(error.retry_after))
        body = b"The session store is unavailable; please try again shortly.\n"
        return ErrorAnswer(503, "Service Unavailable", [("Retry-After", str(wait))], body)
    if isinstance(error, SessionConflictError):
        body = b"Another request changed this session at the same time; please retry.\n"
        return ErrorAnswer(409, "Conflict", [], body)
    return None


class FailureLog:
    """At most one log line per failed request, and at most one per ``interval`` seconds:
    the lines in between are counted and reported with the next. Tracebacks at debug level."""

    def __init__(self, interval: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = interval
        self._clock = clock
        self._lock = threading.Lock()
        self._next = 0.0
        self._held = 0

    def failed(self, answer: ErrorAnswer, error: SessionKitError, method: str, path: str) -> None:
        log.debug("%s %s answered %d", method, path, answer.status, exc_info=error)
        with self._lock:
            now = self._clock()
            if now < self._next:
                self._held += 1
                return
            held, self._held, self._next = self._held, 0, now + self.interval
        more = f" (and {held} more since the last line)" if held else ""
        log.warning("%s %s answered %d: %s%s", method, path[:200], answer.status, error, more)
