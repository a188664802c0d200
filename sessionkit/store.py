"""The store protocol: opaque bytes in and out, keyed by session id, with a TTL.

Serialising and signing live in the core; a store only moves bytes. ``add`` and ``replace``
must be atomic: the manager creates new sessions with ``add`` and updates existing ones with
``replace``, so an id collision never merges two users and a session destroyed by a concurrent
request is never brought back.

Optional capabilities are plain methods a store may or may not have; the ``Supports*``
protocols below let code (and the contract suite) ask for them with ``isinstance``.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol, runtime_checkable

from .errors import SessionKitError
from .ids import new_session_id


@runtime_checkable
class Store(Protocol):
    """A synchronous session store. Every ``ttl`` is a whole number of seconds, at least 1."""

    def get(self, sid: str) -> bytes | None:
        """The stored bytes, or None if the id is unknown, expired or malformed."""

    def set(self, sid: str, data: bytes, ttl: int) -> None:
        """Store ``data`` under ``sid``, creating or overwriting it."""

    def add(self, sid: str, data: bytes, ttl: int) -> bool:
        """Create ``sid`` only if it does not exist; False (and no change) if it does."""

    def replace(self, sid: str, data: bytes, ttl: int) -> bool:
        """Overwrite ``sid`` only if it exists; False (and nothing stored) if it is gone."""

    def delete(self, sid: str) -> None:
        """Remove ``sid``; removing an unknown id is not an error."""

    def touch(self, sid: str, ttl: int) -> bool:
        """Reset the expiry of ``sid`` to ``ttl`` from now; False if it is gone."""

    def close(self) -> None:
        """Release connections or handles. The store is not used afterwards."""


@runtime_checkable
class AsyncStore(Protocol):
    """The asynchronous twin of :class:`Store`: the same methods, as coroutines."""

    async def get(self, sid: str) -> bytes | None: ...
    async def set(self, sid: str, data: bytes, ttl: int) -> None: ...
    async def add(self, sid: str, data: bytes, ttl: int) -> bool: ...
    async def replace(self, sid: str, data: bytes, ttl: int) -> bool: ...
    async def delete(self, sid: str) -> None: ...
    async def touch(self, sid: str, ttl: int) -> bool: ...
    async def close(self) -> None: ...


@runtime_checkable
class SupportsPurge(Protocol):
    """A store whose expired entries must be removed by a call (file, SQL)."""

    def purge_expired(self) -> int:
        """Remove every expired entry and return how many were removed."""


@runtime_checkable
class SupportsClear(Protocol):
    def clear(self) -> None:
        """Remove every session of this store (only within its own namespace or prefix)."""


@runtime_checkable
class SupportsCount(Protocol):
    def count(self) -> int:
        """How many live sessions this store holds."""


@runtime_checkable
class SupportsInitialize(Protocol):
    def initialize(self) -> None:
        """Create what the store needs (tables, directories) if it is missing."""


@runtime_checkable
class HasNativeAsync(Protocol):
    def async_store(self) -> AsyncStore:
        """An :class:`AsyncStore` on the same data that does not block the event loop."""


class ThreadedAsyncStore:
    """Runs a synchronous store's calls in a worker thread, for stores with no async API."""

    def __init__(self, store: Store) -> None:
        self.sync_store = store

    async def get(self, sid: str) -> bytes | None:
        return await asyncio.to_thread(self.sync_store.get, sid)

    async def set(self, sid: str, data: bytes, ttl: int) -> None:
        await asyncio.to_thread(self.sync_store.set, sid, data, ttl)

    async def add(self, sid: str, data: bytes, ttl: int) -> bool:
        return await asyncio.to_thread(self.sync_store.add, sid, data, ttl)

    async def replace(self, sid: str, data: bytes, ttl: int) -> bool:
        return await asyncio.to_thread(self.sync_store.replace, sid, data, ttl)

    async def delete(self, sid: str) -> None:
        await asyncio.to_thread(self.sync_store.delete, sid)

    async def touch(self, sid: str, ttl: int) -> bool:
        return await asyncio.to_thread(self.sync_store.touch, sid, ttl)

    async def close(self) -> None:
        """Nothing to release here: the wrapped store belongs to its owner, who closes it."""


def as_async(store: Store) -> AsyncStore:
    """The store's native async twin if it has one, else a worker-thread wrapper."""
    if isinstance(store, HasNativeAsync):
        return store.async_store()
    return ThreadedAsyncStore(store)


def probe(store: Store) -> float:
    """Create, read back and delete a fresh session; return the seconds that took.

    Raises what the store raises (e.g. :class:`~sessionkit.StoreUnavailableError`), or
    :class:`~sessionkit.SessionKitError` if the store does not behave.
    """
    sid, payload = new_session_id(), b'{"probe":true}'
    started = time.perf_counter()
    if not store.add(sid, payload, 60):
        raise SessionKitError("the store refused to create a probe session")
    try:
        if store.get(sid) != payload:
            raise SessionKitError("the store did not return the probe session it was given")
    finally:
        store.delete(sid)
    if store.get(sid) is not None:
        raise SessionKitError("the probe session is still in the store after delete")
    return time.perf_counter() - started
