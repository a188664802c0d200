"""The raw store clients: what a session request's store work costs with nothing around it.

``read`` is one get of the session's bytes, ``modify`` a get and a set with a TTL, each on the
client a hand-written app would use: a dict, a file read and an atomic rewrite, redis-py (with
hiredis when installed), pymemcache's base ``Client`` (no pool) and SQLAlchemy Core on SQLite.
The bytes are those sessionkit's JSON serializer stores for the session of that size.
"""

from __future__ import annotations

import secrets
import tempfile
import time
from pathlib import Path
from typing import Any

from ..raw import Raw, RawFile, RawMemory, RawRedis
from .servers import Servers
from .sessions import TTL


class RawMemcachedBase:
    """pymemcache's base ``Client``: one connection, TCP_NODELAY, replies on."""

    def __init__(self, address: tuple[str, int]) -> None:
        from pymemcache.client.base import Client  # type: ignore[import-untyped]

        self.client = Client(address, no_delay=True, default_noreply=False, timeout=5)

    def get(self, key: str) -> bytes | None:
        data: bytes | None = self.client.get(key)
        return data

    def put(self, key: str, data: bytes, ttl: int) -> None:
        self.client.set(key, data, ttl)

    def close(self) -> None:
        self.client.close()


class RawSQLite:
    """SQLAlchemy Core on a table of its own: a select by key, an upsert."""

    def __init__(self, path: Path) -> None:
        from sqlalchemy import (
            Column,
            Integer,
            LargeBinary,
            MetaData,
            String,
            Table,
            bindparam,
            create_engine,
            select,
        )
        from sqlalchemy.dialects.sqlite import insert

        self.engine = create_engine(f"sqlite:///{path}", isolation_level="AUTOCOMMIT")
        table = Table(
            "raw_sessions",
            MetaData(),
            Column("id", String(64), primary_key=True),
            Column("data", LargeBinary, nullable=False),
            Column("expires_at", Integer, nullable=False),
        )
        table.create(self.engine, checkfirst=True)
        self.select = select(table.c.data).where(table.c.id == bindparam("sid"))
        upsert = insert(table)
        self.upsert = upsert.on_conflict_do_update(
            index_elements=[table.c.id],
            set_={"data": upsert.excluded.data, "expires_at": upsert.excluded.expires_at},
        )

    def get(self, key: str) -> bytes | None:
        with self.engine.connect() as conn:
            data = conn.execute(self.select, {"sid": key}).scalar()
        return None if data is None else bytes(data)

    def put(self, key: str, data: bytes, ttl: int) -> None:
        row = {"id": key, "data": data, "expires_at": int(time.time()) + ttl}
        with self.engine.connect() as conn:
            conn.execute(self.upsert, row)

    def close(self) -> None:
        self.engine.dispose()


def raw_client(backend: str, servers: Servers) -> Any:
    """The raw client of ``backend``, with ``get``, ``put`` and ``close``."""
    if backend == "memory":
        return RawMemory()
    if backend == "file":
        return RawFile(Path(tempfile.mkdtemp(dir=servers.workdir)))
    if backend == "redis":
        import redis

        return RawRedis(redis.Redis.from_url(servers.redis_url))
    if backend == "memcached":
        return RawMemcachedBase(servers.memcached_address)
    if backend == "sqlite":
        return RawSQLite(Path(tempfile.mkdtemp(dir=servers.workdir)) / "raw.db")
    raise ValueError(f"unknown backend {backend!r}")


class Baseline:
    """One stored payload and the raw calls a read and a modify of it make."""

    def __init__(self, raw: Raw | Any, payload: bytes) -> None:
        self.raw = raw
        self.payload = payload
        self.key = secrets.token_urlsafe(32)
        raw.put(self.key, payload, TTL)
        assert raw.get(self.key) == payload

    def read(self) -> None:
        self.raw.get(self.key)

    def modify(self) -> None:
        raw = self.raw
        raw.get(self.key)
        raw.put(self.key, self.payload, TTL)
