"""The synchronous SQL store, and its subclass for URLs that name an async driver.

Time is Python's clock (``time.time``, in milliseconds), not the database's: the same
statements then work on every dialect with plain integer comparisons, ``expires_at`` means
the same thing whichever server wrote it, and tests can freeze time. Application servers
sharing a database must keep their clocks in sync (NTP); a skew of a few seconds moves expiry
by that much, which is small against session lifetimes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import Connection, CursorResult, Engine, Executable, inspect
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError, IntegrityError

from sessionkit.errors import ConfigurationError
from sessionkit.ids import check_ttl, is_valid_session_id
from sessionkit.store import AsyncStore

from .config import Settings, Target, split_url
from .engine import (
    DEADLOCK_ATTEMPTS,
    StaleConnection,
    connection_lost,
    is_deadlock,
    is_duplicate_key,
    sync_engine,
    unavailable,
)
from .schema import Statements, now_ms, read_rowcount, read_scalar, row_params, session_table

Clock = Callable[[], float]
T = TypeVar("T")


class SQLStore:
    """Sessions in one table of a SQLite, PostgreSQL or MySQL/MariaDB database.

    :param url: a SQLAlchemy URL, optionally carrying sessionkit's options in its query
        (see the README); keyword arguments given here take precedence over those.
    :param clock: the time source, in seconds since the epoch.
    """

    _sql: Statements

    @classmethod
    def from_url(cls, url: str, **options: Any) -> SQLStore:
        """The ``sessionkit.backends`` factory: a store with a native async twin when the URL
        names an async driver (:class:`AsyncCapableSQLStore`), a plain one otherwise."""
        target, _ = split_url(url)
        store_class = AsyncCapableSQLStore if target.async_url is not None else SQLStore
        return store_class(url, **options)

    def __init__(
        self,
        url: str | URL,
        *,
        table: str | None = None,
        create_table: bool | None = None,
        purge_batch_size: int | None = None,
        pre_ping: bool | None = None,
        busy_timeout: float | None = None,
        pool_size: int | None = None,
        max_overflow: int | None = None,
        pool_timeout: float | None = None,
        pool_recycle: int | None = None,
        clock: Clock = time.time,
    ) -> None:
        self.target, options = split_url(url)
        given = {
            "table": table,
            "create_table": create_table,
            "purge_batch_size": purge_batch_size,
            "pre_ping": pre_ping,
            "busy_timeout": busy_timeout,
            "pool_size": pool_size,
            "max_overflow": max_overflow,
            "pool_timeout": pool_timeout,
            "pool_recycle": pool_recycle,
        }
        options.update({name: value for name, value in given.items() if value is not None})
        self.settings = Settings(**options)
        if self.target.in_memory and self.settings.pool_options:
            raise ConfigurationError(
                f"{self.target.masked}: an in-memory SQLite database is one connection; "
                f"{', '.join(sorted(self.settings.pool_options))} do not apply"
            )
        self.table = session_table(self.settings.table)
        self._clock = clock
        self._engine: Engine | None = None
        self._start_lock = threading.Lock()
        # An in-memory SQLite database is a single connection: one operation at a time.
        self._serial = threading.Lock() if self.target.in_memory else None

    # -- the Store protocol

    def get(self, sid: str) -> bytes | None:
        if not is_valid_session_id(sid):
            return None
        params = {"sid": sid, "now": now_ms(self._clock)}
        data = self._execute(self._statements().get, params, read_scalar)
        return None if data is None else bytes(data)

    def set(self, sid: str, data: bytes, ttl: int) -> None:
        params = row_params(sid, data, ttl, now_ms(self._clock))
        self._execute(self._statements().set, params, read_rowcount)

    def add(self, sid: str, data: bytes, ttl: int) -> bool:
        """Create ``sid``; an expired row of that id counts as absent and is taken over."""
        params = row_params(sid, data, ttl, now_ms(self._clock))
        add = self._statements().add
        if add is not None:
            return self._execute(add, params, read_rowcount) == 1
        try:
            self._execute(self._statements().insert, params, read_rowcount)
            return True
        except IntegrityError as exc:
            if not is_duplicate_key(exc.orig):
                raise
        return self._execute(self._statements().take_over, params, read_rowcount) == 1

    def replace(self, sid: str, data: bytes, ttl: int) -> bool:
        params = row_params(sid, data, ttl, now_ms(self._clock))
        return self._execute(self._statements().replace, params, read_rowcount) == 1

    def delete(self, sid: str) -> None:
        if not is_valid_session_id(sid):
            return
        self._execute(self._statements().delete, {"sid": sid}, read_rowcount)

    def touch(self, sid: str, ttl: int) -> bool:
        check_ttl(ttl)
        if not is_valid_session_id(sid):
            return False
        now = now_ms(self._clock)
        params = {"sid": sid, "now": now, "expires": now + ttl * 1000}
        return self._execute(self._statements().touch, params, read_rowcount) == 1

    def close(self) -> None:
        """Close the pooled connections."""
        if self._engine is not None:
            self._engine.dispose()

    # -- optional capabilities

    def initialize(self) -> None:
        """Create the table and its expiry index if they are missing."""
        self._create_table(self._engine or self._start())

    def purge_expired(self) -> int:
        """Delete expired rows in batches of ``purge_batch_size``; return how many went."""
        params = {"now": now_ms(self._clock)}
        removed = 0
        with self._connection() as conn:
            while True:
                batch = self._run(conn, self._sql.purge, params).rowcount
                removed += batch
                if batch < self._sql.purge_batch_size:
                    return removed

    def count(self) -> int:
        """How many sessions have not expired."""
        with self._connection() as conn:
            return int(self._run(conn, self._sql.count, {"now": now_ms(self._clock)}).scalar_one())

    def clear(self) -> None:
        """Delete every row of this store's table."""
        with self._connection() as conn:
            self._run(conn, self._sql.clear)

    # -- internals

    def _start(self) -> Engine:
        """Create the engine (and, unless told not to, the table) on first use."""
        with self._start_lock:
            if self._engine is None:
                engine = sync_engine(self.target, self.settings)
                self._sql = Statements(
                    self.table, engine.dialect.name, self.settings.purge_batch_size
                )
                if self.settings.create_table:
                    try:
                        self._create_table(engine)
                    except BaseException:
                        engine.dispose()
                        raise
                self._engine = engine
            return self._engine

    def _create_table(self, engine: Engine) -> None:
        with _Checkout(self.target, engine, None, retryable=False) as conn:
            try:
                self.table.metadata.create_all(conn, checkfirst=True)
            except DBAPIError:
                # Another process may have created it between the check and the CREATE.
                if not inspect(conn).has_table(self.table.name):
                    raise

    def _statements(self) -> Statements:
        if self._engine is None:
            self._start()
        return self._sql

    def _execute(
        self,
        statement: Executable,
        params: dict[str, Any],
        read: Callable[[CursorResult[Any]], T],
    ) -> T:
        """Run one statement on a pooled connection and ``read`` its result.

        A pooled connection that turns out to be dead (the server restarted while it sat idle)
        is replaced and the statement run once more on a fresh one; only when that fails too,
        or no connection can be made, is the store unavailable.
        """
        try:
            with self._connection(retryable=True) as conn:
                return read(self._run(conn, statement, params))
        except StaleConnection:
            with self._connection() as conn:
                return read(self._run(conn, statement, params))

    def _run(
        self, conn: Connection, statement: Executable, params: dict[str, Any] | None = None
    ) -> CursorResult[Any]:
        """Execute ``statement``, again if the server rolled it back to break a deadlock."""
        attempt = 1
        while True:
            try:
                return conn.execute(statement, params)
            except DBAPIError as exc:
                if attempt == DEADLOCK_ATTEMPTS or not is_deadlock(exc):
                    raise
                attempt += 1

    def _connection(self, *, retryable: bool = False) -> _Checkout:
        return _Checkout(self.target, self._engine or self._start(), self._serial, retryable)


