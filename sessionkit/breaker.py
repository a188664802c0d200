"""Failing fast while a store is known to be down, and saying so once in the log.

After ``failures`` consecutive :class:`~sessionkit.errors.StoreUnavailableError` the breaker
opens: one store call at a time is let through to probe the store, and every other call
fails at once with a ``StoreUnavailableError`` that says so (and carries ``retry_after``),
instead of waiting for the store's timeout too. When a probe succeeds the breaker closes; when
it fails, the next probe goes ``reset_after`` seconds later (by default at once: a probe costs
one request the store's timeout at most, and probing without pause finds the store back as
soon as it is).

The log gets one warning when the store becomes unavailable (the URL masked, the cause in one
line), one line when it is back, and nothing per call in between.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from .errors import ConfigurationError, StoreUnavailableError

log = logging.getLogger("sessionkit")


class CircuitBreaker:
    """A circuit breaker around one store; thread-safe, and cheap while the store is up.

    :param failures: consecutive unavailable errors that open the breaker.
    :param reset_after: seconds between a failed probe and the next (0: the next call).
    :param clock: the time source, in seconds (monotonic).
    """

    def __init__(
        self,
        *,
        failures: int = 3,
        reset_after: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if type(failures) is not int or failures < 1:
            raise ConfigurationError("a breaker's failures must be an int of at least 1")
        if not isinstance(reset_after, (int, float)) or not reset_after >= 0:
            raise ConfigurationError("a breaker's reset_after must be 0 or a positive number")
        self.failures = failures
        self.reset_after = float(reset_after)
        self.name = "?"  # the store's masked URL, set by the manager
        self._clock = clock
        self._lock = threading.Lock()
        self._failed = 0  # consecutive unavailable errors
        self._open = False
        self._next_probe = 0.0  # while open: when the next probe may go
        self._probing = False  # a probe is in flight
        self._down_since = 0.0

    @property
    def is_open(self) -> bool:
        return self._open

    def before_call(self) -> None:
        """Raise at once if the breaker is open, unless this call may be the probe."""
        if not self._open:
            return
        with self._lock:
            now = self._clock()
            if self._open and (self._probing or now < self._next_probe):
                wait = max(self._next_probe - now, 0.0) or 1.0
                raise StoreUnavailableError(
                    self.name,
                    f"failing fast after {self._failed} failures in a row while it is probed",
                    retry_after=wait,
                )
            self._probing = self._open

    def succeeded(self) -> None:
        """The call reached the store: the breaker closes."""
        if not self._failed:
            return
        with self._lock:
            if self._open:
                log.warning(
                    "session store %s is available again after %.1f s",
                    self.name,
                    self._clock() - self._down_since,
                )
            self._failed = 0
            self._open = self._probing = False

    def released(self) -> None:
        """The call ended without telling whether the store is up (it was cancelled)."""
        if self._probing:
            with self._lock:
                self._probing = False

    def failed(self, error: StoreUnavailableError) -> None:
        with self._lock:
            now = self._clock()
            self._failed += 1
            if self._failed == 1:
                self._down_since = now
            self._probing = False
            self._next_probe = now + self.reset_after
            if not self._open and self._failed >= self.failures:
                self._open = True
                log.warning(
                    "session store %s is unavailable (%s); failing fast while one request "
                    "at a time probes it",
                    self.name,
                    error.reason or error,
                )
                log.debug("the last error of session store %s", self.name, exc_info=error)
