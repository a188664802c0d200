"""Dead and frozen database servers, through a TCP relay: the shipped fault contract on
PostgreSQL and MariaDB, for the synchronous store and for each native async twin."""

from __future__ import annotations

from contextlib import closing
from typing import ClassVar

import pytest
from sessionkit_sql import SQLStore
from sqlalchemy.engine import make_url

from sessionkit.store import Store
from sessionkit.testing import FaultContract

from .conftest import TableFactory


class RelayedSQL(FaultContract):
    database: ClassVar[str]  # the fixture giving the database's URL
    url: str

    @pytest.fixture(autouse=True)
    def _table(self, request: pytest.FixtureRequest, new_table: TableFactory) -> None:
        self.url = new_table(request.getfixturevalue(self.database))
        with closing(SQLStore(self.url)) as creator:  # through the real server
            creator.initialize()

    def server_address(self) -> tuple[str, int]:
        parsed = make_url(self.url)
        assert parsed.host is not None
        assert parsed.port is not None
        return parsed.host, parsed.port

    def create_store_via(self, host: str, port: int) -> Store:
        url = make_url(self.url).set(host=host, port=port).render_as_string(hide_password=False)
        return SQLStore.from_url(url, timeout=self.timeout, connect_timeout=self.timeout)


class TestPostgreSQLFaults(RelayedSQL):
    database = "postgresql_url"
    timeout = 2.0  # libpq waits at least 2 s for a new connection, whatever it is told


class TestAsyncpgFaults(RelayedSQL):
    database = "asyncpg_url"
    timeout = 2.0  # the synchronous side of the store is libpq's


class TestMariaDBFaults(RelayedSQL):
    database = "mariadb_url"


class TestAiomysqlFaults(RelayedSQL):
    database = "aiomysql_url"


class TestAsyncmyFaults(RelayedSQL):
    database = "asyncmy_url"
