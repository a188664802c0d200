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
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from sessionkit.errors import ConfigurationError
from sessionkit.url import StoreOptions, StoreURL, check_userinfo

DEFAULT_TABLE = "sessionkit_sessions"
_TABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,47}")

#: Every option of a SQL store with its default (None: see :class:`Settings`).
OPTION_DEFAULTS: Mapping[str, object] = MappingProxyType(
    {
        "table": DEFAULT_TABLE,
        "create_table": True,
        "purge_batch_size": 1000,
        "timeout": 2.0,
        "connect_timeout": 2.0,
        "pre_ping": False,
        "pool_size": 5,
        "max_overflow": 10,
        "pool_timeout": None,
        "pool_recycle": 0,
    }
)
OPTIONS = tuple(OPTION_DEFAULTS)


@dataclass(frozen=True)
class Settings:
    """sessionkit's own options of a SQL store, read by :func:`read_settings`.

    :param timeout: seconds one operation may take, waits for a pooled connection and for
        locks included (SQLite: its busy timeout).
    :param connect_timeout: seconds to open a connection (libpq waits at least 2).
    :param pool: :func:`sqlalchemy.create_engine` pool arguments; empty for an in-memory
        SQLite database, which is one shared connection.
    """

    table: str
    create_table: bool
    purge_batch_size: int
    timeout: float
    connect_timeout: float
    pre_ping: bool
    pool: Mapping[str, Any]


def read_settings(
    target: Target, url_options: dict[str, str], keywords: Mapping[str, Any]
) -> Settings:
    """The settings from the URL's options and the keyword options (which win)."""
    parsed = StoreURL(target.masked, "", None, None, (), "", url_options)
    options = StoreOptions(parsed, keywords, OPTION_DEFAULTS)
    table = options.text("table") or DEFAULT_TABLE
    if not _TABLE_NAME.fullmatch(table):
        raise ConfigurationError(
            f"table name {table!r}: use letters, digits and '_' (at most 48, "
            "not starting with a digit)"
        )
    timeout = options.seconds("timeout")
    pool_names = ("pool_size", "max_overflow", "pool_timeout", "pool_recycle")
    pool: dict[str, Any] = {}
    if target.in_memory:
        given = [name for name in pool_names if options.given(name)]
        if given:
            raise ConfigurationError(
                f"{target.masked}: an in-memory SQLite database is one connection; "
                f"{', '.join(given)} do not apply"
            )
    else:
        recycle = options.count("pool_recycle")
        pool = {
            "pool_size": options.count("pool_size", minimum=1),
            "max_overflow": options.count("max_overflow"),
            "pool_timeout": (
                options.seconds("pool_timeout") if options.given("pool_timeout") else timeout
            ),
            "pool_recycle": recycle or -1,
        }
    return Settings(
        table=table,
        create_table=options.flag("create_table"),
        purge_batch_size=options.count("purge_batch_size", minimum=1),
        timeout=timeout,
        connect_timeout=options.seconds("connect_timeout"),
        pre_ping=options.flag("pre_ping"),
        pool=MappingProxyType(pool),
    )


# Query options SQLAlchemy's pysqlite/aiosqlite dialects pass on; anything else is dropped by
# SQLAlchemy with a warning unless ``uri=true``, so it is rejected here instead.
_SQLITE_DRIVER_OPTIONS = frozenset(
    {"detect_types", "check_same_thread", "cached_statements", "uri"}
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


def split_url(url: str | URL) -> tuple[Target, dict[str, str]]:
    """Return where to connect and sessionkit's options, as text, taken from the query."""
    masked = _mask(url)
    if isinstance(url, str):
        check_userinfo(url)
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
    return _target(parsed, masked), ours


def _mask(url: str | URL) -> str:
    if isinstance(url, URL):
        return url.render_as_string(hide_password=True)
    return StoreURL(url, "", None, None, (), "").masked


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
