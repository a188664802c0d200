"""Building the SQLAlchemy engines of a store, and telling lost connections from other errors.

Every engine runs in autocommit mode: each operation is one statement, atomic on its own, so
a transaction around it would only add round trips. Statement parameters are kept out of
error messages and logs (they hold session ids). SQLite file databases get WAL journaling,
``synchronous=NORMAL`` (safe with WAL; a power cut may lose the last commits, never corrupt)
and a busy timeout on every new connection; an in-memory database is one shared connection.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import StaticPool

from sessionkit.errors import StoreUnavailableError

from .config import Settings, Target

DEADLOCK_ATTEMPTS = 5
_MYSQL_DUPLICATE_KEY = 1062
_MYSQL_DEADLOCK = 1213
_RETRYABLE_SQLSTATES = frozenset({"40P01"})  # PostgreSQL deadlock_detected


def sync_engine(target: Target, settings: Settings) -> Engine:
    options = engine_options(target, settings)
    if target.in_memory:
        options.update(poolclass=StaticPool, connect_args={"check_same_thread": False})
    engine = create_engine(target.sync_url, **options)
    if target.backend == "sqlite" and not target.in_memory:
        tune_sqlite(engine, settings.busy_timeout)
    return engine


def unavailable(target: Target, error: BaseException) -> StoreUnavailableError:
    """The error to raise for a connection that could not be made or was lost."""
    cause = error.orig if isinstance(error, DBAPIError) and error.orig is not None else error
    reason = str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause).__name__
    return StoreUnavailableError(target.masked, reason)


class StaleConnection(Exception):
    """A pooled connection turned out to be dead and SQLAlchemy has invalidated the pool: the
    statement may run once more, on a fresh connection."""


def connection_lost(target: Target, error: DBAPIError, *, retry: bool) -> Exception | None:
    """What a store raises instead of ``error``, met while using a connection.

    ``None`` when the connection is fine: ``error`` is the database's answer and is raised as
    it is. For a lost connection, :class:`StaleConnection` when ``retry`` allows one more try,
    the store's :class:`~sessionkit.errors.StoreUnavailableError` when it does not.
    """
    if not error.connection_invalidated:
        return None
    return StaleConnection() if retry else unavailable(target, error)


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


def engine_options(target: Target, settings: Settings) -> dict[str, Any]:
    options: dict[str, Any] = {"isolation_level": "AUTOCOMMIT", "hide_parameters": True}
    options.update(settings.pool_options)
    if target.backend != "sqlite":
        options["pool_pre_ping"] = settings.pre_ping
    return options


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
