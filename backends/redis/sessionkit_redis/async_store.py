"""The native async Redis store on ``redis.asyncio``: the same commands as the sync store."""

from __future__ import annotations

from sessionkit.ids import check_session_id, check_ttl, is_valid_session_id

from .clients import AsyncClient, async_client
from .errors import UNAVAILABLE, unavailable
from .settings import RedisSettings


class AsyncRedisStore:
    """The :class:`~sessionkit.store.AsyncStore` twin of ``RedisStore``.

    Its client is created here and bound to the event loop that first uses it; obtain one
    with ``RedisStore.async_store()`` (or :func:`sessionkit.as_async`) per event loop.
    """

    def __init__(self, settings: RedisSettings) -> None:
        self.settings = settings
        self._url = settings.masked_url
        self._prefix = settings.prefix
        self._client, self._sentinel = async_client(settings)

    @property
    def client(self) -> AsyncClient:
        """The underlying ``redis.asyncio`` client."""
        return self._client

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._url!r})"

    async def get(self, sid: str) -> bytes | None:
        if not is_valid_session_id(sid):
            return None
        try:
            data = await self._client.get(self._prefix + sid)
        except UNAVAILABLE as exc:
            raise unavailable(self._url, exc) from exc
        return data  # type: ignore[return-value]  # bytes: responses are not decoded

    async def set(self, sid: str, data: bytes, ttl: int) -> None:
        key = self._prefix + check_session_id(sid)
        check_ttl(ttl)
        try:
            await self._client.set(key, data, ex=ttl)
        except UNAVAILABLE as exc:
            raise unavailable(self._url, exc) from exc

    async def add(self, sid: str, data: bytes, ttl: int) -> bool:
        key = self._prefix + check_session_id(sid)
        check_ttl(ttl)
        try:
            return bool(await self._client.set(key, data, ex=ttl, nx=True))
        except UNAVAILABLE as exc:
            raise unavailable(self._url, exc) from exc

    async def replace(self, sid: str, data: bytes, ttl: int) -> bool:
        key = self._prefix + check_session_id(sid)
        check_ttl(ttl)
        try:
            return bool(await self._client.set(key, data, ex=ttl, xx=True))
        except UNAVAILABLE as exc:
            raise unavailable(self._url, exc) from exc

    async def delete(self, sid: str) -> None:
        if not is_valid_session_id(sid):
            return
        try:
            await self._client.delete(self._prefix + sid)
        except UNAVAILABLE as exc:
            raise unavailable(self._url, exc) from exc

    async def touch(self, sid: str, ttl: int) -> bool:
        check_ttl(ttl)
        if not is_valid_session_id(sid):
            return False
        try:
            return bool(await self._client.expire(self._prefix + sid, ttl))
        except UNAVAILABLE as exc:
            raise unavailable(self._url, exc) from exc

    async def close(self) -> None:
        await self._client.aclose()
        if self._sentinel is not None:
            await self._sentinel.aclose()
