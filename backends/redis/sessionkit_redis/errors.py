"""Which redis-py errors mean "the store cannot be reached", and their translation."""

from __future__ import annotations

import re

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


# redis-py names a client by its connection pool's every keyword (passwords redacted): a
# screenful for each sentinel that a MasterNotFoundError lists. Its address says enough.
_CLIENT_REPR = re.compile(
    r"<redis\.(?:asyncio\.)?client\.Redis\(.*?,host=([^,]+),port=(\d+),.*?\)>\)>\)>"
)


def unavailable(masked_url: str, exc: Exception) -> StoreUnavailableError:
    """The :class:`StoreUnavailableError` for ``exc``; raise it ``from exc``."""
    reason = _CLIENT_REPR.sub(r"\1:\2", f"{type(exc).__name__}: {exc}")
    return StoreUnavailableError(masked_url, reason)
