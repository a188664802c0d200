"""``memcached://`` and ``memcached+unix://``: sessions in memcached, over the text protocol
(:mod:`sessionkit_memcached.wire`).

What the store does about memcached's pitfalls:

- ``TCP_NODELAY`` is always on; without it Nagle's algorithm meets the server's delayed ACK
  and a get followed by a set stalls for about 40 ms on loopback.
- Every command waits for its reply (no ``noreply``), so a write that fails is seen; each
  operation is one command, one round trip.
- memcached reads an expiry over 30 days as a Unix time, and 0 as "never": longer TTLs are
  sent as a Unix time, and 0 is never sent. Its clock ticks once a second, so a relative
  expiry of n can end up to a second early; the store asks for n + 1 so that a session lives
  at least its TTL (and at most a second longer).
- Keys are the prefix (checked once, when the store is made) and a validated session id, so
  every key is printable ASCII of at most 250 bytes.
- Data over the server's item size raises :class:`~sessionkit.errors.SessionTooLargeError`
  before anything is sent.
- Versions are memcached's CAS tokens (``gets``, then ``cas``), paired with the node that
  issued them. ``touch`` leaves an item's CAS token as it is (memcached 1.4 to 1.6), so a
  rolling session's refresh does not make the next save look like a conflict. A server run
  with CAS disabled (``memcached -C``) hands out token 0 and refuses every ``cas``: the store
  then saves with a plain ``replace`` (last write wins) and logs a warning once.
- ``touch`` is memcached's ``touch``. There is no ``clear`` (it would need ``flush_all``,
  which wipes every application's keys), no ``count`` and no per-user index (memcached
  cannot list keys short of dumping the whole cache).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from sessionkit.errors import SessionKitError, SessionTooLargeError, StoreUnavailableError
from sessionkit.ids import check_session_id, check_ttl, is_valid_session_id
from sessionkit.store import GONE, Entry, Swap, Version, new_record

from .pool import CONNECTION_FAILURES, FailureHandler, NodePool, PoolExhaustedError
from .ring import NodeRing, Nodes, OneNode
from .settings import SESSION_ID_LENGTH, MemcachedSettings
from .wire import Connection, ServerError

log = logging.getLogger("sessionkit.memcached")

RELATIVE_EXPIRY_LIMIT = 30 * 24 * 3600
# memcached's item header (48 bytes, 8 of CAS, the key's NUL and the data's CRLF), rounded up.
ITEM_OVERHEAD = 64
# The CAS token of every item on a server that runs with CAS disabled (memcached -C).
CAS_DISABLED = b"0"


class MemcachedStore:
    """Sessions in one memcached node or spread over several.

    One node is served by a pool of connections; several by a
    :class:`~sessionkit_memcached.ring.NodeRing`, where a node that fails is left out for
    ``dead_retry`` seconds: the call that found it down raises
    :class:`~sessionkit.errors.StoreUnavailableError`, and afterwards its sessions read as
    missing while sessions on the other nodes are unaffected.

    :param settings: the URL's and keyword options, read.
    :param clock: monotonic seconds, for the time a failed node stays out (tests may freeze
        it); session expiry is kept by the servers' clocks.
    """

    def __init__(
        self, settings: MemcachedSettings, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.settings = settings
        self.url = settings.masked_url
        #: The most bytes of session data that fit in one item beside the key and header.
        self.data_limit = (
            settings.max_item_size - len(settings.prefix) - SESSION_ID_LENGTH - ITEM_OVERHEAD
        )
        self.nodes = _nodes(settings, self._failure, clock)
        self._pool_for = self.nodes.pool_for
        self._warned_cas_disabled = False

    @classmethod
    def from_url(cls, url: str, **options: Any) -> MemcachedStore:
        """The entry-point factory: ``MemcachedStore.from_url("memcached://host:11211")``.

        Keyword options are those of the URL (see :mod:`sessionkit_memcached.settings`),
        and ``clock`` as for the constructor.
        """
        clock = options.pop("clock", time.monotonic)
        return cls(MemcachedSettings.from_url(url, **options), clock)

    # -- the Store protocol

    def get(self, sid: str) -> bytes | None:
        if not is_valid_session_id(sid):
            return None
        return self._pool_for(sid).run(Connection.get, sid)

    def set(self, sid: str, data: bytes, ttl: int) -> None:
        data, expire = self._checked(sid, data, ttl)
        if not self._pool_for(sid).run(Connection.set, sid, data, expire):
            raise StoreUnavailableError(self.url, "memcached did not store the session")

    def add(self, sid: str, data: bytes, ttl: int) -> bool:
        data, expire = self._checked(sid, data, ttl)
        return self._pool_for(sid).run(Connection.add, sid, data, expire)

    def replace(self, sid: str, data: bytes, ttl: int) -> bool:
        data, expire = self._checked(sid, data, ttl)
        return self._pool_for(sid).run(Connection.replace, sid, data, expire)

    def delete(self, sid: str) -> bool:
        if not is_valid_session_id(sid):
            return False
        return self._pool_for(sid).run(Connection.delete, sid)

    def touch(self, sid: str, ttl: int) -> bool:
        expire = _expiry(check_ttl(ttl))
        if not is_valid_session_id(sid):
            return False
        return self._pool_for(sid).run(Connection.touch, sid, expire)

    def close(self) -> None:
        for pool in self.nodes.pools:
            pool.close()

    # -- versions: memcached's CAS tokens, with the node that issued them

    def get_versioned(self, sid: str) -> Entry | None:
        if not is_valid_session_id(sid):
            return None
        pool = self._pool_for(sid)
        data, cas = pool.run(Connection.gets, sid)
        return None if data is None else new_record(Entry, (data, (pool.name, cas)))

    def replace_versioned(self, sid: str, data: bytes, ttl: int, version: Version) -> Swap:
        """One ``cas`` when the version is current. Otherwise memcached answers only
        "exists" or "not found", so on a conflict the store reads the current entry with
        one more ``gets``. Success hands back ``Entry(data, None)``: memcached does not say
        the new token."""
        data, expire = self._checked(sid, data, ttl)
        pool = self._pool_for(sid)
        node, cas = version if type(version) is tuple and len(version) == 2 else (None, None)
        if node == pool.name and type(cas) is bytes:
            stored: bool | None
            if cas == CAS_DISABLED:
                # replace's False means the session is gone, as cas's None does.
                stored = self._replace_without_cas(pool, sid, data, expire) or None
            else:
                stored = pool.run(Connection.cas, sid, data, cas, expire)
            if stored:
                return new_record(Swap, (True, new_record(Entry, (data, None))))
            if stored is None:
                return GONE
        # The token is stale, or was issued by another node (before a node left or came
        # back): the session as it is now decides.
        current = self.get_versioned(sid)
        return GONE if current is None else new_record(Swap, (False, current))

    # -- internals

    def _failure(self, pool: NodePool, exc: Exception, args: tuple[object, ...]) -> SessionKitError:
        """The sessionkit error for a failed command on ``pool``; ``args`` are the command's,
        the session id first. A failure of the connection itself tells the ring that the
        node is down. The message never holds the id."""
        if isinstance(exc, CONNECTION_FAILURES):
            self.nodes.failed(pool)
        if isinstance(exc, ServerError) and "too large" in str(exc):
            size = next((len(arg) for arg in args if isinstance(arg, bytes)), 0)
            return SessionTooLargeError(size, self.data_limit)
        if isinstance(exc, PoolExhaustedError):
            reason = f"{exc} for {self.settings.timeout:g} s"
        else:
            reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            if args and isinstance(args[0], str):
                reason = reason.replace(args[0], "<session id>")
        return StoreUnavailableError(self.url, f"memcached node {pool.name}: {reason}")

    def _checked(self, sid: str, data: bytes, ttl: int) -> tuple[bytes, int]:
        """The data as bytes and memcached's exptime, once the id, TTL and size are checked."""
        check_session_id(sid)
        expire = _expiry(check_ttl(ttl))
        if type(data) is not bytes:
            data = bytes(data)
        if len(data) > self.data_limit:
            raise SessionTooLargeError(len(data), self.data_limit)
        return data, expire

    def _replace_without_cas(self, pool: NodePool, sid: str, data: bytes, expire: int) -> bool:
        if not self._warned_cas_disabled:
            self._warned_cas_disabled = True
            log.warning(
                "memcached node %s runs with CAS disabled (memcached -C): concurrent changes "
                "to one session are not merged, the last save wins",
                pool.name,
            )
        return pool.run(Connection.replace, sid, data, expire)


def _expiry(ttl: int) -> int:
    """memcached's exptime for a TTL: see the module docstring."""
    expire = ttl + 1
    if expire > RELATIVE_EXPIRY_LIMIT:
        return int(time.time()) + expire
    return expire


def _nodes(
    settings: MemcachedSettings, failure: FailureHandler, clock: Callable[[], float]
) -> Nodes:
    pools = [
        NodePool(
            server,
            settings.pool_size,
            settings.timeout,
            failure,
            connect_timeout=settings.connect_timeout,
            key_prefix=settings.prefix.encode("ascii"),
        )
        for server in settings.servers
    ]
    if len(pools) == 1:
        return OneNode(pools[0])
    return NodeRing(pools, settings.dead_retry, settings.masked_url, clock)
