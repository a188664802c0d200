"""Lost and refused connections become StoreUnavailableError (password masked); the pool
recovers once the server is back; every other database error is raised as it is."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest
from sessionkit_sql import SQLStore
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from sessionkit.errors import StoreUnavailableError
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


def test_refused_connection_is_unavailable_for_the_async_twin() -> None:
    store = SQLStore.from_url(f"postgresql+asyncpg://app:hunter2@127.0.0.1:{free_port()}/test")

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


def test_other_database_errors_are_raised_not_hidden(tmp_path: Path) -> None:
    store = SQLStore(f"sqlite:///{tmp_path}/s.db", create_table=False)
    with pytest.raises(Exception) as caught:
        store.set(new_session_id(), b"x", 60)
    assert not isinstance(caught.value, StoreUnavailableError)
    assert "no such table" in str(caught.value)


def test_the_async_twin_raises_other_database_errors_as_they_are(tmp_path: Path) -> None:
    store = SQLStore.from_url(f"sqlite+aiosqlite:///{tmp_path}/s.db", create_table=False)

    async def scenario() -> None:
        astore = as_async(store)
        try:
            with pytest.raises(Exception) as caught:
                await astore.set(new_session_id(), b"x", 60)
            assert not isinstance(caught.value, StoreUnavailableError)
            assert "no such table" in str(caught.value)
        finally:
            await astore.close()

    asyncio.run(scenario())
