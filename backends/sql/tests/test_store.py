"""SQL behaviour beyond the shipped contract, on SQLite, PostgreSQL and MariaDB, with a
frozen clock instead of sleeps."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sessionkit_sql import SQLStore
from sessionkit_sql.config import split_url
from sqlalchemy import (
    BigInteger,
    Column,
    LargeBinary,
    MetaData,
    String,
    Table,
    create_engine,
    event,
)
from sqlalchemy.engine import make_url

from sessionkit.errors import ConfigurationError
from sessionkit.ids import new_session_id
from sessionkit.testing import FrozenClock

TableFactory = Callable[[str], str]


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def store(database_url: str, new_table: TableFactory, clock: FrozenClock) -> Iterator[SQLStore]:
    store = SQLStore(new_table(database_url), purge_batch_size=2, clock=clock)
    yield store
    store.close()


def statements(store: SQLStore, verb: str) -> list[str]:
    """Record the SQL of every statement starting with ``verb`` the store runs from now on."""
    seen: list[str] = []
    engine = store._engine or store._start()

    @event.listens_for(engine, "before_cursor_execute")
    def record(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        if sql.lstrip().upper().startswith(verb):
            seen.append(sql)

    return seen


def test_an_expired_row_counts_as_gone(store: SQLStore, clock: FrozenClock) -> None:
    sid = new_session_id()
    store.set(sid, b"old", 10)
    clock.now += 10
    assert store.get(sid) is None
    assert store.replace(sid, b"x", 10) is False
    assert store.touch(sid, 10) is False
    assert store.count() == 0
    assert store.add(sid, b"new", 10) is True
    assert store.add(sid, b"newer", 10) is False
    assert store.get(sid) == b"new"


def test_touch_moves_expiry_from_now(store: SQLStore, clock: FrozenClock) -> None:
    sid = new_session_id()
    store.set(sid, b"x", 10)
    clock.now += 9
    assert store.touch(sid, 10) is True
    clock.now += 9
    assert store.get(sid) == b"x"
    clock.now += 1
    assert store.get(sid) is None


def test_purge_deletes_in_bounded_batches(store: SQLStore, clock: FrozenClock) -> None:
    stale = [new_session_id() for _ in range(5)]
    for sid in stale:
        store.set(sid, b"old", 5)
    live = new_session_id()
    store.set(live, b"live", 60)
    clock.now += 5
    deletes = statements(store, "DELETE")
    assert store.purge_expired() == 5
    assert len(deletes) == 3  # batches of 2, 2 and 1
    assert store.purge_expired() == 0
    assert store.get(live) == b"live"
    assert store.count() == 1


def test_ids_are_compared_byte_for_byte(store: SQLStore) -> None:
    lower = "a" * 43
    upper = "A" * 43
    assert store.add(lower, b"lower", 60) is True
    assert store.add(upper, b"upper", 60) is True
    assert (store.get(lower), store.get(upper)) == (b"lower", b"upper")
    store.delete(upper)
    assert store.get(lower) == b"lower"


def test_payloads_over_64_kib_fit(store: SQLStore) -> None:
    sid = new_session_id()
    payload = bytes(range(256)) * 4096  # 1 MiB
    store.set(sid, payload, 60)
    assert store.get(sid) == payload


def test_without_create_table_a_missing_table_is_an_error_not_a_miss(
    database_url: str, table_name: TableFactory
) -> None:
    store = SQLStore(table_name(database_url), create_table=False)
    try:
        with pytest.raises(ConfigurationError, match="does not exist"):
            store.get(new_session_id())
        store.initialize()
        store.initialize()  # a second time is harmless
        assert store.get(new_session_id()) is None
    finally:
        store.close()


@pytest.mark.parametrize("create", [True, False])
def test_a_table_of_an_earlier_release_is_named_with_its_missing_columns(
    database_url: str, table_name: TableFactory, create: bool
) -> None:
    url = table_name(database_url)
    name = str(make_url(url).query["table"])
    old = Table(
        name,
        MetaData(),
        Column("id", String(128), primary_key=True),
        Column("data", LargeBinary(), nullable=False),
        Column("expires_at", BigInteger(), nullable=False),
    )
    engine = create_engine(split_url(url)[0].sync_url)
    try:
        old.create(engine)
    finally:
        engine.dispose()
    store = SQLStore(url, create_table=create)
    try:
        with pytest.raises(ConfigurationError, match=r"lacks the column\(s\) version, user_id"):
            store.get(new_session_id())
    finally:
        store.close()


def test_stores_on_one_table_share_it(
    database_url: str, new_table: TableFactory, clock: FrozenClock
) -> None:
    url = new_table(database_url)
    first, second = SQLStore(url, clock=clock), SQLStore(url, clock=clock)
    try:
        sid = new_session_id()
        first.set(sid, b"x", 60)
        assert second.count() == 1
        second.clear()
        assert first.get(sid) is None
    finally:
        first.close()
        second.close()
