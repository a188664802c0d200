"""The store protocol: opaque bytes in and out, keyed by session id, with a TTL.

Serialising, signing and protecting live in the core; a store only moves bytes. ``add`` and
``replace`` must be atomic: the manager creates new sessions with ``add`` and updates
existing ones with ``replace``, so an id collision never merges two users and a session
destroyed by a concurrent request is never brought back.

Optional capabilities are plain methods a store may or may not have; the ``Supports*``
protocols below let code (and the contract suite) ask for them with ``isinstance``:

- :class:`SupportsVersions`: a read that also returns the entry's version and a
  compare-and-set replace. With it, the manager merges concurrent changes to one session
  instead of letting the last writer win.
- :class:`SupportsUserIndex`: sessions bound to a user can be listed and removed together.
- :class:`SupportsPurge`, :class:`SupportsClear`, :class:`SupportsCount`,
  :class:`SupportsInitialize`, :class:`HasNativeAsync`.

A store that keeps its sessions in the memory of the process using it says so with a class
attribute ``in_process = True`` (see :func:`in_process`).

A store's native async twin (``async_store()``) has the same methods as coroutines, the
optional ones included when the store has them.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import time
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, NamedTuple, ParamSpec, Protocol, TypeVar, cast, runtime_checkable

from .errors import SessionKitError
from .ids import new_session_id

P = ParamSpec("P")
T = TypeVar("T")

#: A store's version of an entry: opaque to everything but the store that made it. Stores
#: may use a counter, a server's CAS token, or the stored bytes themselves.
Version = object


class Entry(NamedTuple):
    """A stored session with the store's version of it."""

    data: bytes
    #: None when the store cannot tell without another read (e.g. memcached after a write).
    version: Version | None


class Swap(NamedTuple):
    """What :meth:`SupportsVersions.replace_versioned` did.

    - ``stored`` True: the data was written; ``entry`` is the new entry (its version may be
      None if the store cannot tell it without another read).
    - ``stored`` False and ``entry`` None: the session is gone (deleted or expired).
    - ``stored`` False and ``entry`` set: another writer changed the session since
      ``version`` was read; ``entry`` is what the store holds now.
    """

    stored: bool
    entry: Entry | None


GONE = Swap(False, None)

#: ``new_record(Entry, (data, version))``, ``new_record(Swap, (stored, entry))``: the record
#: made in C, every field given. A NamedTuple's own constructor runs Python code, some 1,700
#: to 2,800 instructions a call, and a request makes several.
new_record = tuple.__new__


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

    def delete(self, sid: str) -> bool:
        """Remove ``sid``; True if a live entry was removed, False if there was none.

        (A store written for earlier versions may return None: the manager then cannot tell
        and behaves as if something was removed.)
        """

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
    async def delete(self, sid: str) -> bool: ...
    async def touch(self, sid: str, ttl: int) -> bool: ...
    async def close(self) -> None: ...


@runtime_checkable
class SupportsVersions(Protocol):
    """Versioned reads and compare-and-set writes, each in one round trip when nobody raced."""

    def get_versioned(self, sid: str) -> Entry | None:
        """The stored bytes and their version, or None if the id is unknown or expired."""

    def replace_versioned(self, sid: str, data: bytes, ttl: int, version: Version) -> Swap:
        """Overwrite ``sid`` only if its version is still ``version``; see :class:`Swap`.

        Writing the same bytes again need not change the version (a store may version by
        content); any other write by anyone must.
        """


@runtime_checkable
class AsyncSupportsVersions(Protocol):
    async def get_versioned(self, sid: str) -> Entry | None: ...
    async def replace_versioned(
        self, sid: str, data: bytes, ttl: int, version: Version
    ) -> Swap: ...


@runtime_checkable
class SupportsUserIndex(Protocol):
    """Sessions bound to a user id, listed and removed together ("log out everywhere").

    The index may keep ids of sessions that have since expired or been deleted; it must never
    list them: :meth:`user_sessions` returns live sessions only.
    """

    def bind_user(self, user_id: str, sid: str, ttl: int) -> None:
        """Add the stored session ``sid`` to ``user_id``'s index (``ttl``: its TTL now)."""

    def user_sessions(self, user_id: str) -> dict[str, bytes]:
        """``{session id: stored bytes}`` of the live sessions bound to ``user_id``."""

    def delete_user_sessions(self, user_id: str, keep: str | None = None) -> int:
        """Delete every session bound to ``user_id`` but ``keep``; return how many."""


@runtime_checkable
class AsyncSupportsUserIndex(Protocol):
    async def bind_user(self, user_id: str, sid: str, ttl: int) -> None: ...
    async def user_sessions(self, user_id: str) -> dict[str, bytes]: ...
    async def delete_user_sessions(self, user_id: str, keep: str | None = None) -> int: ...


@runtime_checkable
class SupportsPurge(Protocol):
    """A store whose expired entries must be removed by a call (file, SQL)."""

    def purge_expired(self, limit: int | None = None) -> int:
        """Remove expired entries, at most ``limit`` of them (None: every one); return how
        many were removed."""


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


