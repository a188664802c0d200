"""Reading a SQL store URL: sessionkit's own options out of the query, the drivers to use.

The URL is parsed with SQLAlchemy's :func:`~sqlalchemy.engine.make_url`. Query options that
belong to sessionkit (:data:`OPTIONS`) are removed before the URL reaches the driver; every
other option is the driver's. An option that looks like a misspelt sessionkit option is an
error rather than something handed to the driver to ignore.
"""

from __future__ import annotations

import difflib
import importlib.util
import re
from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from sessionkit.errors import ConfigurationError
from sessionkit.url import StoreURL

DEFAULT_TABLE = "sessionkit_sessions"
_TABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,47}")


@dataclass(frozen=True)
class Settings:
    """sessionkit's own options of a SQL store; ``None`` leaves SQLAlchemy's default."""

    table: str = DEFAULT_TABLE
    create_table: bool = True
    purge_batch_size: int = 1000
    pre_ping: bool = False
    busy_timeout: float = 5.0
    pool_size: int | None = None
    max_overflow: int | None = None
    pool_timeout: float | None = None
    pool_recycle: int | None = None

    def __post_init__(self) -> None:
        if not _TABLE_NAME.fullmatch(self.table):
            raise ConfigurationError(
                f"table name {self.table!r}: use letters, digits and '_' (at most 48, "
                "not starting with a digit)"
            )
        if self.purge_batch_size < 1:
            raise ConfigurationError("purge_batch_size must be at least 1")
        if self.busy_timeout <= 0:
            raise ConfigurationError("busy_timeout must be a positive number of seconds")

    @property
    def pool_options(self) -> dict[str, Any]:
        """The pool settings that were given, as :func:`sqlalchemy.create_engine` arguments."""
        given = {
            "pool_size": self.pool_size,
            "max_overflow": self.max_overflow,
            "pool_timeout": self.pool_timeout,
            "pool_recycle": self.pool_recycle,
        }
        return {name: value for name, value in given.items() if value is not None}


OPTIONS = tuple(field.name for field in fields(Settings))

# Query options SQLAlchemy's pysqlite/aiosqlite dialects pass on; anything else is dropped by
# SQLAlchemy with a warning unless ``uri=true``, so it is rejected here instead.
_SQLITE_DRIVER_OPTIONS = frozenset(
    {"timeout", "detect_types", "check_same_thread", "cached_statements", "uri"}
)
_ASYNC_TO_SYNC = {
    "asyncpg": "psycopg",
    "psycopg_async": "psycopg",
    "aiosqlite": "pysqlite",
    "aiomysql": "pymysql",
    "asyncmy": "pymysql",
}
# The drivers of this distribution's extras, chosen when the URL names no driver.
_PREFERRED_DRIVER = {"postgresql": "psycopg", "mysql": "pymysql", "mariadb": "pymysql"}
_DRIVER_MODULE = {"psycopg": "psycopg", "pymysql": "pymysql"}
_BACKENDS = frozenset({"sqlite", "postgresql", "mysql", "mariadb"})


@dataclass(frozen=True)
class Target:
    """Where a store connects: the URL for its sync engine and, if any, its async engine."""

    sync_url: URL
    async_url: URL | None
    masked: str

    @property
    def backend(self) -> str:
        return self.sync_url.get_backend_name()

    @property
    def in_memory(self) -> bool:
        """True for an SQLite database that lives in this process only."""
        database = self.sync_url.database or ""
        return self.backend == "sqlite" and database in ("", ":memory:")


def split_url(url: str | URL) -> tuple[Target, dict[str, Any]]:
    """Return where to connect and sessionkit's options (typed) taken from the query."""
    masked = _mask(url)
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigurationError(f"not a SQL store URL: {masked!r} ({exc})") from None
    if parsed.get_backend_name() not in _BACKENDS:
        raise ConfigurationError(
            f"{masked}: sessionkit-sql serves sqlite, postgresql, mysql and mariadb URLs"
        )
    ours: dict[str, str] = {}
    for name, value in parsed.query.items():
        if name in OPTIONS:
            if not isinstance(value, str):
                raise ConfigurationError(f"option {name!r} is given twice in {masked}")
            ours[name] = value
    parsed = parsed.difference_update_query(ours)
    _reject_near_misses(parsed, masked)
    return _target(parsed, masked), _typed_options(StoreURL(masked, "", None, None, (), "", ours))


def _mask(url: str | URL) -> str:
    if isinstance(url, URL):
        return url.render_as_string(hide_password=True)
    return StoreURL(url, "", None, None, (), "").masked


def _typed_options(url: StoreURL) -> dict[str, Any]:
    options: dict[str, Any] = {}
    readers: dict[str, Any] = {
        "table": lambda: url.str_option("table", DEFAULT_TABLE),
        "create_table": lambda: url.bool_option("create_table", True),
        "pre_ping": lambda: url.bool_option("pre_ping", False),
        "purge_batch_size": lambda: url.int_option("purge_batch_size", 1000, minimum=1),
        "pool_size": lambda: url.int_option("pool_size", 5, minimum=1),
        "max_overflow": lambda: url.int_option("max_overflow", 10, minimum=0),
        "pool_timeout": lambda: url.float_option("pool_timeout", None),
        "pool_recycle": lambda: url.int_option("pool_recycle", 0, minimum=1),
        "busy_timeout": lambda: url.float_option("busy_timeout", None),
    }
    for name in url.options:
        options[name] = readers[name]()
    return options


def _reject_near_misses(url: URL, masked: str) -> None:
    """Raise for query options that look like sessionkit's or that the driver would drop."""
    sqlite_uri = url.query.get("uri") in ("true", "1")
    for name in url.query:
        close = difflib.get_close_matches(name, list(OPTIONS), n=1, cutoff=0.8)
        if close:
            raise ConfigurationError(
                f"unknown option {name!r} in {masked}; did you mean {close[0]!r}? "
                f"(sessionkit options: {', '.join(sorted(OPTIONS))})"
            )
        sqlite_drops_it = url.get_backend_name() == "sqlite" and not sqlite_uri
        if sqlite_drops_it and name not in _SQLITE_DRIVER_OPTIONS:
            raise ConfigurationError(
                f"unknown option {name!r} in {masked} (sessionkit options: "
                f"{', '.join(sorted(OPTIONS))}; SQLite driver options: "
                f"{', '.join(sorted(_SQLITE_DRIVER_OPTIONS))})"
            )


def _target(url: URL, masked: str) -> Target:
    backend, driver = url.get_backend_name(), _named_driver(url)
    if driver in _ASYNC_TO_SYNC:
        if backend == "sqlite" and (url.database or "") in ("", ":memory:"):
            raise ConfigurationError(
                f"{masked}: an in-memory SQLite database cannot be shared between the store "
                "and its async twin; name a database file"
            )
        sync_driver = _ASYNC_TO_SYNC[driver]
        sync = url.set(drivername=f"{backend}+{sync_driver}")
        return Target(sync, url, masked)
    if driver is None and backend in _PREFERRED_DRIVER:
        preferred = _PREFERRED_DRIVER[backend]
        if importlib.util.find_spec(_DRIVER_MODULE[preferred]) is not None:
            url = url.set(drivername=f"{backend}+{preferred}")
    return Target(url, None, masked)


def _named_driver(url: URL) -> str | None:
    _, plus, driver = url.drivername.partition("+")
    return driver if plus else None
