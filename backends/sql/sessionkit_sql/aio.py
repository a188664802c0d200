"""The native async twin of a SQL store, on SQLAlchemy's asyncio engine.

Made by :meth:`~sessionkit_sql.store.AsyncCapableSQLStore.async_store` when the URL names an
async driver (``postgresql+asyncpg``, ``sqlite+aiosqlite`` …). It runs the same operations
(:mod:`sessionkit_sql.operations`) on the same table with the same clock, and handles lost
connections and errors the same way. On a network database each operation has its
``timeout`` as a deadline, its wait for a pooled connection and a new connection included:
past it, the connection is dropped at once (a frozen server would not answer a polite close)
and the store is unavailable.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy import Connection, CursorResult, Table
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from sessionkit.store import Entry, Swap, Version

from .config import Settings, Target
from .engine import (
    DEADLOCK_ATTEMPTS,
    StaleConnection,
    engine_options,
    is_deadlock,
    settle,
    timed_out,
    tune_sqlite,
    unavailable,
    watched_failure,
)
from .operations import Operations, Step, Steps
from .schema import prepare_table

T = TypeVar("T")


def async_engine(target: Target, settings: Settings) -> AsyncEngine:
    assert target.async_url is not None
    options = engine_options(target, settings, target.async_url.get_driver_name())
    engine = create_async_engine(target.async_url, **options)
    if target.backend == "sqlite":
        tune_sqlite(engine.sync_engine, settings.timeout)
    return engine


class AsyncSQLStore:
    """An :class:`~sessionkit.store.AsyncStore` on one SQL table; see the module docstring."""

    def __init__(
        self, target: Target, settings: Settings, table: Table, operations: Operations
    ) -> None:
        self.target = target
        self.table = table
        self.settings = settings
        self._ops = operations
        self._engine = async_engine(target, settings)
        # SQLite waits for locks with its busy timeout; a network server may not answer.
        self._deadline = target.backend != "sqlite"
        self._prepared = False

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.target.masked!r})"

    async def get(self, sid: str) -> bytes | None:
        return await self._run(self._ops.get(sid))

    async def set(self, sid: str, data: bytes, ttl: int) -> None:
        await self._run(self._ops.set(sid, data, ttl))

    async def add(self, sid: str, data: bytes, ttl: int) -> bool:
        return await self._run(self._ops.add(sid, data, ttl))

    async def replace(self, sid: str, data: bytes, ttl: int) -> bool:
        return await self._run(self._ops.replace(sid, data, ttl))

    async def delete(self, sid: str) -> bool:
        return await self._run(self._ops.delete(sid))

    async def touch(self, sid: str, ttl: int) -> bool:
        return await self._run(self._ops.touch(sid, ttl))

    async def close(self) -> None:
        await self._engine.dispose()

    async def get_versioned(self, sid: str) -> Entry | None:
        return await self._run(self._ops.get_versioned(sid))

    async def replace_versioned(self, sid: str, data: bytes, ttl: int, version: Version) -> Swap:
        return await self._run(self._ops.replace_versioned(sid, data, ttl, version))

    async def bind_user(self, user_id: str, sid: str, ttl: int) -> None:
        await self._run(self._ops.bind_user(user_id, sid, ttl))

    async def user_sessions(self, user_id: str) -> dict[str, bytes]:
        return await self._run(self._ops.user_sessions(user_id))

    async def delete_user_sessions(self, user_id: str, keep: str | None = None) -> int:
        return await self._run(self._ops.delete_user_sessions(user_id, keep))

    # -- running the steps of an operation (as the synchronous store does)

    async def _run(self, steps: Steps[T]) -> T:
        try:
            step = next(steps)
            if not self._prepared:
                await self._prepare_table()  # no part of the operation's timeout
            started = time.monotonic()
            while True:
                step = steps.send(await self._execute(step, started))
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]

    async def _execute(self, step: Step, started: float) -> Any:
        try:
            try:
                return await self._execute_once(step, started)
            except StaleConnection:
                if time.monotonic() - started >= self.settings.timeout / 2:
                    raise unavailable(self.target, "the connection was lost") from None
                return await self._execute_once(step, started)
        except StaleConnection:  # the fresh connection was dead too
            raise unavailable(self.target, "the connection was lost") from None
        except (SQLAlchemyError, OSError) as exc:
            return settle(self.target, step.duplicate, exc)

    async def _execute_once(self, step: Step, started: float) -> Any:
        async def run(conn: AsyncConnection) -> Any:
            return step.read(await _run_statement(conn, step))

        return await self._on_connection(started + self.settings.timeout, run)

    async def _prepare_table(self) -> None:
        """Check the table (creating it if told to) within a ``timeout`` of its own, as the
        synchronous store does before an operation's first step."""

        async def prepare(conn: AsyncConnection) -> None:
            await conn.run_sync(self._prepare)

        try:
            await self._on_connection(time.monotonic() + self.settings.timeout, prepare)
        except StaleConnection:
            raise unavailable(self.target, "the connection was lost") from None
        except (SQLAlchemyError, OSError) as exc:
            settle(self.target, False, exc)

    async def _on_connection(
        self, deadline: float, work: Callable[[AsyncConnection], Awaitable[T]]
    ) -> T:
        """Do ``work`` on a pooled connection by ``deadline``. On a network database, a
        connection still busy at the deadline is closed under the statement (as the
        synchronous store's watchdog does): the statement fails at once, with no polite close
        to wait for."""
        connect = self._engine.connect()
        try:
            conn = await (
                asyncio.wait_for(connect, deadline - time.monotonic())
                if self._deadline
                else connect
            )
        except asyncio.TimeoutError:
            raise timed_out(self.target, self.settings) from None
        alarm: asyncio.TimerHandle | None = None
        fired: list[bool] = []
        if self._deadline:
            raw = conn.sync_connection.connection.driver_connection  # type: ignore[union-attr]
            delay = deadline - time.monotonic()
            alarm = asyncio.get_running_loop().call_later(delay, _abort, raw, fired)
        try:
            return await work(conn)
        except DBAPIError as exc:
            failure = watched_failure(exc, bool(fired), self.target, self.settings)
            if failure is None:
                raise
            raise failure from exc
        finally:
            if alarm is not None:
                alarm.cancel()
            await conn.close()

    def _prepare(self, conn: Connection) -> None:
        create = self.settings.create_table
        prepare_table(conn, self.table, self.target.masked, create=create)
        self._prepared = True


async def _run_statement(conn: AsyncConnection, step: Step) -> CursorResult[Any]:
    """Execute ``step``'s statement, again if the server rolled it back to break a deadlock."""
    attempt = 1
    while True:
        try:
            return await conn.execute(step.statement, step.params)
        except DBAPIError as exc:
            if attempt == DEADLOCK_ATTEMPTS or not is_deadlock(exc):
                raise
            attempt += 1


def _abort(raw: Any, fired: list[bool]) -> None:
    """Close a driver's connection at once, with no exchange with the server: asyncpg's
    ``terminate()``, aiomysql's and asyncmy's (synchronous) ``close()``."""
    fired.append(True)
    terminate = getattr(raw, "terminate", None)
    (terminate or raw.close)()
