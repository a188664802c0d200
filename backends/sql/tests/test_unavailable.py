"""Lost and refused connections become StoreUnavailableError (password masked); the pool
recovers once the server is back; every other database error becomes a sessionkit error."""

from __future__ import annotations

import asyncio
import socket
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import closing, suppress
from pathlib import Path
from typing import Any

import pytest
from sessionkit_sql import SQLStore
from sessionkit_sql.engine import StaleConnection
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from sessionkit.errors import ConfigurationError, StoreUnavailableError
from sessionkit.ids import new_session_id
from sessionkit.store import as_async
from sessionkit.testing import free_port

TableFactory = Callable[[str], str]


@pytest.mark.parametrize("driver", ["postgresql+psycopg", "mariadb+pymysql"])
def test_refused_connection_is_unavailable_with_masked_url(driver: str) -> None:
    store = SQLStore(f"{driver}://app:hunter2@127.0.0.1:{free_port()}/test")
    with pytest.raises(StoreUnavailableError) as caught:
        store.get(new_session_id())
    assert "hunter2" not in str(caught.value)
    assert "***" in caught.value.url


@pytest.mark.parametrize("driver", ["postgresql+asyncpg", "mysql+aiomysql", "mysql+asyncmy"])
def test_refused_connection_is_unavailable_for_the_async_twin(driver: str) -> None:
    store = SQLStore.from_url(f"{driver}://app:hunter2@127.0.0.1:{free_port()}/test")

    async def scenario() -> None:
        astore = as_async(store)
        try:
            with pytest.raises(StoreUnavailableError) as caught:
                await astore.get(new_session_id())
            assert "hunter2" not in str(caught.value)
        finally:
            await astore.close()

    asyncio.run(scenario())


def _kill_connections(postgresql_url: str, table: str) -> None:
    """Terminate every other connection of this database, as a server restart would."""
    engine = create_engine(make_url(postgresql_url), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                "AND query LIKE :table"
            ),
            {"table": f"%{table}%"},
        )
    engine.dispose()


@pytest.mark.parametrize("pre_ping", [False, True])
def test_connections_the_server_dropped_are_replaced_without_an_error(
    postgresql_url: str, new_table: TableFactory, pre_ping: bool
) -> None:
    store = SQLStore(new_table(postgresql_url), pre_ping=pre_ping)
    sid = new_session_id()
    store.set(sid, b"x", 60)
    _kill_connections(postgresql_url, store.table.name)
    assert store.get(sid) == b"x"
    _kill_connections(postgresql_url, store.table.name)
    assert store.replace(sid, b"y", 60) is True
    assert store.get(sid) == b"y"
    store.close()


@pytest.mark.parametrize("pre_ping", [False, True])
def test_the_async_twin_replaces_connections_the_server_dropped(
    postgresql_url: str, asyncpg_url: str, new_table: TableFactory, pre_ping: bool
) -> None:
    store = SQLStore.from_url(new_table(asyncpg_url), pre_ping=pre_ping)
    sid = new_session_id()

    async def scenario() -> None:
        astore = as_async(store)
        try:
            await astore.set(sid, b"x", 60)
            _kill_connections(postgresql_url, store.table.name)
            assert await astore.get(sid) == b"x"
            _kill_connections(postgresql_url, store.table.name)
            assert await astore.replace(sid, b"y", 60) is True
            assert await astore.get(sid) == b"y"
        finally:
            await astore.close()

    asyncio.run(scenario())
    store.close()


