"""The SQL baseline: SQLAlchemy Core on the store's own table (see ``raw``)."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Engine, Table, bindparam, create_engine, select, update
from sqlalchemy.dialects import mysql, postgresql, sqlite


class RawSQL:
    """SQLAlchemy Core on the store's table: select by primary key, the dialect's upsert,
    a plain insert, an update of the expiry. A default engine in autocommit mode."""

    def __init__(self, url: str, table: Table) -> None:
        self.engine: Engine = create_engine(url, isolation_level="AUTOCOMMIT")
        if self.engine.dialect.name == "sqlite":
            from sessionkit_sql.engine import tune_sqlite

            tune_sqlite(self.engine, busy_timeout=5.0)  # the store's own journal settings
        c = table.c
        self.select = select(c.data).where(c.id == bindparam("sid"))
        self.insert = table.insert()
        dialect = self.engine.dialect.name
        if dialect in ("mysql", "mariadb"):
            upsert_my = mysql.insert(table)
            self.upsert: Any = upsert_my.on_duplicate_key_update(
                data=upsert_my.inserted.data, expires_at=upsert_my.inserted.expires_at
            )
        else:
            make = postgresql.insert if dialect == "postgresql" else sqlite.insert
            upsert = make(table)
            self.upsert = upsert.on_conflict_do_update(
                index_elements=[c.id],
                set_={"data": upsert.excluded.data, "expires_at": upsert.excluded.expires_at},
            )
        self.touch = (
            update(table).where(c.id == bindparam("sid")).values(expires_at=bindparam("exp"))
        )

    def get(self, key: str) -> bytes | None:
        with self.engine.connect() as conn:
            data = conn.execute(self.select, {"sid": key}).scalar()
        return None if data is None else bytes(data)

    def put(self, key: str, data: bytes, ttl: int) -> None:
        with self.engine.connect() as conn:
            conn.execute(self.upsert, _row(key, data, ttl))

    def create(self, key: str, data: bytes, ttl: int) -> None:
        with self.engine.connect() as conn:
            conn.execute(self.insert, _row(key, data, ttl))

    def expire(self, key: str, ttl: int) -> None:
        with self.engine.connect() as conn:
            conn.execute(self.touch, {"sid": key, "exp": _expiry(ttl)})

    def close(self) -> None:
        self.engine.dispose()


def _expiry(ttl: int) -> int:
    return int((time.time() + ttl) * 1000)


def _row(key: str, data: bytes, ttl: int) -> dict[str, Any]:
    return {"id": key, "data": data, "expires_at": _expiry(ttl), "version": 0}
