"""Every store operation written once, for the synchronous store and its async twin alike.

An operation is a generator: it checks its arguments, yields each :class:`Step` (a statement,
its parameters and how to read its result), receives what the step read and returns the
operation's result. The store runs the steps with blocking calls, the twin with awaits; each
step is one statement on a pooled connection in autocommit mode, atomic on its own.

Round trips: every operation takes one, except ``add`` on MySQL/MariaDB when an expired row
holds the id (insert, then take the row over) and ``replace_versioned`` when another writer
won the race (the update, then a read of what the store holds now).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import CursorResult, Executable

from sessionkit.ids import check_session_id, check_ttl, check_user_id, is_valid_session_id
from sessionkit.store import GONE, Entry, Swap, Version

from .engine import DUPLICATE
from .schema import Statements, new_version

T = TypeVar("T")
Clock = Callable[[], float]


class Step(NamedTuple):
    """One statement of an operation; ``read`` turns its result into what the step yields
    back. With ``duplicate`` set, a duplicate-key error is no error: the step yields
    :data:`~sessionkit_sql.engine.DUPLICATE` instead."""

    statement: Executable
    params: dict[str, Any]
    read: Callable[[CursorResult[Any]], Any]
    duplicate: bool = False


Steps = Generator[Step, Any, T]


def _rowcount(result: CursorResult[Any]) -> int:
    return result.rowcount


def _first_column(result: CursorResult[Any]) -> Any:
    return result.scalar()


def _first_row(result: CursorResult[Any]) -> Any:
    return result.first()


def _all_rows(result: CursorResult[Any]) -> Any:
    return result.all()


class Operations:
    """The steps of each operation on one table."""

    def __init__(self, statements: Statements, clock: Clock) -> None:
        self.sql = statements
        self._clock = clock

    def now(self) -> int:
        """The clock's time in whole milliseconds: the unit of ``expires_at``."""
        return int(self._clock() * 1000)

    def _row(self, sid: str, data: bytes, ttl: int) -> dict[str, Any]:
        check_session_id(sid)
        now = self.now()
        expires = now + check_ttl(ttl) * 1000
        return {"sid": sid, "data": data, "now": now, "expires": expires, "version": new_version()}

    # -- sessions

    def get(self, sid: str) -> Steps[bytes | None]:
        if not is_valid_session_id(sid):
            return None
        data = yield Step(self.sql.get, {"sid": sid, "now": self.now()}, _first_column)
        return None if data is None else bytes(data)

    def set(self, sid: str, data: bytes, ttl: int) -> Steps[None]:
        yield Step(self.sql.set, self._row(sid, data, ttl), _rowcount)

    def add(self, sid: str, data: bytes, ttl: int) -> Steps[bool]:
        """Create ``sid``; an expired row of that id counts as absent and is taken over."""
        row = self._row(sid, data, ttl)
        if self.sql.add is not None:
            return bool((yield Step(self.sql.add, row, _rowcount)) == 1)
        if (yield Step(self.sql.insert, row, _rowcount, duplicate=True)) is not DUPLICATE:
            return True
        return bool((yield Step(self.sql.take_over, row, _rowcount)) == 1)

    def replace(self, sid: str, data: bytes, ttl: int) -> Steps[bool]:
        return bool((yield Step(self.sql.replace, self._row(sid, data, ttl), _rowcount)) == 1)

    def delete(self, sid: str) -> Steps[bool]:
        if not is_valid_session_id(sid):
            return False
        return bool((yield Step(self.sql.delete, {"sid": sid, "now": self.now()}, _rowcount)) == 1)

    def touch(self, sid: str, ttl: int) -> Steps[bool]:
        check_ttl(ttl)
        if not is_valid_session_id(sid):
            return False
        now = self.now()
        params = {"sid": sid, "now": now, "expires": now + ttl * 1000}
        return bool((yield Step(self.sql.touch, params, _rowcount)) == 1)

    # -- versions

    def get_versioned(self, sid: str) -> Steps[Entry | None]:
        if not is_valid_session_id(sid):
            return None
        row = yield Step(self.sql.get_versioned, {"sid": sid, "now": self.now()}, _first_row)
        return None if row is None else Entry(bytes(row[0]), row[1])

    def replace_versioned(self, sid: str, data: bytes, ttl: int, version: Version) -> Steps[Swap]:
        row = self._row(sid, data, ttl)
        if type(version) is not int:
            raise TypeError("a SQL store's version is the number its get_versioned returned")
        row["old"] = version
        if (yield Step(self.sql.replace_versioned, row, _rowcount)) == 1:
            return Swap(True, Entry(data, row["version"]))
        current = yield from self.get_versioned(sid)
        return GONE if current is None else Swap(False, current)

    # -- the per-user index: a column of the sessions table

    def bind_user(self, user_id: str, sid: str, ttl: int) -> Steps[None]:
        params: dict[str, Any] = {"user": check_user_id(user_id), "sid": check_session_id(sid)}
        check_ttl(ttl)  # unused: the binding lives and dies with the session's row
        params["now"] = self.now()
        yield Step(self.sql.bind_user, params, _rowcount)

    def user_sessions(self, user_id: str) -> Steps[dict[str, bytes]]:
        params = {"user": check_user_id(user_id), "now": self.now()}
        rows = yield Step(self.sql.user_sessions, params, _all_rows)
        return {sid: bytes(data) for sid, data in rows}

    def delete_user_sessions(self, user_id: str, keep: str | None = None) -> Steps[int]:
        # No session id is empty, so "" keeps nothing.
        params = {"user": check_user_id(user_id), "keep": keep or "", "now": self.now()}
        return int((yield Step(self.sql.delete_user_sessions, params, _rowcount)))

    # -- maintenance (sync store only)

    def count(self) -> Steps[int]:
        return int((yield Step(self.sql.count, {"now": self.now()}, _first_column)))

    def clear(self) -> Steps[None]:
        yield Step(self.sql.clear, {}, _rowcount)

    def purge_expired(self, limit: int | None = None) -> Steps[int]:
        """Delete expired rows in batches of ``purge_batch_size``, at most ``limit`` rows in
        all (None: every one); return how many went."""
        params = {"now": self.now()}
        removed = 0
        while limit is None or removed < limit:
            size = self.sql.purge_batch_size
            if limit is not None:
                size = min(size, limit - removed)
            batch: int = yield Step(self.sql.purge_at_most(size), params, _rowcount)
            removed += batch
            if batch < size:
                break
        return removed