def _record_connection_ids(engine: Engine) -> list[int]:
    """The MariaDB ids of the connections ``engine`` opens from now on."""
    ids: list[int] = []

    @event.listens_for(engine, "connect")
    def record(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("SELECT CONNECTION_ID()")
        ids.append(int(cursor.fetchone()[0]))
        cursor.close()

    return ids


def _kill_mariadb_connections(mariadb_url: str, ids: list[int]) -> None:
    engine = create_engine(mariadb_url)
    with engine.connect() as conn:
        for connection_id in ids:
            try:
                conn.execute(text(f"KILL CONNECTION {connection_id:d}"))
            except DBAPIError as exc:
                if exc.orig is None or exc.orig.args[0] != 1094:  # already gone
                    raise
    engine.dispose()


def test_mariadb_connections_the_server_dropped_are_replaced(
    mariadb_url: str, new_table: TableFactory
) -> None:
    url = new_table(mariadb_url)
    with closing(SQLStore(url)) as creator:
        creator.initialize()
    store = SQLStore(url, create_table=False)
    engine = store._start()
    engine.dispose()  # the connection that checked the table: from now on, each one is seen
    ids = _record_connection_ids(engine)
    sid = new_session_id()
    store.set(sid, b"x", 60)
    _kill_mariadb_connections(mariadb_url, ids)
    assert store.get(sid) == b"x"
    _kill_mariadb_connections(mariadb_url, ids)
    assert store.replace(sid, b"y", 60) is True
    assert store.get(sid) == b"y"
    assert len(ids) == 3, "each operation after a kill should run on a new connection"
    store.close()


@pytest.mark.parametrize("driver", ["mysql+aiomysql", "mysql+asyncmy"])
def test_the_async_twin_on_mariadb_replaces_connections_the_server_dropped(
    mariadb_url: str, new_table: TableFactory, driver: str
) -> None:
    url = make_url(new_table(mariadb_url)).set(drivername=driver)
    store = SQLStore.from_url(url.render_as_string(hide_password=False))
    sid = new_session_id()

    async def scenario() -> None:
        astore = as_async(store)
        ids = _record_connection_ids(astore._engine.sync_engine)
        try:
            await astore.set(sid, b"x", 60)
            _kill_mariadb_connections(mariadb_url, ids)
            assert await astore.get(sid) == b"x"
            _kill_mariadb_connections(mariadb_url, ids)
            assert await astore.replace(sid, b"y", 60) is True
            assert await astore.get(sid) == b"y"
            assert len(ids) == 3, "each operation after a kill should run on a new connection"
        finally:
            await astore.close()

    asyncio.run(scenario())
    store.close()


class Relay:
    """A TCP relay from a free loopback port to a database server. ``stop()`` closes every
    relayed connection and stops listening, as the server going down would; ``start()``
    listens again on the same port, as the server coming back would."""

    def __init__(self, server_url: str) -> None:
        server = make_url(server_url)
        self.upstream = (server.host or "127.0.0.1", server.port or 0)
        self.url = server.set(host="127.0.0.1", port=free_port())
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()

    def start(self) -> None:
        listener = socket.create_server(("127.0.0.1", self.url.port or 0))
        with self._lock:
            self._sockets.append(listener)
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def stop(self) -> None:
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)  # also wakes a listener blocked in accept()
            sock.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream)
            with self._lock:
                self._sockets += [client, server]
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        with suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with suppress(OSError):
            sink.shutdown(socket.SHUT_WR)


@pytest.fixture
def relay() -> Iterator[Callable[[str], Relay]]:
    """``relay(server_url)``: a started :class:`Relay` to that server, stopped afterwards."""
    made: list[Relay] = []

    def start(server_url: str) -> Relay:
        made.append(Relay(server_url))
        made[-1].start()
        return made[-1]

    yield start
    for started in made:
        started.stop()


@pytest.mark.parametrize("database", ["postgresql_url", "mariadb_url"])
def test_a_server_that_went_away_makes_the_store_unavailable_until_it_is_back(
    request: pytest.FixtureRequest,
    database: str,
    new_table: TableFactory,
    relay: Callable[[str], Relay],
) -> None:
    server = relay(new_table(request.getfixturevalue(database)))
    store = SQLStore(server.url.render_as_string(hide_password=False))
    sid = new_session_id()
    store.set(sid, b"x", 60)
    server.stop()
    with pytest.raises(StoreUnavailableError) as caught:
        store.get(sid)
    assert caught.value.url == store.target.masked
    server.start()
    assert store.get(sid) == b"x"
    store.close()


