"""Building the SQLAlchemy engines of a store, and what each database error means for it.

Every engine runs in autocommit mode: each operation is one statement, atomic on its own, so
a transaction around it would only add round trips. Statement parameters are kept out of
error messages and logs (they hold session ids). SQLite file databases get WAL journaling,
``synchronous=NORMAL`` (safe with WAL; a power cut may lose the last commits, never corrupt)
and ``timeout`` as their busy timeout on every new connection; an in-memory database is one
shared connection.

The timeouts reach each driver as its own options: libpq's ``connect_timeout`` (whole
seconds, at least 2) and the server's ``statement_timeout``; PyMySQL's connect, read and write
timeouts; asyncpg's ``timeout``; aiomysql's and asyncmy's ``connect_timeout``. They do not
add up to one bound per operation, and a frozen server answers nothing, not even the
statement timeout: the synchronous store opens connections within its operations' deadlines
(:mod:`~sessionkit_sql.connecting`) and its :class:`~sessionkit_sql.watchdog.Watchdog` ends
statements at them; the async twin has its own deadline.
"""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import (
    DBAPIError,
    IntegrityError,
    OperationalError,
    ProgrammingError,
    SQLAlchemyError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.pool import StaticPool

from sessionkit.errors import ConfigurationError, SessionKitError, StoreUnavailableError

from .config import Settings, Target
from .connecting import Deadline, bound_connects

DEADLOCK_ATTEMPTS = 5
_MYSQL_DUPLICATE_KEY = 1062
_MYSQL_DEADLOCK = 1213
_RETRYABLE_SQLSTATES = frozenset({"40P01"})  # PostgreSQL deadlock_detected
_SQLITE_REFUSALS = ("no such table", "no such column", "table ", "attempt to write a readonly")


def sync_engine(target: Target, settings: Settings, deadline: Deadline) -> Engine:
    """The store's engine; a new network connection is made within ``connect_timeout`` and
    within ``deadline``, the end of the operation under way on the calling thread."""
    options = engine_options(target, settings, target.sync_url.get_driver_name())
    if target.in_memory:
        options.update(poolclass=StaticPool, connect_args={"check_same_thread": False})
    if target.backend == "sqlite":
        engine = create_engine(target.sync_url, **options)
        if not target.in_memory:
            tune_sqlite(engine, settings.timeout)
        return engine
    # The store pings a connection itself, under its watchdog: a ping made by the pool as it
    # hands the connection out would wait for a frozen server with nothing to bound it.
    options["pool_pre_ping"] = False
    engine = create_engine(target.sync_url, **options)
    bound_connects(engine, deadline, settings, target.masked)
    return engine


def engine_options(target: Target, settings: Settings, driver: str) -> dict[str, Any]:
    """The :func:`sqlalchemy.create_engine` arguments for ``driver``."""
    options: dict[str, Any] = {"isolation_level": "AUTOCOMMIT", "hide_parameters": True}
    options.update(settings.pool)
    if target.backend != "sqlite":
        options["pool_pre_ping"] = settings.pre_ping
    given = target.sync_url.query
    connect_args = {
        name: value
        for name, value in _timeouts(driver, settings).items()
        if name not in given  # an option of the driver's in the URL wins
    }
    if connect_args:
        options["connect_args"] = connect_args
    return options


def _timeouts(driver: str, settings: Settings) -> dict[str, Any]:
    # On PostgreSQL, JIT compilation off as well: a session store's statements are tiny, and
    # a catalog grown by many tables made and dropped can lead the planner to compile the
    # table check's queries, 300 ms each on a busy machine, past the operation's timeout.
    milliseconds = max(1, round(settings.timeout * 1000))
    if driver in ("psycopg", "psycopg2"):
        return {
            "connect_timeout": max(2, math.ceil(settings.connect_timeout)),
            "options": f"-c statement_timeout={milliseconds} -c jit=off",
        }
    if driver == "asyncpg":
        return {
            "timeout": settings.connect_timeout,
            "server_settings": {"statement_timeout": str(milliseconds), "jit": "off"},
        }
    if driver == "pymysql":
        return {
            "connect_timeout": settings.connect_timeout,
            "read_timeout": settings.timeout,
            "write_timeout": settings.timeout,
        }
    if driver == "mysqldb":
        return {
            "connect_timeout": math.ceil(settings.connect_timeout),
            "read_timeout": math.ceil(settings.timeout),
            "write_timeout": math.ceil(settings.timeout),
        }
    if driver in ("aiomysql", "asyncmy"):
        return {"connect_timeout": settings.connect_timeout}
    return {}


def tune_sqlite(engine: Engine, busy_timeout: float) -> None:
    milliseconds = max(1, round(busy_timeout * 1000))

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {milliseconds:d}")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        finally:
            cursor.close()


class StaleConnection(Exception):
    """A pooled connection turned out to be dead and SQLAlchemy has invalidated it: the
    statement may run once more, on a fresh connection."""


def _reason(error: BaseException) -> str:
    cause = error.orig if isinstance(error, DBAPIError) and error.orig is not None else error
    text = str(cause).strip()
    return text.splitlines()[0] if text else type(cause).__name__


def unavailable(target: Target, error: BaseException | str) -> StoreUnavailableError:
    """The error for a connection that could not be made, was lost or did not answer."""
    reason = error if isinstance(error, str) else _reason(error)
    return StoreUnavailableError(target.masked, reason)


def timed_out(target: Target, settings: Settings) -> StoreUnavailableError:
    """The error of an operation that did not end within the store's ``timeout``."""
    return unavailable(target, f"no answer within {settings.timeout:g} s")


def watched_failure(
    error: DBAPIError, deadline_passed: bool, target: Target, settings: Settings
) -> Exception | None:
    """What a driver error met under the watch of an operation's deadline means: the
    store's timeout when the deadline shut the connection, :class:`StaleConnection` when the
    connection was found dead, or None: the error stands as it is. The store and its async
    twin alike."""
    if deadline_passed:
        return timed_out(target, settings)
    if error.connection_invalidated:
        return StaleConnection()
    return None


def translate(target: Target, error: Exception) -> SessionKitError:
    """The :class:`~sessionkit.SessionKitError` a store raises (``from error``) for a
    database or pool error: unavailable for lost connections, a full pool, lock and
    statement timeouts and the like; a configuration error for statements the database
    refuses (a table of another shape, missing rights); a plain one otherwise."""
    reason = _reason(error)
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return unavailable(target, reason)
    # SQLite reports a missing table or column as an operational error.
    refused = isinstance(error, ProgrammingError) or reason.startswith(_SQLITE_REFUSALS)
    if isinstance(error, (OperationalError, PoolTimeoutError)) and not refused:
        return unavailable(target, reason)
    if refused:
        return ConfigurationError(
            f"session store {target.masked}: the database refused a statement: {reason}"
        )
    return SessionKitError(f"session store {target.masked}: {reason}")


#: What a step that allows a duplicate key yields back when the key was taken.
DUPLICATE = object()


def settle(target: Target, step_allows_duplicate: bool, error: Exception) -> object:
    """What a step that raised ``error`` comes to: :data:`DUPLICATE` when the step allows a
    duplicate key and that is what it met; otherwise this raises the sessionkit error for
    ``error`` (from it). Called by the store and its async twin alike."""
    if isinstance(error, IntegrityError) and step_allows_duplicate and is_duplicate_key(error.orig):
        return DUPLICATE
    if isinstance(error, SessionKitError):
        raise error  # a StoreUnavailableError is an OSError too: already translated
    if isinstance(error, SQLAlchemyError):
        raise translate(target, error) from error
    raise unavailable(target, error) from error  # a socket error asyncpg raised as it was


def is_duplicate_key(error: BaseException | None) -> bool:
    """True for MySQL/MariaDB's duplicate-key error (1062) as the driver raised it."""
    return error is not None and bool(error.args) and error.args[0] == _MYSQL_DUPLICATE_KEY


def is_deadlock(error: DBAPIError) -> bool:
    """True when the server chose this statement as a deadlock victim and rolled it back.

    InnoDB does this even to single-row statements: an UPDATE that moves ``expires_at`` and a
    DELETE of the same row can lock the old and new entries of the expiry index in opposite
    orders. The statement had no effect, so running it again is safe.
    """
    orig = error.orig
    if orig is None:
        return False
    if getattr(orig, "sqlstate", None) in _RETRYABLE_SQLSTATES:
        return True
    return bool(orig.args) and orig.args[0] == _MYSQL_DEADLOCK
