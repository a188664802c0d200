"""SessionManager on SQL stores beside raw SQLAlchemy Core doing the same statements.

Run: pytest tests/benchmarks/test_bench_sql.py --benchmarks
(SQLite in a temporary file; PostgreSQL at SESSIONKIT_POSTGRESQL_URL, default
postgresql+psycopg://postgres@127.0.0.1:5432/test, in a table unique to the run, dropped after.)

- ``sql-<db>-lookup``: ``manager.open(cookie)`` + reading one key of an existing ~300-byte
  session, beside a raw select by primary key of the same bytes.
- ``sql-<db>-save``: open, modify, commit (select + update) beside a raw select + the same
  upsert the store's ``set`` uses, of bytes of the same size.
- ``sql-<db>-store-get``: the store's ``get`` alone beside the raw select, to tell the store's
  share of the cost from the core's (cookie, serialising).

The raw engine is what a careful hand-written app would use: autocommit, and on SQLite the
same WAL, ``synchronous=NORMAL`` and busy timeout as the store. Neither pings connections by
default; the ``sessionkit-pre-ping`` entries show the store with ``pre_ping=true`` (PostgreSQL
only: SQLite has no server to ping), so the price of that option can be read off beside the rest.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, bindparam, create_engine, select
from sqlalchemy.engine import make_url

from sessionkit import SessionManager
from sessionkit.testing import require_server

sessionkit_sql = pytest.importorskip("sessionkit_sql")
from sessionkit_sql.engine import tune_sqlite  # noqa: E402
from sessionkit_sql.schema import Statements  # noqa: E402

from .targets import SMALL as SESSION  # noqa: E402
from .targets import stored_cookie  # noqa: E402

POSTGRESQL_URL = os.environ.get(
    "SESSIONKIT_POSTGRESQL_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
TTL = 3600


def raw_engine(url: str) -> Engine:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    if engine.dialect.name == "sqlite":
        tune_sqlite(engine, busy_timeout=5.0)  # the store's own journal settings
    return engine


class Setup:
    """Managers on one stored session, and a raw engine on the same table and bytes."""

    def __init__(self, url: str) -> None:
        self.table = f"sk_bench_{uuid.uuid4().hex[:12]}"
        store = sessionkit_sql.SQLStore(url, table=self.table)
        pinged = sessionkit_sql.SQLStore(url, table=self.table, pre_ping=True)
        self.manager = SessionManager(
            store, secret="benchmark-secret-0123456789abcdefghijklmnopqrstuv", ttl=TTL, max_age=None
        )
        self.pinged = SessionManager(
            pinged,
            secret="benchmark-secret-0123456789abcdefghijklmnopqrstuv",
            ttl=TTL,
            max_age=None,
        )
        self.cookie, self.sid = stored_cookie(self.manager, SESSION)
        self.payload: bytes = store.get(self.sid)
        assert 280 <= len(self.payload) <= 360, len(self.payload)
        self.engine = raw_engine(store.target.sync_url.render_as_string(hide_password=False))
        c = store.table.c
        self.select = select(c.data).where(c.id == bindparam("sid"))
        self.upsert = Statements(store.table, self.engine.dialect.name, 1000).set
        self.raw_sid = "r" * 43
        store.set(self.raw_sid, self.payload, TTL)

    def raw_get(self) -> bytes | None:
        with self.engine.connect() as conn:
            data = conn.execute(self.select, {"sid": self.raw_sid}).scalar()
        return None if data is None else bytes(data)

    def raw_save(self) -> None:
        data = self.raw_get()
        assert data is not None
        now = int(time.time() * 1000)
        params = {
            "sid": self.raw_sid,
            "data": data,
            "now": now,
            "expires": now + TTL * 1000,
            "version": now,
        }
        with self.engine.connect() as conn:
            conn.execute(self.upsert, params)

    def close(self) -> None:
        store = self.manager.store
        with self.engine.connect() as conn:
            store.table.drop(conn)  # type: ignore[attr-defined]
        self.engine.dispose()
        store.close()
        self.pinged.store.close()


@pytest.fixture(scope="module")
def sqlite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    path: Path = tmp_path_factory.mktemp("sqlbench") / "sessions.db"
    setup = Setup(f"sqlite:///{path}")
    yield setup
    setup.close()


@pytest.fixture(scope="module")
def postgresql() -> Iterator[Setup]:
    url = make_url(POSTGRESQL_URL)
    require_server(url.host or "127.0.0.1", url.port or 5432, "PostgreSQL")
    setup = Setup(POSTGRESQL_URL)
    yield setup
    setup.close()


def lookup(manager: SessionManager, cookie: str) -> Any:
    return manager.open(cookie)["user"]


def save(manager: SessionManager, cookie: str) -> str | None:
    session = manager.open(cookie)
    session["views"] += 1
    return manager.commit(session)


DATABASES = ["sqlite", "postgresql"]


@pytest.mark.parametrize("impl", ["sessionkit", "raw", "sessionkit-pre-ping"])
@pytest.mark.parametrize("database", DATABASES)
@pytest.mark.parametrize("case", ["lookup", "save", "store-get"])
def test_sql(
    benchmark: Any, request: pytest.FixtureRequest, database: str, impl: str, case: str
) -> None:
    if impl == "sessionkit-pre-ping" and database == "sqlite":
        pytest.skip("SQLite has no server to ping")
    setup: Setup = request.getfixturevalue(database)
    benchmark.group = f"sql-{database}-{case}"
    manager = setup.pinged if impl == "sessionkit-pre-ping" else setup.manager
    cookie = setup.cookie
    if case == "lookup":
        if impl == "raw":
            assert benchmark(setup.raw_get) == setup.payload
        else:
            assert benchmark(lookup, manager, cookie) == SESSION["user"]
    elif case == "save":
        if impl == "raw":
            benchmark(setup.raw_save)
        else:
            benchmark(save, manager, cookie)
            assert manager.open(cookie)["views"] > SESSION["views"]
    elif impl == "raw":
        assert benchmark(setup.raw_get) == setup.payload
    else:
        assert benchmark(manager.store.get, setup.raw_sid) == setup.payload