def in_process(store: object) -> bool:
    """Whether ``store`` keeps its sessions in this process's memory (its class sets
    ``in_process = True``, as ``memory://`` does): nothing outside the process can reach
    them, so the manager does not protect them (see :mod:`sessionkit.protect`)."""
    return getattr(store, "in_process", False) is True


class _SyncStoreTwin:
    """An async face on a synchronous store; subclasses say how each call is made.

    Made as ``ThreadedAsyncStore(store)`` or ``InlineAsyncStore(store)``, it has the optional
    methods of versions and of a user index exactly when ``store`` has them, so capability
    checks on the twin tell the truth.

    Its methods are plain functions that return the coroutine of :meth:`_run`: awaiting them
    is awaiting that, one coroutine fewer per store call than ``async def`` wrappers.
    """

    _kinds: dict[tuple[bool, bool], type[_SyncStoreTwin]]

    def __new__(cls, store: Store) -> _SyncStoreTwin:
        key = (isinstance(store, SupportsVersions), isinstance(store, SupportsUserIndex))
        return object.__new__(cls._kinds[key])

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "_run" in cls.__dict__:  # a kind of twin, not one of its capability variants
            mixins: dict[tuple[bool, bool], tuple[type, ...]] = {
                (False, False): (),
                (True, False): (_VersionsTwin,),
                (False, True): (_UserIndexTwin,),
                (True, True): (_VersionsTwin, _UserIndexTwin),
            }
            cls._kinds = {
                key: type(cls.__name__, (*bases, cls), {"__module__": cls.__module__})
                for key, bases in mixins.items()
            }

    def __init__(self, store: Store) -> None:
        self.sync_store = store

    async def _run(self, call: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        raise NotImplementedError

    def get(self, sid: str) -> Coroutine[Any, Any, bytes | None]:
        return self._run(self.sync_store.get, sid)

    def set(self, sid: str, data: bytes, ttl: int) -> Coroutine[Any, Any, None]:
        return self._run(self.sync_store.set, sid, data, ttl)

    def add(self, sid: str, data: bytes, ttl: int) -> Coroutine[Any, Any, bool]:
        return self._run(self.sync_store.add, sid, data, ttl)

    def replace(self, sid: str, data: bytes, ttl: int) -> Coroutine[Any, Any, bool]:
        return self._run(self.sync_store.replace, sid, data, ttl)

    def delete(self, sid: str) -> Coroutine[Any, Any, bool]:
        return self._run(self.sync_store.delete, sid)

    def touch(self, sid: str, ttl: int) -> Coroutine[Any, Any, bool]:
        return self._run(self.sync_store.touch, sid, ttl)

    async def close(self) -> None:
        """Nothing to release here: the wrapped store belongs to its owner, who closes it."""


class _VersionsTwin(_SyncStoreTwin):
    def get_versioned(self, sid: str) -> Coroutine[Any, Any, Entry | None]:
        return self._run(cast(SupportsVersions, self.sync_store).get_versioned, sid)

    def replace_versioned(
        self, sid: str, data: bytes, ttl: int, version: Version
    ) -> Coroutine[Any, Any, Swap]:
        store = cast(SupportsVersions, self.sync_store)
        return self._run(store.replace_versioned, sid, data, ttl, version)


class _UserIndexTwin(_SyncStoreTwin):
    def bind_user(self, user_id: str, sid: str, ttl: int) -> Coroutine[Any, Any, None]:
        return self._run(cast(SupportsUserIndex, self.sync_store).bind_user, user_id, sid, ttl)

    def user_sessions(self, user_id: str) -> Coroutine[Any, Any, dict[str, bytes]]:
        return self._run(cast(SupportsUserIndex, self.sync_store).user_sessions, user_id)

    def delete_user_sessions(
        self, user_id: str, keep: str | None = None
    ) -> Coroutine[Any, Any, int]:
        store = cast(SupportsUserIndex, self.sync_store)
        return self._run(store.delete_user_sessions, user_id, keep)


class ThreadedAsyncStore(_SyncStoreTwin):
    """Runs a synchronous store's calls in worker threads of its own, for stores that block.

    Its own pool, of :attr:`THREADS` threads, and not the event loop's default one (a few
    threads on a small machine): when the store hangs, each waiting call holds a thread for
    up to the store's timeout, and calls queued behind them would wait longer than that.
    """

    THREADS = 32

    def __init__(self, store: Store) -> None:
        super().__init__(store)
        self._pool: ThreadPoolExecutor | None = None

    async def _run(self, call: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.THREADS, thread_name_prefix="sessionkit-store")
        context = contextvars.copy_context()
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._pool, functools.partial(context.run, call, *args, **kwargs)
        )

    async def close(self) -> None:
        """Let the worker threads go; the wrapped store belongs to its owner, who closes it."""
        if self._pool is not None:
            self._pool.shutdown(wait=False)


class InlineAsyncStore(_SyncStoreTwin):
    """Calls a synchronous store directly on the event loop: for stores that never block
    (the memory store), where a worker thread would cost far more than the call itself.
    The manager's synchronous methods drive its logic over one of these too."""

    async def _run(self, call: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        return call(*args, **kwargs)


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