class _Checkout:
    """``with _Checkout(...) as conn``: a pooled connection for one operation (under ``lock``
    when one is given), back in the pool afterwards. A lost connection becomes
    :class:`StaleConnection` when ``retryable``, the store's ``StoreUnavailableError``
    otherwise; other database errors pass unchanged. (A class rather than a generator-based
    context manager: it is entered on every store operation.)
    """

    __slots__ = ("_conn", "_lock", "_retryable", "_target")

    def __init__(
        self, target: Target, engine: Engine, lock: threading.Lock | None, retryable: bool
    ) -> None:
        self._target = target
        self._lock = lock
        self._retryable = retryable
        if lock is not None:
            lock.acquire()
        try:
            self._conn = engine.connect()
        except BaseException as exc:
            if lock is not None:
                lock.release()
            if isinstance(exc, DBAPIError):
                raise unavailable(target, exc) from exc
            raise

    def __enter__(self) -> Connection:
        return self._conn

    def __exit__(self, kind: object, error: BaseException | None, traceback: object) -> None:
        try:
            self._conn.close()
        finally:
            if self._lock is not None:
                self._lock.release()
        if isinstance(error, DBAPIError):
            replacement = connection_lost(self._target, error, retry=self._retryable)
            if replacement is not None:
                raise replacement from error


class AsyncCapableSQLStore(SQLStore):
    """A :class:`SQLStore` whose URL names an async driver: it has a native async twin."""

    def async_store(self) -> AsyncStore:
        """A new async store on the same table, with its own engine.

        An async engine belongs to the event loop it first ran on, so each call makes a
        fresh one; close it (``await astore.close()``) on the loop that used it.
        """
        from .aio import AsyncSQLStore

        return AsyncSQLStore(self.target, self.settings, self.table, self._clock)
