"""Dead and frozen database servers, through a TCP relay: the shipped fault contract on
PostgreSQL and MariaDB, for the synchronous store and for each native async twin; and an
operation that waits for a pooled connection, then opens one, within its timeout."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from typing import ClassVar

import pytest
from sessionkit_sql import AsyncCapableSQLStore, SQLStore
from sqlalchemy import Engine, event
from sqlalchemy.engine import make_url

from sessionkit.errors import StoreUnavailableError
from sessionkit.ids import new_session_id
from sessionkit.netutil import TCPRelay
from sessionkit.store import Store
from sessionkit.testing import FaultContract
from sessionkit.testing.drivers import facade_for

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


class TestAsyncpgFaults(RelayedSQL):
    database = "asyncpg_url"


class TestMariaDBFaults(RelayedSQL):
    database = "mariadb_url"


class TestAiomysqlFaults(RelayedSQL):
    database = "aiomysql_url"


class TestAsyncmyFaults(RelayedSQL):
    database = "asyncmy_url"


TIMEOUT = 0.5
GRACE = 0.2  # scheduling, and the error's way out of the driver and SQLAlchemy
ONE_CONNECTION = {"timeout": TIMEOUT, "connect_timeout": TIMEOUT, "pool_size": 1, "max_overflow": 0}


@pytest.fixture(
    params=["postgresql_url", "mariadb_url", "asyncpg_url", "aiomysql_url", "asyncmy_url"]
)
def one_connection(
    request: pytest.FixtureRequest, new_table: TableFactory
) -> Iterator[tuple[Store, Engine, TCPRelay]]:
    """Through a relay, a store (or the async twin of one, behind a synchronous face) with a
    single pooled connection, opened already; its engine and the relay."""
    url = new_table(request.getfixturevalue(request.param))
    with closing(SQLStore(url)) as creator:  # through the real server
        creator.initialize()
    parsed = make_url(url)
    assert parsed.host is not None
    assert parsed.port is not None
    with TCPRelay((parsed.host, parsed.port)) as relay:
        host, port = relay.address
        relayed = parsed.set(host=host, port=port).render_as_string(hide_password=False)
        store = SQLStore.from_url(relayed, **ONE_CONNECTION)
        with closing(store):
            face: Store = store
            engine = store._engine or store._start()
            if isinstance(store, AsyncCapableSQLStore):
                face = facade_for(store.async_store)
                engine = face.twin._engine.sync_engine  # type: ignore[attr-defined]
            face.get(new_session_id())
            try:
                yield face, engine, relay
            finally:
                relay.restore()
                if face is not store:
                    face.close()


def test_waiting_for_a_connection_and_opening_one_fit_in_the_timeout(
    one_connection: tuple[Store, Engine, TCPRelay],
) -> None:
    """The pooled connection is taken by an operation that hangs; a second operation waits
    for it, gets it back dropped at the first one's deadline and must open a new one: that
    ends at the second operation's own deadline, not a connect timeout later."""
    store, engine, relay = one_connection
    taken = threading.Event()
    event.listen(engine, "checkout", lambda *_: taken.set())
    relay.hang()
    with ThreadPoolExecutor(1) as pool:
        hung = pool.submit(store.get, new_session_id())
        assert taken.wait(5)
        # The second operation starts halfway through the first, so that the connection
        # comes back while it waits, with half its timeout left.
        time.sleep(TIMEOUT / 2)
        started = time.monotonic()
        with pytest.raises(StoreUnavailableError) as caught:
            store.get(new_session_id())
        elapsed = time.monotonic() - started
        with pytest.raises(StoreUnavailableError):
            hung.result()
    assert str(caught.value).count("is unavailable") == 1
    assert elapsed <= TIMEOUT + GRACE, f"{elapsed:.3f} s: {caught.value}"
