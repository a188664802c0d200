"""When a failed try of a command is tried again: one policy for the sync store and its twin.

redis-py is told never to retry (its own retries nest: a command's, the connect's inside
it, a cluster's around both), so that this policy alone decides, within one budget: an
operation takes at most ``timeout`` seconds when the server does not answer, its retries
included. Each of the ``retries + 1`` tries waits at most :attr:`RetryPolicy.try_timeout`
for a reply, what is left of ``timeout`` once the backoff between tries is set aside.
"""

from __future__ import annotations

import random

from sessionkit.errors import ConfigurationError

from .errors import is_retryable

# Another try soon after the first: the usual causes (a failover, a restart, a cluster
# resharding) are over in milliseconds or will outlast the request anyway.
BACKOFF_BASE = 0.01
BACKOFF_CAP = 0.1
# Timing noise (scheduling, the work around each try) that a try may take beyond its share.
GRACE = 0.05


def backoff_cap(retry: int) -> float:
    """The longest wait before retry number ``retry`` (1 for the first)."""
    return min(BACKOFF_CAP, BACKOFF_BASE * 2.0**retry)


class RetryPolicy:
    """Tries of one command within ``timeout`` seconds, at most ``retries`` after the first.

    :raises ConfigurationError: if ``timeout`` leaves no time for the tries.
    """

    def __init__(self, timeout: float, retries: int) -> None:
        self.timeout = timeout
        self.retries = retries
        backoff = sum(backoff_cap(retry) for retry in range(1, retries + 1))
        self.try_timeout = (timeout - backoff) / (retries + 1)
        if self.try_timeout < 0.01:
            raise ConfigurationError(
                f"timeout={timeout} is too short for retries={retries}: each try would have "
                f"{max(self.try_timeout, 0) * 1000:.1f} ms"
            )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(timeout={self.timeout}, retries={self.retries})"

    def delay(self, exc: Exception, retry: int, elapsed: float) -> float | None:
        """Seconds to wait before retry number ``retry`` after ``exc``, ``elapsed`` seconds
        into the operation; None if there is no retry: the error is not one a retry mends,
        the retries are spent, or another try could not end within ``timeout``."""
        if retry > self.retries or not is_retryable(exc):
            return None
        wait = random.uniform(0.0, backoff_cap(retry))  # jitter, not a secret
        if elapsed + wait + self.try_timeout > self.timeout + GRACE:
            return None
        return wait
