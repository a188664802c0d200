"""What redis-py's errors mean for a session store: which are worth another try, and the
:class:`~sessionkit.SessionKitError` each becomes.

- :class:`~sessionkit.StoreUnavailableError`: the server cannot be reached or cannot serve
  now: connection errors and timeouts, a pool with no free connection, a server loading its
  data (``LOADING``), a replica that was the master before a failover (``READONLY``), a
  replica cut off from its master (``MASTERDOWN``), a cluster that is down or resharding
  (``CLUSTERDOWN``, ``TRYAGAIN``), a server out of memory (``OOM``). All but ``OOM`` are
  tried again within the operation's ``timeout``.
- :class:`~sessionkit.ConfigurationError`: what no retry can mend: credentials the server
  refuses (``WRONGPASS``, ``NOAUTH``), commands or keys its ACL forbids (``NOPERM``), a
  database number it does not have, a command it does not know, a key under the prefix that
  holds other data (``WRONGTYPE``).
- :class:`~sessionkit.SessionKitError` for any other error the server answers.

Messages name the server by its masked URL; no session id or key is ever in them.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import redis.asyncio
from redis import exceptions

from sessionkit.errors import ConfigurationError, SessionKitError, StoreUnavailableError

#: Everything redis-py raises (OSError: a socket or TLS error that it did not wrap).
CLIENT_ERRORS: tuple[type[Exception], ...] = (
    exceptions.RedisError,
    exceptions.RedisClusterException,
    OSError,
)
# Refusals arrive as ConnectionError subclasses but are not worth another try.
_REFUSED = (
    exceptions.AuthenticationError,
    exceptions.AuthorizationError,
    exceptions.NoPermissionError,
    exceptions.AuthenticationWrongNumberOfArgsError,
)
_RETRYABLE = (
    exceptions.ConnectionError,  # BusyLoadingError (LOADING), MaxConnectionsError, Sentinel's
    exceptions.TimeoutError,
    exceptions.ReadOnlyError,
    exceptions.ClusterError,  # ClusterDownError, MasterDownError
    exceptions.TryAgainError,
    exceptions.RedisClusterException,
    OSError,
)
_UNAVAILABLE = (*_RETRYABLE, exceptions.OutOfMemoryError)
# (message start, what it means): server replies that no retry mends.
_MISCONFIGURED = (
    ("DB index is out of range", "database {db} does not exist on the server"),
    ("invalid DB index", "database {db} does not exist on the server"),
    ("WRONGTYPE", "a key under the store's prefix holds data of another kind"),
    ("unknown command", "the server does not offer a command the store needs"),
)

# Redis quotes the first arguments of a command it does not know: keys, session ids.
_QUOTED_ARGUMENTS = re.compile(r",? with args beginning with:.*", re.S)
# redis-py names a client by its connection pool's every keyword (passwords redacted): a
# screenful for each sentinel that a MasterNotFoundError lists. Its address says enough.
_CLIENT_REPR = re.compile(
    r"<redis\.(?:asyncio\.)?client\.Redis\(.*?,host=([^,]+),port=(\d+),.*?\)>\)>\)>"
)


# Where an AttributeError or TypeError means a connection closed under the asyncio client.
_TRANSPORT_CODE = tuple(
    str(Path(module.__file__).parent) for module in (asyncio, redis.asyncio) if module.__file__
)


def torn_connection(exc: Exception) -> exceptions.ConnectionError | None:
    """The ``ConnectionError`` that an AttributeError or TypeError raised inside asyncio's
    transports or redis-py's asyncio connection stands for, else None.

    redis-py's asyncio client writes to a connection that was closed under it (by the peer,
    or by another task) with ``'NoneType' object has no attribute 'writelines'`` or
    ``'NoneType' object is not callable`` instead of a ``ConnectionError``
    (redis/redis-py#3546, #4287): no error of the client's own, so none of its retries
    apply. The same errors raised anywhere else are bugs, and stay as they are.
    """
    frames = exc.__traceback__
    if frames is None:
        return None
    while frames.tb_next is not None:
        frames = frames.tb_next
    if not frames.tb_frame.f_code.co_filename.startswith(_TRANSPORT_CODE):
        return None
    broken = exceptions.ConnectionError(f"the connection broke under the client ({exc})")
    broken.__cause__ = exc
    return broken


def is_retryable(exc: Exception) -> bool:
    """Whether another try of the same command may succeed."""
    return isinstance(exc, _RETRYABLE) and not isinstance(exc, _REFUSED)


def translate(exc: Exception, masked_url: str, database: int | None) -> SessionKitError:
    """The :class:`SessionKitError` for ``exc`` (one of :data:`CLIENT_ERRORS`); raise it
    ``from exc``. ``database`` is the database number the store selects, if any."""
    reason = _CLIENT_REPR.sub(r"\1:\2", f"{type(exc).__name__}: {exc}")
    reason = _QUOTED_ARGUMENTS.sub("", reason)
    if isinstance(exc, _REFUSED):
        return ConfigurationError(f"session store {masked_url} refused the client: {reason}")
    if isinstance(exc, _UNAVAILABLE):
        return StoreUnavailableError(masked_url, reason)
    message = str(exc)
    for start, meaning in _MISCONFIGURED:
        if message.startswith(start):
            what = meaning.format(db=database)
            return ConfigurationError(f"session store {masked_url}: {what} ({reason})")
    return SessionKitError(f"session store {masked_url} answered an error: {reason}")
