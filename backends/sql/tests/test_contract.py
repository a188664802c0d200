"""The shipped store contract on SQLite (file), PostgreSQL and MariaDB, and through the
native async twin on aiosqlite, asyncpg, aiomysql and asyncmy; each class in a table of its own."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

import pytest

import sessionkit
from sessionkit.store import HasNativeAsync, Store
from sessionkit.testing import StoreContract

from .conftest import MAKING_TIMEOUT


class SQLContract(StoreContract):
    database: ClassVar[str]  # the fixture giving the database's URL
    native_async: ClassVar[bool] = False
    frozen_clock = True  # expiry is decided on the store's clock, not the server's

    url: ClassVar[str]

    @pytest.fixture(autouse=True, scope="class")
    @classmethod
    def _table(cls, request: pytest.FixtureRequest, class_table: Callable[[str], str]) -> None:
        cls.url = class_table(request.getfixturevalue(cls.database))

    def create_store(self) -> Store:
        # The contract is about behaviour, not timing (the fault tests hold the timeouts):
        # a store here waits longer than the default 2 s, which a MariaDB connection on a
        # server busy with the suite's churn of tables has outlasted in CI.
        store = sessionkit.open_store(self.url, clock=self.clock, timeout=MAKING_TIMEOUT)
        assert isinstance(store, HasNativeAsync) is self.native_async
        return store


class TestSQLiteFile(SQLContract):
    database = "sqlite_url"


class TestSQLiteAiosqlite(SQLContract):
    database = "aiosqlite_url"
    native_async = True


class TestPostgreSQL(SQLContract):
    database = "postgresql_url"


class TestPostgreSQLAsyncpg(SQLContract):
    database = "asyncpg_url"
    native_async = True


class TestMariaDB(SQLContract):
    database = "mariadb_url"


class TestMariaDBAiomysql(SQLContract):
    database = "aiomysql_url"
    native_async = True


class TestMariaDBAsyncmy(SQLContract):
    database = "asyncmy_url"
    native_async = True
