"""Failing fast while a store is known to be down, and saying so once in the log.

After ``failures`` consecutive :class:`~sessionkit.errors.StoreUnavailableError` the breaker
opens: for ``reset_after`` seconds every store call fails at once with a
``StoreUnavailableError`` that says so (and carries ``retry_after``), instead of waiting for
the store's timeout. Then one call is let through to probe; if it succeeds the breaker closes,
otherwise it stays open for another ``reset_after``.

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
    :param reset_after: seconds the breaker stays open before it lets one call probe.
    :param clock: the time source, in seconds (monotonic).
    """

    def __init__(
        self,
        *,
        failures: int = 3,
        reset_after: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if type(failures) is not int or failures < 1:
            raise ConfigurationError("a breaker's failures must be an int of at least 1")
        if not isinstance(reset_after, (int, float)) or not reset_after > 0:
            raise ConfigurationError("a breaker's reset_after must be a positive number")
        self.failures = failures
        self.reset_after = float(reset_after)
        self.name = "?"  # the store's masked URL, set by the manager
        self._clock = clock
        self._lock = threading.Lock()
        self._failed = 0  # consecutive unavailable errors
        self._open_until = 0.0  # while open: when the next probe may go
        self._probing = False
        self._down_since = 0.0

    @property
    def is_open(self) -> bool:
        return self._open_until > 0.0

    def before_call(self) -> None:
        """Raise at once if the breaker is open; let one probe through once it may."""
        if not self._open_until:
            return
        with self._lock:
            now = self._clock()
            if self._open_until and (now < self._open_until or self._probing):
                wait = max(self._open_until - now, 0.0) or self.reset_after
                raise StoreUnavailableError(
                    self.name,
                    f"failing fast after {self._failed} failures in a row; retry in {wait:.1f} s",
                    retry_after=wait,
                )
            self._probing = bool(self._open_until)

    def succeeded(self) -> None:
        if not self._failed:
            return
        with self._lock:
            if self._open_until:
                log.warning(
                    "session store %s is available again after %.1f s",
                    self.name,
                    self._clock() - self._down_since,
                )
            self._failed = 0
            self._open_until = 0.0
            self._probing = False

    def failed(self, error: StoreUnavailableError) -> None:
        with self._lock:
            now = self._clock()
            self._failed += 1
            if not self._failed - 1:
                self._down_since = now
            self._probing = False
            if self._open_until:
                self._open_until = now + self.reset_after
            elif self._failed >= self.failures:
                self._open_until = now + self.reset_after
                log.warning(
                    "session store %s is unavailable (%s); failing fast, probing every %.0f s",
                    self.name,
                    error.reason or error,
                    self.reset_after,
                )
                log.debug("the last error of session store %s", self.name, exc_info=error)
