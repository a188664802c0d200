"""Dead and frozen database servers, through a TCP relay: the shipped fault contract on
PostgreSQL and MariaDB, for the synchronous store and for each native async twin; and an
operation that waits for a pooled connection, then opens one, within its timeout."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing, contextmanager
from typing import ClassVar

import pymysql
import pytest
from sessionkit_sql import AsyncCapableSQLStore, SQLStore
from sessionkit_sql.watchdog import socket_of
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


@contextmanager
def relayed_store(url: str, **options: object) -> Iterator[tuple[Store, Engine, TCPRelay]]:
    """Through a relay, a store (or the async twin of one, behind a synchronous face) with a
    single pooled connection, opened already; its engine and the relay."""
    with closing(SQLStore(url)) as creator:  # through the real server
        creator.initialize()
    parsed = make_url(url)
    assert parsed.host is not None
    assert parsed.port is not None
    with TCPRelay((parsed.host, parsed.port)) as relay:
        host, port = relay.address
        relayed = parsed.set(host=host, port=port).render_as_string(hide_password=False)
        store = SQLStore.from_url(relayed, **ONE_CONNECTION, **options)
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


@pytest.fixture(
    params=["postgresql_url", "mariadb_url", "asyncpg_url", "aiomysql_url", "asyncmy_url"]
)
def one_connection(
    request: pytest.FixtureRequest, new_table: TableFactory
) -> Iterator[tuple[Store, Engine, TCPRelay]]:
    with relayed_store(new_table(request.getfixturevalue(request.param))) as relayed:
        yield relayed


@pytest.fixture(params=["postgresql_url", "mariadb_url"])
def sync_database(request: pytest.FixtureRequest, new_table: TableFactory) -> str:
    return new_table(request.getfixturevalue(request.param))


def assert_unavailable_in_time(operation: Callable[[], object]) -> None:
    started = time.monotonic()
    with pytest.raises(StoreUnavailableError) as caught:
        operation()
    elapsed = time.monotonic() - started
    assert str(caught.value).count("is unavailable") == 1
    assert elapsed <= TIMEOUT + GRACE, f"{elapsed:.3f} s: {caught.value}"


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
        assert_unavailable_in_time(lambda: store.get(new_session_id()))
        with pytest.raises(StoreUnavailableError):
            hung.result()


def test_a_statement_after_a_wait_for_a_connection_fits_in_the_timeout(
    sync_database: str,
) -> None:
    """An operation waits for the one pooled connection, gets it back alive, and the server
    freezes: its statement ends at the operation's deadline, not a read timeout later.
    (Synchronous stores only: holding a connection back from a listener would stop an async
    twin's event loop, and the operation under test with it.)"""
    with relayed_store(sync_database) as (store, engine, relay):
        holding, release = threading.Event(), threading.Event()

        def hold(*_: object) -> None:  # the first operation keeps the connection a while
            if not holding.is_set():
                holding.set()
                release.wait(5)

        event.listen(engine, "checkin", hold)
        with ThreadPoolExecutor(2) as pool:
            first = pool.submit(store.get, new_session_id())
            assert holding.wait(5)
            second = pool.submit(assert_unavailable_in_time, lambda: store.get(new_session_id()))
            time.sleep(TIMEOUT / 2)  # the second operation waits for the connection meanwhile
            relay.hang()
            release.set()
            first.result()
            second.result()


def test_a_ping_before_the_statement_fits_in_the_timeout(sync_database: str) -> None:
    with relayed_store(sync_database, pre_ping=True) as (store, _, relay):
        relay.hang()
        assert_unavailable_in_time(lambda: store.get(new_session_id()))


def test_the_watchdog_finds_pymysql_sockets(mariadb_url: str) -> None:
    """PyMySQL has no public name for its connection's socket; the store reads ``_sock``."""
    parsed = make_url(mariadb_url)
    connection = pymysql.connect(
        host=parsed.host, port=parsed.port, user=parsed.username, database=parsed.database
    )
    try:
        fileno = socket_of(connection)
        assert fileno is not None
        with socket.socket(fileno=os.dup(fileno)) as sock:
            assert sock.getpeername() == (parsed.host, parsed.port)
    finally:
        connection.close()


@pytest.mark.parametrize(
    "database", ["postgresql_url", "mariadb_url", "asyncpg_url", "aiomysql_url", "asyncmy_url"]
)
def test_a_server_that_freezes_while_the_table_is_checked_costs_at_most_the_timeout(
    database: str, request: pytest.FixtureRequest, new_table: TableFactory
) -> None:
    """A store's first operation checks its table (and creates it if missing) on the first
    connection it opens; a server that freezes right after that connection is made fails the
    operation within the timeout too."""
    url = new_table(request.getfixturevalue(database))
    parsed = make_url(url)
    with TCPRelay((parsed.host or "", parsed.port or 0)) as relay:
        host, port = relay.address
        relayed = parsed.set(host=host, port=port).render_as_string(hide_password=False)
        store = SQLStore.from_url(relayed, **ONE_CONNECTION)
        face: Store = store
        if isinstance(store, AsyncCapableSQLStore):
            face = facade_for(store.async_store)

        def freeze(*_: object) -> None:
            relay.hang()

        event.listen(Engine, "engine_connect", freeze)
        try:
            with ThreadPoolExecutor(1) as pool:
                first = pool.submit(assert_unavailable_in_time, lambda: face.get(new_session_id()))
                try:
                    first.result(timeout=10)
                finally:
                    relay.restore()
        finally:
            event.remove(Engine, "engine_connect", freeze)
            if face is not store:
                face.close()
            store.close()
