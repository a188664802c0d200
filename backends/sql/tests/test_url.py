"""URLs: sessionkit's options leave the URL before the driver sees it; misspellings and
options the driver would drop are errors; plain schemes get this distribution's drivers."""

from __future__ import annotations

from pathlib import Path

import pytest
from sessionkit_sql import SQLStore

import sessionkit
from sessionkit.errors import ConfigurationError
from sessionkit.store import HasNativeAsync


def test_sessionkit_options_are_taken_out_of_the_url(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/s.db?table=mine&purge_batch_size=7&timeout=2.5&detect_types=1"
    store = sessionkit.open_store(url)
    assert isinstance(store, SQLStore)
    assert store.table.name == "mine"
    assert (store.settings.purge_batch_size, store.settings.timeout) == (7, 2.5)
    assert dict(store.target.sync_url.query) == {"detect_types": "1"}  # the driver's own


def test_keyword_options_take_precedence_over_the_url(tmp_path: Path) -> None:
    store = sessionkit.open_store(f"sqlite:///{tmp_path}/s.db?table=from_url", table="given")
    assert isinstance(store, SQLStore)
    assert store.table.name == "given"


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://127.0.0.1/test?tabel=x",
        "postgresql://127.0.0.1/test?pool_sise=3",
        "mysql://127.0.0.1/test?purge_batchsize=3",
        "sqlite:///s.db?tabel=x",
        "sqlite:///s.db?journal=wal",  # pysqlite would drop it with a warning
    ],
)
def test_unknown_options_are_errors(url: str) -> None:
    with pytest.raises(ConfigurationError, match="unknown option"):
        sessionkit.open_store(url)


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:///s.db?purge_batch_size=0",
        "sqlite:///s.db?create_table=perhaps",
        "sqlite:///s.db?table=bad-name",
        "sqlite:///s.db?table=a&table=b",
        "postgresql://127.0.0.1/test?pool_size=many",
        "sqlite://?pool_size=3",
        "sqlite+aiosqlite://",
        "oracle://127.0.0.1/x",
    ],
)
def test_bad_configuration_is_an_error(url: str) -> None:
    with pytest.raises(ConfigurationError):
        SQLStore.from_url(url)


@pytest.mark.parametrize(
    ("url", "driver"),
    [
        ("postgresql://127.0.0.1/test", "postgresql+psycopg"),
        ("mysql://127.0.0.1/test", "mysql+pymysql"),
        ("mariadb://127.0.0.1/test", "mariadb+pymysql"),
        ("postgresql+asyncpg://127.0.0.1/test", "postgresql+psycopg"),
        ("sqlite+aiosqlite:///s.db", "sqlite+pysqlite"),
        ("sqlite:///s.db", "sqlite"),
    ],
)
def test_sync_driver_choice(url: str, driver: str) -> None:
    assert SQLStore.from_url(url).target.sync_url.drivername == driver


@pytest.mark.parametrize(
    ("url", "native"),
    [
        ("postgresql+asyncpg://127.0.0.1/test", True),
        ("sqlite+aiosqlite:///s.db", True),
        ("postgresql+psycopg://127.0.0.1/test", False),
        ("sqlite:///s.db", False),
    ],
)
def test_native_async_only_with_an_async_driver(url: str, native: bool) -> None:
    assert isinstance(sessionkit.open_store(url), HasNativeAsync) is native


def test_error_messages_mask_the_password() -> None:
    with pytest.raises(ConfigurationError) as caught:
        sessionkit.open_store("postgresql://app:hunter2@127.0.0.1/test?tabel=x")
    assert "hunter2" not in str(caught.value)
    assert "***" in str(caught.value)


def test_in_memory_sqlite_serves_many_threads() -> None:
    from sessionkit.ids import new_session_id
    from sessionkit.testing.contract import run_threads

    store = SQLStore("sqlite://")
    ids = [new_session_id() for _ in range(8)]

    def write(index: int) -> None:
        for round_ in range(20):
            store.set(ids[index], f"{index}:{round_}".encode(), 60)
            assert store.get(ids[index]) == f"{index}:{round_}".encode()

    run_threads(8, write)
    assert store.count() == 8
    assert SQLStore("sqlite://").count() == 0  # each in-memory store is its own database
    store.close()
