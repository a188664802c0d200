"""The native async twin of a SQL store, on SQLAlchemy's asyncio engine.

Made by :meth:`~sessionkit_sql.store.AsyncCapableSQLStore.async_store` when the URL names an
async driver (``postgresql+asyncpg``, ``sqlite+aiosqlite`` …). It runs the same statements
as the synchronous store, on the same table, with the same clock, and handles lost connections
the same way (:func:`~sessionkit_sql.engine.connection_lost`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import CursorResult, Executable, Table, inspect
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from sessionkit.ids import check_ttl, is_valid_session_id

from .config import Settings, Target
from .engine import (
    DEADLOCK_ATTEMPTS,
    StaleConnection,
    connection_lost,
    engine_options,
    is_deadlock,
    is_duplicate_key,
    tune_sqlite,
    unavailable,
)
from .schema import Statements, now_ms, read_rowcount, read_scalar, row_params

T = TypeVar("T")


def async_engine(target: Target, settings: Settings) -> AsyncEngine:
    assert target.async_url is not None
    engine = create_async_engine(target.async_url, **engine_options(target, settings))
    if target.backend == "sqlite":
        tune_sqlite(engine.sync_engine, settings.busy_timeout)
    return engine


class AsyncSQLStore:
    """An :class:`~sessionkit.store.AsyncStore` on one SQL table; see the module docstring."""

    def __init__(
        self, target: Target, settings: Settings, table: Table, clock: Callable[[], float]
    ) -> None:
        self.target = target
        self.table = table
        self._engine = async_engine(target, settings)
        self._sql = Statements(table, self._engine.dialect.name, settings.purge_batch_size)
        self._clock = clock
        self._ready = not settings.create_table
        self._ready_lock = asyncio.Lock()

    async def get(self, sid: str) -> bytes | None:
        if not is_valid_session_id(sid):
            return None
        params = {"sid": sid, "now": now_ms(self._clock)}
        data = await self._execute(self._sql.get, params, read_scalar)
        return None if data is None else bytes(data)

    async def set(self, sid: str, data: bytes, ttl: int) -> None:
        params = row_params(sid, data, ttl, now_ms(self._clock))
        await self._execute(self._sql.set, params, read_rowcount)

    async def add(self, sid: str, data: bytes, ttl: int) -> bool:
        params = row_params(sid, data, ttl, now_ms(self._clock))
        if self._sql.add is not None:
            return await self._execute(self._sql.add, params, read_rowcount) == 1
        try:
            await self._execute(self._sql.insert, params, read_rowcount)
            return True
        except IntegrityError as exc:
            if not is_duplicate_key(exc.orig):
                raise
        return await self._execute(self._sql.take_over, params, read_rowcount) == 1

    async def replace(self, sid: str, data: bytes, ttl: int) -> bool:
        params = row_params(sid, data, ttl, now_ms(self._clock))
        return await self._execute(self._sql.replace, params, read_rowcount) == 1

    async def delete(self, sid: str) -> None:
        if not is_valid_session_id(sid):
            return
        await self._execute(self._sql.delete, {"sid": sid}, read_rowcount)

    async def touch(self, sid: str, ttl: int) -> bool:
        check_ttl(ttl)
        if not is_valid_session_id(sid):
            return False
        now = now_ms(self._clock)
        params = {"sid": sid, "now": now, "expires": now + ttl * 1000}
        return await self._execute(self._sql.touch, params, read_rowcount) == 1

    async def close(self) -> None:
        await self._engine.dispose()

    async def _execute(
        self,
        statement: Executable,
        params: dict[str, Any],
        read: Callable[[CursorResult[Any]], T],
    ) -> T:
        """Run one statement on a pooled connection and ``read`` its result.

        As in the synchronous store, a pooled connection found dead is replaced and the
        statement run once more; only when that fails too is the store unavailable.
        """
        try:
            return await self._execute_once(statement, params, read, retryable=True)
        except StaleConnection:
            return await self._execute_once(statement, params, read, retryable=False)

    async def _execute_once(
        self,
        statement: Executable,
        params: dict[str, Any],
        read: Callable[[CursorResult[Any]], T],
        *,
        retryable: bool,
    ) -> T:
        """One try on a pooled connection (creating the table first if it is not known to
        exist); a lost connection becomes :class:`StaleConnection` when ``retryable``."""
        try:
            conn = await self._engine.connect()
        except (DBAPIError, OSError) as exc:
            raise unavailable(self.target, exc) from exc
        try:
            if not self._ready:
                await self._create_table(conn)
            return read(await self._run(conn, statement, params))
        except DBAPIError as exc:
            replacement = connection_lost(self.target, exc, retry=retryable)
            if replacement is None:
                raise
            raise replacement from exc
        finally:
            await conn.close()

    async def _run(
        self, conn: AsyncConnection, statement: Executable, params: dict[str, Any] | None = None
    ) -> CursorResult[Any]:
        """Execute ``statement``, again if the server rolled it back to break a deadlock."""
        attempt = 1
        while True:
            try:
                return await conn.execute(statement, params)
            except DBAPIError as exc:
                if attempt == DEADLOCK_ATTEMPTS or not is_deadlock(exc):
                    raise
                attempt += 1

    async def _create_table(self, conn: AsyncConnection) -> None:
        async with self._ready_lock:
            if self._ready:
                return
            try:
                await conn.run_sync(self.table.metadata.create_all, checkfirst=True)
            except DBAPIError:
                exists = await conn.run_sync(lambda c: inspect(c).has_table(self.table.name))
                if not exists:
                    raise
            self._ready = True
