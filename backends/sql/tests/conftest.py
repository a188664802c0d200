"""Databases for the tests: PostgreSQL and MariaDB on 127.0.0.1 (URLs overridable by
environment variable) and SQLite files in temporary directories. Every test class or test
writes to a table of its own, dropped afterwards."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path

import pytest
from sessionkit_sql import SQLStore, session_table
from sessionkit_sql.config import split_url
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

from sessionkit.testing import require_server

POSTGRESQL_URL = os.environ.get(
    "SESSIONKIT_POSTGRESQL_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
MARIADB_URL = os.environ.get("SESSIONKIT_MARIADB_URL", "mariadb+pymysql://root@127.0.0.1:3306/test")

TableFactory = Callable[[str], str]


def with_options(url: str, **options: str) -> str:
    return make_url(url).update_query_dict(options).render_as_string(hide_password=False)


def _require(url: str, what: str) -> str:
    parsed = make_url(url)
    require_server(parsed.host or "127.0.0.1", parsed.port or 0, what)
    return url


@pytest.fixture(scope="session")
def postgresql_url() -> str:
    return _require(POSTGRESQL_URL, "PostgreSQL")


@pytest.fixture(scope="session")
def asyncpg_url(postgresql_url: str) -> str:
    return make_url(postgresql_url).set(drivername="postgresql+asyncpg").render_as_string(False)


@pytest.fixture(scope="session")
def mariadb_url() -> str:
    return _require(MARIADB_URL, "MariaDB")


@pytest.fixture(scope="session")
def aiomysql_url(mariadb_url: str) -> str:
    return make_url(mariadb_url).set(drivername="mysql+aiomysql").render_as_string(False)


@pytest.fixture(scope="session")
def asyncmy_url(mariadb_url: str) -> str:
    return make_url(mariadb_url).set(drivername="mysql+asyncmy").render_as_string(False)


@pytest.fixture(scope="class")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'sessions.db'}"


@pytest.fixture(scope="class")
def aiosqlite_url(sqlite_url: str) -> str:
    return sqlite_url.replace("sqlite:", "sqlite+aiosqlite:", 1)


def _drop(url: str, name: str) -> None:
    engine = create_engine(split_url(url)[0].sync_url)
    try:
        session_table(name).drop(engine, checkfirst=True)
    finally:
        engine.dispose()


# Seconds the tests' own making of a table may take. On a server busy with the suite's churn
# of tables, a CREATE TABLE can take longer than an operation's timeout; the stores under test
# then only check the table, as they would in production, where it exists.
MAKING_TIMEOUT = 30


def _tables(*, made: bool) -> Iterator[TableFactory]:
    named: list[tuple[str, str]] = []

    def table_url(base: str) -> str:
        name = f"sk_test_{uuid.uuid4().hex[:16]}"
        named.append((base, name))
        url = with_options(base, table=name)
        if made:
            with closing(SQLStore(url, timeout=MAKING_TIMEOUT)) as creator:
                creator.initialize()
        return url

    yield table_url
    for base, name in named:
        _drop(base, name)


@pytest.fixture(scope="class")
def class_table() -> Iterator[TableFactory]:
    """``class_table(base_url)``: the URL of a fresh table, made, and dropped after the test
    class."""
    yield from _tables(made=True)


@pytest.fixture
def new_table() -> Iterator[TableFactory]:
    """``new_table(base_url)``: the URL of a fresh table, made, and dropped after the test."""
    yield from _tables(made=True)


@pytest.fixture
def table_name() -> Iterator[TableFactory]:
    """``table_name(base_url)``: the URL of a table that does not exist yet (dropped after the
    test, if it made one)."""
    yield from _tables(made=False)


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each database in turn, for tests of SQL behaviour beyond the contract."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'sessions.db'}"
    return str(request.getfixturevalue(f"{request.param}_url"))
