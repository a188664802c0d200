"""Which redis-py errors mean "the store cannot be reached", and their translation."""

from __future__ import annotations

from redis import exceptions

from sessionkit.errors import StoreUnavailableError

#: Connection failures (refused, reset, authentication, too many connections), timeouts and
#: a cluster that is down or cannot be mapped. Other Redis errors pass through unchanged.
UNAVAILABLE: tuple[type[Exception], ...] = (
    exceptions.ConnectionError,
    exceptions.TimeoutError,
    exceptions.ClusterError,
    exceptions.RedisClusterException,
)


def unavailable(masked_url: str, exc: Exception) -> StoreUnavailableError:
    """The :class:`StoreUnavailableError` for ``exc``; raise it ``from exc``."""
    return StoreUnavailableError(masked_url, f"{type(exc).__name__}: {exc}")
