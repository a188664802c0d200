"""The synchronous Redis store: the shared operations, run with blocking calls."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from itertools import chain
from typing import Any, TypeVar

from sessionkit.store import Entry, Swap, Version

from .async_store import AsyncRedisStore
from .base import RedisTwin
from .clients import SYNC, SyncClient
from .errors import CLIENT_ERRORS
from .keys import SCAN_BATCH
from .operations import Running, Single, Steps
from .requests import Answer, Batch, Command
from .settings import RedisSettings

T = TypeVar("T")


class RedisStore(RedisTwin[SyncClient]):
    """Sessions as Redis strings ``prefix + id`` with a native TTL.

    ``get`` and ``get_versioned`` are GET, ``set`` SET EX, ``add`` SET NX EX, ``replace``
    SET XX EX, ``touch`` EXPIRE, ``delete`` DEL, ``replace_versioned`` one EVALSHA of a
    compare-and-set script: the version of an entry is its bytes. Users' indexes are sets
    (:mod:`sessionkit_redis.operations` lists their round trips). ``count`` and ``clear``
    SCAN this store's keys (and UNLINK them). Every error becomes a
    :class:`~sessionkit.SessionKitError` (:mod:`sessionkit_redis.errors`); the pool
    reconnects by itself once the server is back.
    """

    flavour = SYNC
    is_async = False

    @classmethod
    def from_url(cls, url: str, **options: Any) -> RedisStore:
        """The entry-point factory: ``RedisStore.from_url("redis://127.0.0.1:6379/0")``."""
        return cls(RedisSettings.from_url(url, **options))

    # -- the Store protocol

    def get(self, sid: str) -> bytes | None:
        return self._send(self._ops.get(sid))

    def set(self, sid: str, data: bytes, ttl: int) -> None:
        self._send(self._ops.set(sid, data, ttl))

    def add(self, sid: str, data: bytes, ttl: int) -> bool:
        return self._send(self._ops.add(sid, data, ttl))

    def replace(self, sid: str, data: bytes, ttl: int) -> bool:
        return self._send(self._ops.replace(sid, data, ttl))

    def delete(self, sid: str) -> bool:
        return self._send(self._ops.delete(sid))

    def touch(self, sid: str, ttl: int) -> bool:
        return self._send(self._ops.touch(sid, ttl))

    def close(self) -> None:
        self.client.close()
        if self._sentinel is not None:
            self._sentinel.close()

    # -- versions and the per-user index

    def get_versioned(self, sid: str) -> Entry | None:
        return self._send(self._ops.get_versioned(sid))

    def replace_versioned(self, sid: str, data: bytes, ttl: int, version: Version) -> Swap:
        return self._send(self._ops.replace_versioned(sid, data, ttl, version))

    def bind_user(self, user_id: str, sid: str, ttl: int) -> None:
        self._run(self._ops.bind_user(user_id, sid, ttl))

    def user_sessions(self, user_id: str) -> dict[str, bytes]:
        return self._run(self._ops.user_sessions(user_id))

    def delete_user_sessions(self, user_id: str, keep: str | None = None) -> int:
        return self._run(self._ops.delete_user_sessions(user_id, keep))

    # -- capabilities

    def async_store(self) -> AsyncRedisStore:
        """An async twin with a new client of the same settings (see :mod:`.clients`).

        Each call makes a new client, since an async client belongs to the event loop it
        first ran on; close the twin when its loop is done with it.
        """
        return AsyncRedisStore(self.settings)

    def count(self) -> int:
        """How many sessions this store holds (keys of its prefix and the id shape)."""
        return len(set(self._scan(self._keys.session_pattern, self._keys.owns)))

    def clear(self) -> None:
        """Remove this store's sessions and users' indexes; other keys are left alone."""
        keys = chain(
            self._scan(self._keys.session_pattern, self._keys.owns),
            self._scan(self._keys.index_pattern, lambda key: True),
        )
        batch: list[bytes] = []
        for key in keys:
            batch.append(key)
            if len(batch) == SCAN_BATCH:
                self._unlink(batch)
        self._unlink(batch)

    def _unlink(self, keys: list[bytes]) -> None:
        if keys:
            self._send(Batch(tuple(Command(("UNLINK", key)) for key in keys)), time.monotonic())
            keys.clear()

    def _scan(self, pattern: str, owned: Callable[[bytes], bool]) -> Iterator[bytes]:
        try:
            for key in self.client.scan_iter(match=pattern, count=SCAN_BATCH):
                if owned(key):
                    yield key
        except CLIENT_ERRORS as exc:
            raise self._error(exc) from exc

    # -- the runner

    def _run(self, steps: Steps[T]) -> T:
        """Drive an operation's steps, one round trip each."""
        running = Running(steps)
        request = running.next(None)
        while request is not None:
            request = running.next(self._send(request, running.started))
        return running.result

    def _send(self, request: Single[T], started: float | None = None) -> T:
        """Send one request and block for the reply, trying again as the policy says
        (``started``: when the operation began, if not now)."""
        if isinstance(request, Answer):
            return request.value
        retry, started = 0, time.monotonic() if started is None else started
        while True:
            try:
                return request.read(request.send(self))
            except CLIENT_ERRORS as exc:
                retry += 1
                time.sleep(self._retry_after(exc, retry, started))
