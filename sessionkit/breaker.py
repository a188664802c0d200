"""Failing fast while a store is known to be down, and saying so once in the log.

After ``failures`` consecutive :class:`~sessionkit.errors.StoreUnavailableError` the breaker
opens: one store call at a time is let through to probe the store, and every other call
fails with a ``StoreUnavailableError`` that says so (and carries ``retry_after``) instead of
waiting for the store's timeout too. A call that comes while a probe is in flight waits for
its verdict ``probe_wait`` seconds at most (a few milliseconds): when the store has just come
back, the probe answers within that and the call goes on, where failing at once would turn
away the requests of the first moments after the store's return. When a probe succeeds the
breaker closes; when it fails, the next probe goes ``reset_after`` seconds later (by default
at once: a probe costs one request the store's timeout at most, and probing without pause
finds the store back as soon as it is).

The log gets one warning when the store becomes unavailable (the URL masked, the cause in one
line), one line when it is back, and nothing per call in between.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable

from .errors import ConfigurationError, StoreUnavailableError

log = logging.getLogger("sessionkit")


class Probe:
    """The store call that probes an open breaker's store; others may wait for its end."""

    __slots__ = ("_waiters", "ended")

    def __init__(self) -> None:
        self.ended = threading.Event()  # for waiting threads
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []

    def _end(self) -> None:
        """Wake everyone waiting (called under the breaker's lock, from any thread)."""
        self.ended.set()
        for loop, waiter in self._waiters:
            if waiter.done():  # settled by its timer, or cancelled with its task
                continue
            try:
                loop.call_soon_threadsafe(_settle, waiter)
            except RuntimeError:  # its loop closed meanwhile: nobody is waiting there
                continue

    def _add_waiter(self, loop: asyncio.AbstractEventLoop, waiter: asyncio.Future[None]) -> None:
        """Settle ``waiter`` on ``loop`` when the probe ends (called under the breaker's lock)."""
        if self.ended.is_set():
            waiter.set_result(None)
        else:
            self._waiters.append((loop, waiter))


def _settle(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


class CircuitBreaker:
    """A circuit breaker around one store; thread-safe, and cheap while the store is up.

    :param failures: consecutive unavailable errors that open the breaker.
    :param reset_after: seconds between a failed probe and the next (0: the next call).
    :param probe_wait: the most seconds a call waits for the verdict of a probe in flight
        before it fails (0: it fails at once).
    :param clock: the time source, in seconds (monotonic).
    """

    def __init__(
        self,
        *,
        failures: int = 3,
        reset_after: float = 0.0,
        probe_wait: float = 0.002,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if type(failures) is not int or failures < 1:
            raise ConfigurationError("a breaker's failures must be an int of at least 1")
        if not isinstance(reset_after, (int, float)) or not reset_after >= 0:
            raise ConfigurationError("a breaker's reset_after must be 0 or a positive number")
        if not isinstance(probe_wait, (int, float)) or not probe_wait >= 0:
            raise ConfigurationError("a breaker's probe_wait must be 0 or a positive number")
        self.failures = failures
        self.reset_after = float(reset_after)
        self.probe_wait = float(probe_wait)
        self.name = "?"  # the store's masked URL, set by the manager
        self._clock = clock
        self._lock = threading.Lock()
        self._failed = 0  # consecutive unavailable errors
        self._open = False
        self._next_probe = 0.0  # while open: when the next probe may go
        self._probe: Probe | None = None  # the probe in flight
        self._down_since = 0.0

    @property
    def is_open(self) -> bool:
        return self._open

    def before_call(self) -> Probe | None:
        """None if the call may go to the store (the breaker is closed, or the call is the
        probe); the probe in flight if the call is to wait for it (:meth:`wait`,
        :meth:`await_probe`); else raise at once."""
        if not self._open:
            return None
        with self._lock:
            if not self._open:
                return None
            if self._probe is not None:
                if self.probe_wait:
                    return self._probe
            elif self._clock() >= self._next_probe:
                self._probe = Probe()
                return None
            raise self._failing_fast()

    def wait(self, probe: Probe) -> None:
        """Block until ``probe`` ends or ``probe_wait`` passes; raise unless the breaker
        closed meanwhile."""
        probe.ended.wait(self.probe_wait)
        self._check_closed()

    async def await_probe(self, probe: Probe) -> None:
        """:meth:`wait` for coroutines."""
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        with self._lock:
            probe._add_waiter(loop, waiter)
        timer = loop.call_later(self.probe_wait, _settle, waiter)
        try:
            await waiter
        finally:
            timer.cancel()
        self._check_closed()

    def _check_closed(self) -> None:
        if self._open:
            with self._lock:
                if self._open:
                    raise self._failing_fast()

    def _failing_fast(self) -> StoreUnavailableError:
        wait = max(self._next_probe - self._clock(), 0.0) or 1.0
        return StoreUnavailableError(
            self.name,
            f"failing fast after {self._failed} failures in a row while it is probed",
            retry_after=wait,
        )

    def _end_probe(self) -> None:
        if self._probe is not None:
            self._probe._end()
            self._probe = None

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
            self._open = False
            self._end_probe()

    def released(self) -> None:
        """The call ended without telling whether the store is up (it was cancelled)."""
        if self._probe is not None:
            with self._lock:
                self._end_probe()

    def failed(self, error: StoreUnavailableError) -> None:
        with self._lock:
            now = self._clock()
            self._failed += 1
            if self._failed == 1:
                self._down_since = now
            self._end_probe()
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
