"""The sessions table and the statements of every operation, per SQL dialect.

Columns: ``id`` (the session id, 8 to 128 characters, primary key, compared byte for byte),
``data`` (the payload; ``LONGBLOB`` on MySQL/MariaDB, whose ``BLOB`` stops at 64 KiB),
``expires_at`` (Unix time in milliseconds, indexed), ``version`` (a random 63-bit number drawn
anew by every write, what compare-and-set compares) and ``user_id`` (the user a session is
bound to, or NULL; indexed). Every statement takes its values as bound parameters: ``sid``,
``data``, ``version``, ``old`` (the version a compare-and-set expects), ``user``, ``keep``,
``expires`` and ``now`` (both in milliseconds).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from sqlalchemy import (
    BigInteger,
    BindParameter,
    Column,
    Connection,
    Delete,
    Index,
    Insert,
    LargeBinary,
    MetaData,
    Select,
    String,
    Table,
    Update,
    bindparam,
    case,
    delete,
    false,
    func,
    inspect,
    null,
    select,
    update,
)
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.exc import DBAPIError, NoSuchTableError

from sessionkit.errors import ConfigurationError
from sessionkit.ids import MAX_USER_ID_LENGTH

MYSQL_DIALECTS = ("mysql", "mariadb")
MAX_ID_LENGTH = 128
_MYSQL_ID = mysql.VARCHAR(MAX_ID_LENGTH, charset="ascii", collation="ascii_bin")
_MYSQL_USER = mysql.VARCHAR(MAX_USER_ID_LENGTH, charset="utf8mb4", collation="utf8mb4_bin")
#: The columns a table made by an earlier release lacks.
NEW_COLUMNS = ("version", "user_id")


def new_version() -> int:
    """A fresh version: random, so that no two writes (even across a delete) share one."""
    return random.getrandbits(63)


def session_table(name: str, metadata: MetaData | None = None) -> Table:
    """The table definition (creating it is up to the caller)."""
    table = Table(
        name,
        metadata or MetaData(),
        Column(
            "id",
            String(MAX_ID_LENGTH).with_variant(_MYSQL_ID, *MYSQL_DIALECTS),
            primary_key=True,
        ),
        Column(
            "data",
            LargeBinary().with_variant(mysql.LONGBLOB(), *MYSQL_DIALECTS),
            nullable=False,
        ),
        Column("expires_at", BigInteger(), nullable=False),
        Column("version", BigInteger(), nullable=False),
        Column(
            "user_id",
            String(MAX_USER_ID_LENGTH).with_variant(_MYSQL_USER, *MYSQL_DIALECTS),
            nullable=True,
        ),
    )
    Index(f"ix_{name}_expires_at", table.c.expires_at)
    Index(f"ix_{name}_user_id", table.c.user_id)
    return table


def prepare_table(conn: Connection, table: Table, masked_url: str, *, create: bool) -> None:
    """Check that ``table`` has every column; create it if ``create`` and it is missing.

    The usual case, a table that is there and whole, costs one statement that reads no row.
    Only otherwise does the check read the catalog, whose queries can take seconds on a
    server where many tables were made and dropped.
    """
    try:
        conn.execute(select(*table.c).where(false()))
        return
    except DBAPIError as exc:
        if exc.connection_invalidated:
            raise
    if create:
        try:
            table.metadata.create_all(conn, checkfirst=True)
        except DBAPIError as exc:
            # Another process may have created it between the check and the CREATE.
            if exc.connection_invalidated or not inspect(conn).has_table(table.name):
                raise
    try:
        columns = {column["name"] for column in inspect(conn).get_columns(table.name)}
    except NoSuchTableError:
        columns = set()
    if not columns:
        raise ConfigurationError(
            f"{masked_url}: table {table.name!r} does not exist; create it with "
            "`sessionkit init URL` or leave create_table on"
        )
    missing = [name for name in NEW_COLUMNS if name not in columns]
    if missing:
        raise ConfigurationError(
            f"{masked_url}: table {table.name!r} was made by an earlier release and lacks "
            f"the column(s) {', '.join(missing)}; see the sessionkit-sql README for the "
            "ALTER TABLE statements"
        )


class Statements:
    """The statements of one table on one dialect."""

    def __init__(self, table: Table, dialect: str, purge_batch_size: int) -> None:
        t = table.c
        sid: BindParameter[str] = bindparam("sid")
        now: BindParameter[int] = bindparam("now")
        written: dict[str, Any] = {
            "data": bindparam("data"),
            "expires_at": bindparam("expires"),
            "version": bindparam("version"),
        }
        live = t.expires_at > now
        expired = t.expires_at <= now
        self.get: Select[Any] = select(t.data).where(t.id == sid, live)
        self.get_versioned: Select[Any] = select(t.data, t.version).where(t.id == sid, live)
        self.replace: Update = update(table).where(t.id == sid, live).values(written)
        self.replace_versioned: Update = (
            update(table).where(t.id == sid, t.version == bindparam("old"), live).values(written)
        )
        self.touch: Update = (
            update(table).where(t.id == sid, live).values(expires_at=bindparam("expires"))
        )
        self.delete: Delete = delete(table).where(t.id == sid, live)
        self.bind_user: Update = (
            update(table).where(t.id == sid, live).values(user_id=bindparam("user"))
        )
        self.user_sessions: Select[Any] = select(t.id, t.data).where(
            t.user_id == bindparam("user"), live
        )
        self.delete_user_sessions: Delete = delete(table).where(
            t.user_id == bindparam("user"), t.id != bindparam("keep"), live
        )
        self.count: Select[Any] = select(func.count()).select_from(table).where(live)
        self.clear: Delete = delete(table)
        # Update of an expired row, for the insert-then-take-over form of add.
        self.take_over: Update = (
            update(table).where(t.id == sid, expired).values({**written, "user_id": null()})
        )
        new_row = {"id": sid, **written, "user_id": null()}
        # An overwritten row keeps its user while it lives; an expired one is a new session.
        kept_user = case((live, t.user_id), else_=null())
        self.insert: Insert
        self.set: Insert
        # add: one statement where the dialect can say "inserted, or took over an expired row";
        # None where it needs insert-then-take-over (see the add operation).
        self.add: Insert | None
        self._purge: Callable[[int], Delete]
        if dialect in ("postgresql", "sqlite"):
            make = postgresql.insert if dialect == "postgresql" else sqlite.insert
            upsert = make(table).values(new_row)
            self.insert = upsert
            self.set = upsert.on_conflict_do_update(
                index_elements=[t.id], set_={**written, "user_id": kept_user}
            )
            # rowcount: 1 inserted or took over an expired row, 0 left a live row alone.
            self.add = upsert.on_conflict_do_update(
                index_elements=[t.id], set_={**written, "user_id": null()}, where=expired
            ).execution_options(preserve_rowcount=True)
            self._purge = lambda size: delete(table).where(
                t.id.in_(select(t.id).where(expired).limit(size))
            )
        elif dialect in MYSQL_DIALECTS:
            upsert_my = mysql.insert(table).values(new_row)
            self.insert = upsert_my
            # MySQL assigns left to right, each seeing the ones before: the user goes first,
            # while expires_at is still the old row's.
            self.set = upsert_my.on_duplicate_key_update(
                [
                    ("user_id", kept_user),
                    ("data", upsert_my.inserted.data),
                    ("expires_at", upsert_my.inserted.expires_at),
                    ("version", upsert_my.inserted.version),
                ]
            )
            # MySQL's affected-row count cannot tell "inserted" from "left alone".
            self.add = None
            self._purge = lambda size: (
                delete(table)
                .where(expired)
                .with_dialect_options(mysql_limit=size, mariadb_limit=size)
            )
        else:
            raise ConfigurationError(f"sessionkit-sql does not support the {dialect} dialect")
        self.purge_batch_size = purge_batch_size
        self._purges: dict[int, Delete] = {}

    def purge_at_most(self, size: int) -> Delete:
        """The statement that deletes at most ``size`` expired rows (made once per size)."""
        statement = self._purges.get(size)
        if statement is None:
            statement = self._purges[size] = self._purge(size)
        return statement
