"""The synchronous SQL store, and its subclass for URLs that name an async driver.

Time is Python's clock (``time.time``, in milliseconds), not the database's: the same
statements then work on every dialect with plain integer comparisons, ``expires_at`` means
the same thing whichever server wrote it, and tests can freeze time. Application servers
sharing a database must keep their clocks in sync (NTP); a skew of a few seconds moves expiry
by that much, which is small against session lifetimes.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, CursorResult, Engine
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from sessionkit.errors import ConfigurationError
from sessionkit.store import AsyncStore, Entry, Swap, Version

from .config import read_settings, split_url
from .connecting import Deadline
from .engine import (
    DEADLOCK_ATTEMPTS,
    StaleConnection,
    is_deadlock,
    settle,
    sync_engine,
    timed_out,
    translate,
    unavailable,
    watched_failure,
)
from .operations import Clock, Operations, Step, Steps
from .schema import Statements, prepare_table, session_table
from .watchdog import Watch, Watchdog, socket_of

T = TypeVar("T")


class SQLStore:
    """Sessions in one table of a SQLite, PostgreSQL or MySQL/MariaDB database.

    :param url: a SQLAlchemy URL, optionally carrying sessionkit's options in its query
        (:data:`~sessionkit_sql.config.OPTION_DEFAULTS`); keyword options given here take
        precedence over those.
    :param clock: the time source, in seconds since the epoch.
    """

    @classmethod
    def from_url(cls, url: str, **options: Any) -> SQLStore:
        """The ``sessionkit.backends`` factory: a store with a native async twin when the URL
        names an async driver (:class:`AsyncCapableSQLStore`), a plain one otherwise."""
        target, _ = split_url(url)
        store_class = AsyncCapableSQLStore if target.async_url is not None else SQLStore
        return store_class(url, **options)

    def __init__(self, url: str | URL, *, clock: Clock = time.time, **options: Any) -> None:
        self.target, url_options = split_url(url)
        self.settings = read_settings(self.target, url_options, options)
        self.table = session_table(self.settings.table)
        statements = Statements(self.table, self.target.backend, self.settings.purge_batch_size)
        self._ops = Operations(statements, clock)
        self._engine: Engine | None = None
        self._start_lock = threading.Lock()
        # One slot per connection the pool may hold (an in-memory SQLite database is a single
        # one): an operation waits for a slot, not in the pool, so that its deadline bounds it.
        pool = self.settings.pool
        self._slots: queue.SimpleQueue[None] = queue.SimpleQueue()  # cheaper than a semaphore
        for _ in range(pool["pool_size"] + pool["max_overflow"] if pool else 1):
            self._slots.put(None)
        self._slot_wait: float = pool.get("pool_timeout", self.settings.timeout)
        self._deadline = Deadline()
        # A frozen server answers nothing; libpq would wait for it forever (see the watchdog).
        network = self.target.backend != "sqlite"
        self._watchdog = Watchdog() if network else None
        # Pinged here, under the watchdog, not by the pool (see engine.sync_engine).
        self._pre_ping = network and self.settings.pre_ping

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.target.masked!r})"

    # -- the Store protocol

    def get(self, sid: str) -> bytes | None:
        return self._run(self._ops.get(sid))

    def set(self, sid: str, data: bytes, ttl: int) -> None:
        self._run(self._ops.set(sid, data, ttl))

    def add(self, sid: str, data: bytes, ttl: int) -> bool:
        """Create ``sid``; an expired row of that id counts as absent and is taken over."""
        return self._run(self._ops.add(sid, data, ttl))

    def replace(self, sid: str, data: bytes, ttl: int) -> bool:
        return self._run(self._ops.replace(sid, data, ttl))

    def delete(self, sid: str) -> bool:
        return self._run(self._ops.delete(sid))

    def touch(self, sid: str, ttl: int) -> bool:
        return self._run(self._ops.touch(sid, ttl))

    def close(self) -> None:
        """Close the pooled connections."""
        if self._engine is not None:
            self._engine.dispose()

    # -- versions and the per-user index

    def get_versioned(self, sid: str) -> Entry | None:
        return self._run(self._ops.get_versioned(sid))

    def replace_versioned(self, sid: str, data: bytes, ttl: int, version: Version) -> Swap:
        return self._run(self._ops.replace_versioned(sid, data, ttl, version))

    def bind_user(self, user_id: str, sid: str, ttl: int) -> None:
        self._run(self._ops.bind_user(user_id, sid, ttl))

    def user_sessions(self, user_id: str) -> dict[str, bytes]:
        return self._run(self._ops.user_sessions(user_id))

    def delete_user_sessions(self, user_id: str, keep: str | None = None) -> int:
        return self._run(self._ops.delete_user_sessions(user_id, keep))

    # -- maintenance

    def initialize(self) -> None:
        """Create the table and its indexes if they are missing."""
        if self._engine is None:
            self._start(create=True)
        else:
            self._prepare(self._engine, create=True)

    def purge_expired(self, limit: int | None = None) -> int:
        """Delete expired rows in batches of ``purge_batch_size``, at most ``limit`` in all
        (None: every one); return how many went."""
        return self._run(self._ops.purge_expired(limit))

    def count(self) -> int:
        """How many sessions have not expired."""
        return self._run(self._ops.count())

    def clear(self) -> None:
        """Delete every row of this store's table."""
        self._run(self._ops.clear())

    # -- running the steps of an operation

    def _run(self, steps: Steps[T]) -> T:
        try:
            step = next(steps)
            if self._engine is None:
                self._start()  # creating the table is no part of the operation's timeout
            started = time.monotonic()
            while True:
                step = steps.send(self._execute(step, started))
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]

    def _execute(self, step: Step, started: float) -> Any:
        """Run one step on a pooled connection and read its result.

        A pooled connection that turns out to be dead (the server restarted while it sat idle)
        is replaced and the statement run once more on a fresh one, if the operation has used
        less than half its ``timeout``; otherwise, or when no connection can be made, the store
        is unavailable. Every other database error becomes a sessionkit error.
        """
        try:
            try:
                return self._execute_once(step, started + self.settings.timeout)
            except StaleConnection:
                if time.monotonic() - started >= self.settings.timeout / 2:
                    raise unavailable(self.target, "the connection was lost") from None
                return self._execute_once(step, started + self.settings.timeout)
        except StaleConnection:  # the fresh connection was dead too
            raise unavailable(self.target, "the connection was lost") from None
        except (SQLAlchemyError, OSError) as exc:
            return settle(self.target, step.duplicate, exc)

    def _execute_once(self, step: Step, deadline: float) -> Any:
        engine = self._engine or self._start()
        self._take_slot(deadline)
        try:
            with self._connect(engine, deadline) as conn:

                def run() -> Any:
                    if self._pre_ping:
                        conn.exec_driver_sql("SELECT 1")
                    return step.read(_run_statement(conn, step))

                return self._watched(conn, deadline, run)
        finally:
            self._slots.put(None)

    def _watched(self, conn: Connection, deadline: float, work: Callable[[], T]) -> T:
        """``work()``, with the watchdog set to shut ``conn``'s socket at ``deadline`` (when
        that socket is known): the error that makes is the store's timeout; a connection
        found dead is a :class:`StaleConnection`."""
        watch = self._watch(conn, deadline)
        try:
            return work()
        except DBAPIError as exc:
            fired = watch is not None and watch.fired
            failure = watched_failure(exc, fired, self.target, self.settings)
            if failure is None:
                raise
            raise failure from exc
        finally:
            if watch is not None:
                self._watchdog.release(watch)  # type: ignore[union-attr]

    def _connect(self, engine: Engine, deadline: float) -> Connection:
        """A connection from the pool, or a new one opened by ``deadline`` (see connecting)."""
        self._deadline.at = deadline
        try:
            return engine.connect()
        finally:
            self._deadline.at = None

    def _watch(self, conn: Connection, deadline: float) -> Watch | None:
        """Have the watchdog shut ``conn``'s socket at ``deadline``, if that socket is known."""
        if self._watchdog is None:
            return None
        fileno = socket_of(conn.connection.dbapi_connection)
        return None if fileno is None else self._watchdog.watch(fileno, deadline)

    def _take_slot(self, deadline: float) -> None:
        """Wait for a free connection until ``pool_timeout`` or ``deadline``, if earlier."""
        try:
            self._slots.get_nowait()  # the usual case: no clock, no wait
            return
        except queue.Empty:
            pass
        left = deadline - time.monotonic()
        try:
            self._slots.get(timeout=max(0.0, min(left, self._slot_wait)))
        except queue.Empty:
            if left <= self._slot_wait:
                raise timed_out(self.target, self.settings) from None
            reason = f"no free connection within {self._slot_wait:g} s"
            raise unavailable(self.target, reason) from None

    # -- starting

    def _start(self, *, create: bool | None = None) -> Engine:
        """Create the engine (and, unless told not to, the table) on first use."""
        if create is None:
            create = self.settings.create_table
        with self._start_lock:
            if self._engine is None:
                database = self.target.sync_url.database
                if (
                    self.target.backend == "sqlite"
                    and not self.target.in_memory
                    and not create
                    and database
                    and not Path(database).exists()
                ):
                    raise ConfigurationError(
                        f"{self.target.masked}: the database file does not exist "
                        "(create_table=false: sessionkit creates nothing)"
                    )
                engine = sync_engine(self.target, self.settings, self._deadline)
                try:
                    self._prepare(engine, create=create)
                except BaseException:
                    engine.dispose()
                    raise
                self._engine = engine
            return self._engine

    def _prepare(self, engine: Engine, *, create: bool) -> None:
        """Check the table (creating it if told to) within a ``timeout`` of its own."""
        deadline = time.monotonic() + self.settings.timeout
        try:
            with self._connect(engine, deadline) as conn:
                self._watched(
                    conn,
                    deadline,
                    lambda: prepare_table(conn, self.table, self.target.masked, create=create),
                )
        except StaleConnection:
            raise unavailable(self.target, "the connection was lost") from None
        except SQLAlchemyError as exc:
            raise translate(self.target, exc) from exc


def _run_statement(conn: Connection, step: Step) -> CursorResult[Any]:
    """Execute ``step``'s statement, again if the server rolled it back to break a deadlock."""
    attempt = 1
    while True:
        try:
            return conn.execute(step.statement, step.params)
        except DBAPIError as exc:
            if attempt == DEADLOCK_ATTEMPTS or not is_deadlock(exc):
                raise
            attempt += 1


class AsyncCapableSQLStore(SQLStore):
    """A :class:`SQLStore` whose URL names an async driver: it has a native async twin."""

    def async_store(self) -> AsyncStore:
        """A new async store on the same table, with its own engine.

        An async engine belongs to the event loop it first ran on, so each call makes a
        fresh one; close it (``await astore.close()``) on the loop that used it.
        """
        from .aio import AsyncSQLStore

        return AsyncSQLStore(self.target, self.settings, self.table, self._ops)
