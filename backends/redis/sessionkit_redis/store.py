"""The synchronous Redis store: one round trip per operation, expiry left to Redis."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sessionkit.ids import check_session_id, check_ttl, is_valid_session_id

from .async_store import AsyncRedisStore
from .clients import SyncClient, sync_client
from .errors import UNAVAILABLE, unavailable
from .keys import SCAN_BATCH, KeySpace
from .settings import RedisSettings


class RedisStore:
    """Sessions as Redis strings ``prefix + id`` with a native TTL.

    ``get`` is GET, ``set`` SET EX, ``add`` SET NX EX, ``replace`` SET XX EX, ``touch`` EXPIRE
    and ``delete`` DEL. ``count`` and ``clear`` SCAN this store's keys (and UNLINK them).
    Connection errors and timeouts raise :class:`~sessionkit.errors.StoreUnavailableError`;
    the pool reconnects by itself once the server is back.
    """

    def __init__(self, settings: RedisSettings) -> None:
        self.settings = settings
        self._url = settings.masked_url
        self._keys = KeySpace(settings.prefix)
        self._prefix = settings.prefix
        try:
            self._client, self._sentinel = sync_client(settings)
        except UNAVAILABLE as exc:
            raise unavailable(self._url, exc) from exc

    @classmethod
    def from_url(cls, url: str, **options: Any) -> RedisStore:
        """The entry-point factory: ``RedisStore.from_url("redis://127.0.0.1:6379/0")``."""
        return cls(RedisSettings.from_url(url, **options))

    @property
    def client(self) -> SyncClient:
        """The underlying redis-py client."""
        return self._client

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._url!r})"

    # -- the Store protocol

    def get(self, sid: str) -> bytes | None:
        if not is_valid_session_id(sid):
            return None
        try:
            data = self._client.get(self._prefix + sid)
        except UNAVAILABLE as exc:
            raise unavailable(self._url, exc) from exc
        return data  # type: ignore[return-value]  # bytes: responses are not decoded

    def set(self, sid: str, data: bytes, ttl: int) -> None:
        key = self._prefix + check_session_id(sid)
        check_ttl(ttl)
        try:
            self._client.set(key, data, ex=ttl)
        except UNAVAILABLE as exc:
            raise unavailable(self._url, exc) from exc

    def add(self, sid: str, data: bytes, ttl: int) -> bool:
        key = self._prefix + check_session_id(sid)
        check_ttl(ttl)
        try:
            return bool(self._client.set(key, data, ex=ttl, nx=True))
        except UNAVAILABLE as exc:
            raise unavailable(self._url, exc) from exc

    def replace(self, sid: str, data: bytes, ttl: int) -> bool:
        key = self._prefix + check_session_id(sid)
        check_ttl(ttl)
        try:
            return bool(self._client.set(key, data, ex=ttl, xx=True))
        except UNAVAILABLE as exc:
            raise unavailable(self._url, exc) from exc

    def delete(self, sid: str) -> None:
        if not is_valid_session_id(sid):
            return
        try:
            self._client.delete(self._prefix + sid)
        except UNAVAILABLE as exc:
            raise unavailable(self._url, exc) from exc

    def touch(self, sid: str, ttl: int) -> bool:
        check_ttl(ttl)
        if not is_valid_session_id(sid):
            return False
        try:
            return bool(self._client.expire(self._prefix + sid, ttl))
        except UNAVAILABLE as exc:
            raise unavailable(self._url, exc) from exc

    def close(self) -> None:
        self._client.close()
        if self._sentinel is not None:
            self._sentinel.close()

    # -- capabilities

    def async_store(self) -> AsyncRedisStore:
        """A ``redis.asyncio`` twin with a new client of the same settings.

        Each call makes a new client, since an async client belongs to the event loop it
        first ran on; close the twin when its loop is done with it.
        """
        return AsyncRedisStore(self.settings)

    def count(self) -> int:
        """How many session keys this store holds (its prefix, the id shape)."""
        return len(set(self._scan()))

    def clear(self) -> None:
        """Remove this store's session keys; other keys in the database are left alone."""
        batch: list[bytes] = []
        try:
            for key in self._scan():
                batch.append(key)
                if len(batch) == SCAN_BATCH:
                    self._client.unlink(*batch)
                    batch.clear()
            if batch:
                self._client.unlink(*batch)
        except UNAVAILABLE as exc:
            raise unavailable(self._url, exc) from exc

    def _scan(self) -> Iterator[bytes]:
        try:
            for key in self._client.scan_iter(match=self._keys.pattern, count=SCAN_BATCH):
                if self._keys.owns(key):
                    yield key
        except UNAVAILABLE as exc:
            raise unavailable(self._url, exc) from exc
