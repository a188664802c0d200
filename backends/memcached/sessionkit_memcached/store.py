"""``memcached://`` and ``memcached+unix://``: sessions in memcached, through pymemcache.

What the store does about memcached's pitfalls:

- ``TCP_NODELAY`` is always on; without it Nagle's algorithm meets the server's delayed ACK
  and a get followed by a set stalls for about 40 ms on loopback.
- Every command waits for its reply (no ``noreply``), so a write that fails is seen.
- memcached reads an expiry over 30 days as a Unix time, and 0 as "never": longer TTLs are
  sent as a Unix time, and 0 is never sent. Its clock ticks once a second, so a relative
  expiry of n can end up to a second early; the store asks for n + 1 so that a session lives
  at least its TTL (and at most a second longer).
- Keys are the prefix (checked once, when the store is made) and a validated session id, so
  every key is printable ASCII of at most 250 bytes.
- Data over the server's item size raises :class:`~sessionkit.errors.SessionTooLargeError`
  before anything is sent.
- ``touch`` is memcached's ``touch``. There is no ``clear`` (it would need ``flush_all``,
  which wipes every application's keys) and no ``count`` (memcached cannot list keys short of
  dumping the whole cache).
"""

from __future__ import annotations

import time
from typing import Any

from pymemcache.client.base import PooledClient  # type: ignore[import-untyped]
from pymemcache.exceptions import MemcacheError, MemcacheServerError  # type: ignore[import-untyped]

from sessionkit.errors import SessionKitError, SessionTooLargeError, StoreUnavailableError
from sessionkit.ids import check_session_id, check_ttl, is_valid_session_id

from .ring import NodeFailure, NodeRing
from .settings import SESSION_ID_LENGTH, MemcachedSettings, node_name

RELATIVE_EXPIRY_LIMIT = 30 * 24 * 3600
# memcached's item header (48 bytes, 8 of CAS, the key's NUL and the data's CRLF), rounded up.
ITEM_OVERHEAD = 64

_FAILURES = (NodeFailure, OSError, MemcacheError, RuntimeError)


class MemcachedStore:
    """Sessions in one memcached node or spread over several.

    One node is served by a :class:`pymemcache.PooledClient`; several by a
    :class:`~sessionkit_memcached.ring.NodeRing`, where a node that fails is left out for
    ``dead_retry`` seconds: the call that found it down raises
    :class:`~sessionkit.errors.StoreUnavailableError`, and afterwards its sessions read as
    missing while sessions on the other nodes are unaffected.
    """

    def __init__(self, settings: MemcachedSettings) -> None:
        self.settings = settings
        self.url = settings.masked_url
        #: The most bytes of session data that fit in one item beside the key and header.
        self.data_limit = (
            settings.max_item_size - len(settings.prefix) - SESSION_ID_LENGTH - ITEM_OVERHEAD
        )
        self._client = _make_client(settings)

    @classmethod
    def from_url(cls, url: str, **options: Any) -> MemcachedStore:
        """The entry-point factory: ``MemcachedStore.from_url("memcached://host:11211")``."""
        return cls(MemcachedSettings.from_url(url, **options))

    def get(self, sid: str) -> bytes | None:
        if not is_valid_session_id(sid):
            return None
        try:
            data: bytes | None = self._client.get(sid)
        except _FAILURES as exc:
            raise self._failure(exc) from exc
        return data

    def set(self, sid: str, data: bytes, ttl: int) -> None:
        if not self._write("set", sid, data, ttl):
            raise StoreUnavailableError(self.url, "memcached did not store the session")

    def add(self, sid: str, data: bytes, ttl: int) -> bool:
        return self._write("add", sid, data, ttl)

    def replace(self, sid: str, data: bytes, ttl: int) -> bool:
        return self._write("replace", sid, data, ttl)

    def delete(self, sid: str) -> None:
        if not is_valid_session_id(sid):
            return
        try:
            self._client.delete(sid, noreply=False)
        except _FAILURES as exc:
            raise self._failure(exc) from exc

    def touch(self, sid: str, ttl: int) -> bool:
        expire = self._expiry(check_ttl(ttl))
        if not is_valid_session_id(sid):
            return False
        try:
            return bool(self._client.touch(sid, expire, noreply=False))
        except _FAILURES as exc:
            raise self._failure(exc) from exc

    def close(self) -> None:
        self._client.close()

    def _write(self, command: str, sid: str, data: bytes, ttl: int) -> bool:
        check_session_id(sid)
        expire = self._expiry(check_ttl(ttl))
        if type(data) is not bytes:
            data = bytes(data)
        if len(data) > self.data_limit:
            raise SessionTooLargeError(len(data), self.data_limit)
        try:
            return bool(getattr(self._client, command)(sid, data, expire, noreply=False))
        except _FAILURES as exc:
            raise self._failure(exc, len(data)) from exc

    @staticmethod
    def _expiry(ttl: int) -> int:
        """memcached's exptime for a TTL: see the module docstring."""
        expire = ttl + 1
        if expire > RELATIVE_EXPIRY_LIMIT:
            return int(time.time()) + expire
        return expire

    def _failure(self, exc: Exception, size: int | None = None) -> SessionKitError:
        """The sessionkit error for a failed command, naming the node when one is known."""
        if isinstance(exc, NodeFailure):
            node, cause = exc.node, exc.cause
        else:
            node, cause = ", ".join(map(node_name, self.settings.servers)), exc
        if (
            size is not None
            and isinstance(cause, MemcacheServerError)
            and "too large" in str(cause)
        ):
            return SessionTooLargeError(size, self.data_limit)
        if isinstance(cause, RuntimeError):  # pymemcache's pool is out of connections
            reason = f"all {self.settings.pool_size} connections are busy"
        else:
            reason = f"{type(cause).__name__}: {cause}"
        return StoreUnavailableError(self.url, f"memcached node {node}: {reason}")


def _make_client(settings: MemcachedSettings) -> Any:
    options: dict[str, Any] = {
        "connect_timeout": settings.connect_timeout,
        "timeout": settings.timeout,
        "no_delay": True,
        "default_noreply": False,
        "key_prefix": settings.prefix.encode("ascii"),
        "max_pool_size": settings.pool_size,
    }
    if len(settings.servers) == 1:
        return PooledClient(settings.servers[0], **options)
    return NodeRing(settings.servers, dead_timeout=settings.dead_retry, **options)
