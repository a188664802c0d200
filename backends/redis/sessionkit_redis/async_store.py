"""The native async Redis store: the shared operations, awaited, on the lean client of
:mod:`sessionkit_redis.wire` for one plain server and on ``redis.asyncio`` otherwise."""

from __future__ import annotations

import asyncio
import time
from typing import TypeVar

from sessionkit.store import Entry, Swap, Version

from .base import RedisTwin
from .clients import ASYNC, AsyncClient
from .errors import CLIENT_ERRORS, torn_connection
from .operations import Running, Single, Steps
from .requests import Answer

T = TypeVar("T")


class AsyncRedisStore(RedisTwin[AsyncClient]):
    """The :class:`~sessionkit.store.AsyncStore` twin of ``RedisStore``: the same commands,
    versions and users' indexes, the same timeouts, retries and errors.

    Its client is created here and bound to the event loop that first uses it; obtain one
    with ``RedisStore.async_store()`` (or :func:`sessionkit.as_async`) per event loop.
    """

    flavour = ASYNC
    is_async = True

    async def get(self, sid: str) -> bytes | None:
        return await self._send(self._ops.get(sid))

    async def set(self, sid: str, data: bytes, ttl: int) -> None:
        await self._send(self._ops.set(sid, data, ttl))

    async def add(self, sid: str, data: bytes, ttl: int) -> bool:
        return await self._send(self._ops.add(sid, data, ttl))

    async def replace(self, sid: str, data: bytes, ttl: int) -> bool:
        return await self._send(self._ops.replace(sid, data, ttl))

    async def delete(self, sid: str) -> bool:
        return await self._send(self._ops.delete(sid))

    async def touch(self, sid: str, ttl: int) -> bool:
        return await self._send(self._ops.touch(sid, ttl))

    async def close(self) -> None:
        await self.client.aclose()
        if self._sentinel is not None:
            await self._sentinel.aclose()

    async def get_versioned(self, sid: str) -> Entry | None:
        return await self._send(self._ops.get_versioned(sid))

    async def replace_versioned(self, sid: str, data: bytes, ttl: int, version: Version) -> Swap:
        return await self._send(self._ops.replace_versioned(sid, data, ttl, version))

    async def bind_user(self, user_id: str, sid: str, ttl: int) -> None:
        await self._run(self._ops.bind_user(user_id, sid, ttl))

    async def user_sessions(self, user_id: str) -> dict[str, bytes]:
        return await self._run(self._ops.user_sessions(user_id))

    async def delete_user_sessions(self, user_id: str, keep: str | None = None) -> int:
        return await self._run(self._ops.delete_user_sessions(user_id, keep))

    # -- the runner

    async def _run(self, steps: Steps[T]) -> T:
        """Drive an operation's steps, one round trip each."""
        running = Running(steps)
        request = running.next(None)
        while request is not None:
            request = running.next(await self._send(request, running.started))
        return running.result

    async def _send(self, request: Single[T], started: float | None = None) -> T:
        """Send one request and await the reply, trying again as the policy says
        (``started``: when the whole operation began, if not now)."""
        if isinstance(request, Answer):
            return request.value
        retry, started = 0, time.monotonic() if started is None else started
        while True:
            try:
                return request.read(await request.send(self))
            except CLIENT_ERRORS as exc:
                retry += 1
                await asyncio.sleep(self._retry_after(exc, retry, started))
            except (AttributeError, TypeError) as exc:
                broken = torn_connection(exc)
                if broken is None:
                    raise
                retry += 1
                await asyncio.sleep(self._retry_after(broken, retry, started))
