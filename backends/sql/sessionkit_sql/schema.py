"""The sessions table and the one statement each operation runs, per SQL dialect.

Columns: ``id`` (the 43-character session id, primary key, compared byte for byte),
``data`` (the payload; ``LONGBLOB`` on MySQL/MariaDB, whose ``BLOB`` stops at 64 KiB) and
``expires_at`` (Unix time in milliseconds, indexed). Every statement takes its values as bound
parameters: ``sid``, ``data``, ``expires`` and ``now`` (both in milliseconds).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import (
    BigInteger,
    BindParameter,
    Column,
    CursorResult,
    Delete,
    Index,
    Insert,
    LargeBinary,
    MetaData,
    String,
    Table,
    Update,
    bindparam,
    delete,
    func,
    select,
    update,
)
from sqlalchemy.dialects import mysql, postgresql, sqlite

from sessionkit.errors import ConfigurationError
from sessionkit.ids import check_session_id, check_ttl

MYSQL_DIALECTS = ("mysql", "mariadb")
_MYSQL_ID = mysql.VARCHAR(43, charset="ascii", collation="ascii_bin")


def now_ms(clock: Callable[[], float]) -> int:
    """The clock's time in whole milliseconds: the unit of ``expires_at``."""
    return int(clock() * 1000)


def row_params(sid: str, data: bytes, ttl: int, now: int) -> dict[str, Any]:
    """The parameters of a written row; raises for a malformed id or TTL."""
    check_session_id(sid)
    return {"sid": sid, "data": data, "now": now, "expires": now + check_ttl(ttl) * 1000}


def read_scalar(result: CursorResult[Any]) -> Any:
    """The first column of the first row, or ``None``: what ``get`` reads."""
    return result.scalar()


def read_rowcount(result: CursorResult[Any]) -> int:
    """How many rows the statement wrote: what ``add``, ``replace`` and ``touch`` report."""
    return result.rowcount


def session_table(name: str, metadata: MetaData | None = None) -> Table:
    """The table definition (creating it is up to the caller)."""
    table = Table(
        name,
        metadata or MetaData(),
        Column("id", String(43).with_variant(_MYSQL_ID, *MYSQL_DIALECTS), primary_key=True),
        Column(
            "data",
            LargeBinary().with_variant(mysql.LONGBLOB(), *MYSQL_DIALECTS),
            nullable=False,
        ),
        Column("expires_at", BigInteger(), nullable=False),
    )
    Index(f"ix_{name}_expires_at", table.c.expires_at)
    return table


class Statements:
    """The prepared statements of one table on one dialect."""

    def __init__(self, table: Table, dialect: str, purge_batch_size: int) -> None:
        t = table.c
        sid: BindParameter[str] = bindparam("sid")
        now: BindParameter[int] = bindparam("now")
        row = {"id": sid, "data": bindparam("data"), "expires_at": bindparam("expires")}
        live = t.expires_at > now
        self.get = select(t.data).where(t.id == sid, live)
        self.replace: Update = (
            update(table)
            .where(t.id == sid, live)
            .values(data=row["data"], expires_at=row["expires_at"])
        )
        self.touch: Update = (
            update(table).where(t.id == sid, live).values(expires_at=row["expires_at"])
        )
        self.delete: Delete = delete(table).where(t.id == sid)
        self.count = select(func.count()).select_from(table).where(live)
        self.clear: Delete = delete(table)
        self.insert: Insert
        self.set: Insert
        # add: one statement where the dialect can say "inserted, or took over an expired row";
        # None where it needs insert-then-take-over (see SQLStore.add).
        self.add: Insert | None
        # Update of an expired row, for the insert-then-take-over form of add.
        self.take_over: Update = (
            update(table)
            .where(t.id == sid, t.expires_at <= now)
            .values(data=row["data"], expires_at=row["expires_at"])
        )
        expired = t.expires_at <= now
        if dialect in ("postgresql", "sqlite"):
            make = postgresql.insert if dialect == "postgresql" else sqlite.insert
            upsert = make(table).values(row)
            overwrite = {"data": upsert.excluded.data, "expires_at": upsert.excluded.expires_at}
            self.insert = make(table).values(row)
            self.set = upsert.on_conflict_do_update(index_elements=[t.id], set_=overwrite)
            # rowcount: 1 inserted or took over an expired row, 0 left a live row alone.
            self.add = upsert.on_conflict_do_update(
                index_elements=[t.id], set_=overwrite, where=expired
            ).execution_options(preserve_rowcount=True)
            self.purge: Delete = delete(table).where(
                t.id.in_(select(t.id).where(expired).limit(purge_batch_size))
            )
        elif dialect in MYSQL_DIALECTS:
            upsert_my = mysql.insert(table).values(row)
            self.insert = mysql.insert(table).values(row)
            self.set = upsert_my.on_duplicate_key_update(
                data=upsert_my.inserted.data, expires_at=upsert_my.inserted.expires_at
            )
            # MySQL's affected-row count cannot tell "inserted" from "left alone".
            self.add = None
            self.purge = (
                delete(table)
                .where(expired)
                .with_dialect_options(mysql_limit=purge_batch_size, mariadb_limit=purge_batch_size)
            )
        else:
            raise ConfigurationError(f"sessionkit-sql does not support the {dialect} dialect")
        self.purge_batch_size = purge_batch_size
