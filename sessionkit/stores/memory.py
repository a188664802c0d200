"""``memory://``: sessions in a dict of this process.

``memory://`` gives a private store; ``memory://NAME`` a store shared by every
``memory://NAME`` opened in the same process. Expired entries are never returned and are
reclaimed from a heap of expiry times as they fall due, so no write scans the whole store.
Option ``max_entries`` bounds the size: when full, the entry closest to expiry is evicted.

An entry's version is the bytes object it holds, so a compare-and-set compares contents.
The store never blocks, so its async twin calls it directly on the event loop. Only this
process can reach what it holds, so the manager stores sessions here unprotected, whatever
its ``protect`` says (see :mod:`sessionkit.protect`).
"""

from __future__ import annotations

import heapq
import threading
import time
from collections.abc import Callable
from typing import Any

from ..errors import ConfigurationError
from ..ids import check_session_id, check_ttl, check_user_id
from ..store import GONE, Entry, InlineAsyncStore, Swap, Version, new_record
from ..url import StoreOptions, StoreURL


class _Table:
    """The shared state behind one or several :class:`MemoryStore` objects."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.entries: dict[str, tuple[float, bytes]] = {}
        self.heap: list[tuple[float, str]] = []
        self.users: dict[str, set[str]] = {}


_named_tables: dict[str, _Table] = {}
_named_lock = threading.Lock()


class MemoryStore:
    """A thread-safe in-process store. Nothing survives the process."""

    #: Only this process reaches the sessions: they are stored unprotected (see
    #: :func:`~sessionkit.store.in_process`).
    in_process = True

    def __init__(
        self,
        name: str | None = None,
        *,
        max_entries: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_entries is not None and (type(max_entries) is not int or max_entries < 1):
            raise ConfigurationError("max_entries must be at least 1")
        if name:
            with _named_lock:
                self._table = _named_tables.setdefault(name, _Table())
        else:
            self._table = _Table()
        self.max_entries = max_entries
        self._clock = clock

    @classmethod
    def from_url(cls, url: str, **options: Any) -> MemoryStore:
        parsed = StoreURL.parse(url)
        clock = options.pop("clock", time.monotonic)
        given = StoreOptions(parsed, options, {"max_entries": 0})
        max_entries = given.count("max_entries", minimum=1) if given.given("max_entries") else None
        name = ",".join(host for host, _ in parsed.hosts) + parsed.path.rstrip("/")
        return cls(name or None, max_entries=max_entries, clock=clock)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    # -- the Store protocol

    def get(self, sid: str) -> bytes | None:
        entry = self._table.entries.get(sid)
        if entry is None or entry[0] <= self._clock():
            return None
        return entry[1]

    def set(self, sid: str, data: bytes, ttl: int) -> None:
        check_session_id(sid)
        check_ttl(ttl)
        with self._table.lock:
            self._put(sid, bytes(data), ttl, self._clock())

    def add(self, sid: str, data: bytes, ttl: int) -> bool:
        check_session_id(sid)
        check_ttl(ttl)
        with self._table.lock:
            now = self._clock()
            if self._live(sid, now):
                return False
            self._put(sid, bytes(data), ttl, now)
            return True

    def replace(self, sid: str, data: bytes, ttl: int) -> bool:
        check_session_id(sid)
        check_ttl(ttl)
        with self._table.lock:
            now = self._clock()
            if not self._live(sid, now):
                return False
            self._put(sid, bytes(data), ttl, now)
            return True

    def delete(self, sid: str) -> bool:
        with self._table.lock:
            entry = self._table.entries.pop(sid, None)
            return entry is not None and entry[0] > self._clock()

    def touch(self, sid: str, ttl: int) -> bool:
        check_ttl(ttl)
        with self._table.lock:
            now = self._clock()
            entry = self._live(sid, now)
            if entry is None:
                return False
            self._put(sid, entry[1], ttl, now)
            return True

    def close(self) -> None:
        """Nothing to release; the data stays for other stores of the same name."""

    # -- versions

    def get_versioned(self, sid: str) -> Entry | None:
        entry = self._table.entries.get(sid)
        if entry is None or entry[0] <= self._clock():
            return None
        found: Entry = new_record(Entry, (entry[1], entry[1]))
        return found

    def replace_versioned(self, sid: str, data: bytes, ttl: int, version: Version) -> Swap:
        check_session_id(sid)
        check_ttl(ttl)
        lock = self._table.lock
        lock.acquire()  # not ``with``: its protocol calls cost as much again, every request
        try:
            now = self._clock()
            entry = self._table.entries.get(sid)
            if entry is None or entry[0] <= now:
                return GONE
            held = entry[1]
            if held != version:
                return new_record(Swap, (False, new_record(Entry, (held, held))))
            data = bytes(data)
            self._put(sid, data, ttl, now)
        finally:
            lock.release()
        return new_record(Swap, (True, new_record(Entry, (data, data))))

    # -- the per-user index

    def bind_user(self, user_id: str, sid: str, ttl: int) -> None:
        check_user_id(user_id)
        check_session_id(sid)
        with self._table.lock:
            now = self._clock()
            sids = self._table.users.setdefault(user_id, set())
            sids.difference_update([known for known in sids if self._live(known, now) is None])
            sids.add(sid)

    def user_sessions(self, user_id: str) -> dict[str, bytes]:
        check_user_id(user_id)
        with self._table.lock:
            now = self._clock()
            found = {}
            sids = self._table.users.get(user_id, set())
            for sid in list(sids):
                entry = self._live(sid, now)
                if entry is None:
                    sids.discard(sid)  # expired or deleted since it was bound
                else:
                    found[sid] = entry[1]
            if not sids:
                self._table.users.pop(user_id, None)
            return found

    def delete_user_sessions(self, user_id: str, keep: str | None = None) -> int:
        check_user_id(user_id)
        with self._table.lock:
            sids = self._table.users.pop(user_id, set())
            removed = 0
            now = self._clock()
            for sid in sids:
                if sid == keep:
                    continue
                if self._live(sid, now) is not None:
                    removed += 1
                self._table.entries.pop(sid, None)
            if keep is not None and keep in sids:
                self._table.users[user_id] = {keep}
            return removed

    # -- capabilities

    def async_store(self) -> InlineAsyncStore:
        """The same store as coroutines that run on the event loop: it never blocks."""
        return InlineAsyncStore(self)

    def count(self) -> int:
        with self._table.lock:
            self._reclaim(self._clock())
            return len(self._table.entries)

    def clear(self) -> None:
        with self._table.lock:
            self._table.entries.clear()
            self._table.heap.clear()
            self._table.users.clear()

    # -- internals (the caller holds the lock)

    def _live(self, sid: str, now: float) -> tuple[float, bytes] | None:
        entry = self._table.entries.get(sid)
        if entry is None or entry[0] <= now:
            return None
        return entry

    def _put(self, sid: str, data: bytes, ttl: int, now: float) -> None:
        """Store an entry. The heap holds, for each live entry, an item due no later than
        it: a rewrite that moves the expiry later (the usual one) pushes nothing, and the
        item found early when it falls due is pushed again at the entry's expiry."""
        table = self._table
        heap, entries = table.heap, table.entries
        if heap and heap[0][0] <= now:
            self._reclaim(now)
        held = entries.get(sid)
        if held is None and self.max_entries is not None:
            while len(entries) >= self.max_entries:
                self._evict_soonest()
        expires = now + ttl
        entries[sid] = (expires, data)
        if held is None or expires < held[0]:
            heapq.heappush(heap, (expires, sid))
            if len(heap) > 2 * len(entries) + 64:
                table.heap = [(exp, key) for key, (exp, _) in entries.items()]
                heapq.heapify(table.heap)

    def _reclaim(self, now: float) -> None:
        """Drop entries whose expiry has passed, in expiry order; items of entries removed
        since are skipped, those of entries written since are pushed at their expiry."""
        heap, entries = self._table.heap, self._table.entries
        while heap and heap[0][0] <= now:
            _, sid = heapq.heappop(heap)
            entry = entries.get(sid)
            if entry is None:
                continue
            if entry[0] <= now:
                del entries[sid]
            else:  # written since, due later than this item
                heapq.heappush(heap, (entry[0], sid))

    def _evict_soonest(self) -> None:
        heap, entries = self._table.heap, self._table.entries
        while heap:
            expires, sid = heapq.heappop(heap)
            entry = entries.get(sid)
            if entry is None:
                continue
            if entry[0] == expires:
                del entries[sid]
                return
            heapq.heappush(heap, (entry[0], sid))  # written since: due later