@pytest.mark.parametrize(
    ("database", "driver"),
    [
        ("postgresql_url", "postgresql+asyncpg"),
        ("mariadb_url", "mysql+aiomysql"),
        ("mariadb_url", "mysql+asyncmy"),
    ],
)
def test_a_server_that_went_away_makes_the_async_twin_unavailable_until_it_is_back(
    request: pytest.FixtureRequest,
    database: str,
    driver: str,
    new_table: TableFactory,
    relay: Callable[[str], Relay],
) -> None:
    server = relay(new_table(request.getfixturevalue(database)))
    store = SQLStore.from_url(server.url.set(drivername=driver).render_as_string(False))
    sid = new_session_id()

    async def scenario() -> None:
        astore = as_async(store)
        try:
            await astore.set(sid, b"x", 60)
            server.stop()
            with pytest.raises(StoreUnavailableError) as caught:
                await astore.get(sid)
            assert caught.value.url == store.target.masked
            server.start()
            assert await astore.get(sid) == b"x"
        finally:
            await astore.close()

    asyncio.run(scenario())
    store.close()


def _drop_table(path: Path, name: str) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute(f"DROP TABLE {name}")
    conn.close()


def test_other_database_errors_become_sessionkit_errors(tmp_path: Path) -> None:
    store = SQLStore(f"sqlite:///{tmp_path}/s.db")
    sid = new_session_id()
    store.set(sid, b"x", 60)
    _drop_table(tmp_path / "s.db", store.table.name)
    with pytest.raises(ConfigurationError, match="no such table") as caught:
        store.get(sid)
    assert sid not in str(caught.value)
    store.close()


def test_the_async_twin_turns_database_errors_into_sessionkit_errors(tmp_path: Path) -> None:
    store = SQLStore.from_url(f"sqlite+aiosqlite:///{tmp_path}/s.db")

    async def scenario() -> None:
        astore = as_async(store)
        try:
            await astore.set(new_session_id(), b"x", 60)
            _drop_table(tmp_path / "s.db", store.table.name)
            with pytest.raises(ConfigurationError, match="no such table"):
                await astore.set(new_session_id(), b"x", 60)
        finally:
            await astore.close()

    asyncio.run(scenario())
    store.close()


def test_a_full_pool_is_unavailable_after_pool_timeout(tmp_path: Path) -> None:
    store = SQLStore(
        f"sqlite:///{tmp_path}/s.db", pool_size=1, max_overflow=0, pool_timeout=0.05, timeout=5
    )
    store.initialize()
    holding, release = threading.Event(), threading.Event()
    main = threading.current_thread()

    def hold(*_: Any) -> None:  # the other thread keeps the only connection until released
        if threading.current_thread() is not main:
            holding.set()
            release.wait(5)

    event.listen(store._engine, "checkout", hold)
    holder = threading.Thread(target=store.get, args=(new_session_id(),))
    holder.start()
    try:
        assert holding.wait(5)
        with pytest.raises(StoreUnavailableError, match=r"no free connection within 0\.05 s"):
            store.get(new_session_id())
    finally:
        release.set()
        holder.join()
    assert store.get(new_session_id()) is None
    store.close()


def test_a_second_dead_connection_in_a_row_is_unavailable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The statement runs once more on a fresh connection; if that one is dead too, the
    store is unavailable (not a raw StaleConnection: a 503, not a 500)."""
    store = SQLStore(f"sqlite:///{tmp_path / 'stale.db'}")
    store.initialize()
    tries: list[object] = []

    def dead(*args: object) -> None:
        tries.append(args)
        raise StaleConnection

    monkeypatch.setattr(store, "_execute_once", dead)
    with pytest.raises(StoreUnavailableError, match="the connection was lost"):
        store.get(new_session_id())
    assert len(tries) == 2
    store.close()


def test_the_async_twin_gives_up_on_a_second_dead_connection_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = SQLStore.from_url(f"sqlite+aiosqlite:///{tmp_path / 'stale.db'}")
    store.initialize()

    async def scenario() -> None:
        astore = as_async(store)
        tries: list[object] = []

        async def dead(*args: object) -> None:
            tries.append(args)
            raise StaleConnection

        monkeypatch.setattr(astore, "_execute_once", dead)
        try:
            with pytest.raises(StoreUnavailableError, match="the connection was lost"):
                await astore.get(new_session_id())
            assert len(tries) == 2
        finally:
            await astore.close()

    asyncio.run(scenario())
    store.close()


def test_postgresql_connections_run_without_jit(
    postgresql_url: str, new_table: TableFactory
) -> None:
    store = SQLStore(new_table(postgresql_url))
    store.initialize()
    with store._start().connect() as conn:
        assert conn.exec_driver_sql("SHOW jit").scalar() == "off"
    store.close()
