"""Opening a network database connection within the deadline of the operation that needs it.

A driver's own connect timeout is not enough: libpq waits at least 2 s whatever it is told,
and an operation that first waited for a free pooled connection has less than its whole
``timeout`` left. :func:`bound_connects` therefore makes each new connection of an engine on a
thread of its own (SQLAlchemy's ``do_connect`` event) and waits for it until the earlier of
``connect_timeout`` from now and the deadline of the operation under way on the calling thread
(:class:`Deadline`). Past that the store is unavailable at once; the abandoned connect runs on
until the driver's own timeout and closes what it opened.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextlib import suppress
from typing import Any

from sqlalchemy import Engine, event

from sessionkit.errors import StoreUnavailableError

from .config import Settings


class Deadline(threading.local):
    """The ``time.monotonic()`` by which the calling thread's operation must end, if any."""

    at: float | None = None


def bound_connects(engine: Engine, deadline: Deadline, settings: Settings, masked: str) -> None:
    """Make every new connection of ``engine`` within ``connect_timeout`` and within
    ``deadline``; past either, raise :class:`StoreUnavailableError` for ``masked``."""
    connect_timeout = settings.connect_timeout

    @event.listens_for(engine, "do_connect")
    def _connect(dialect: Any, _record: Any, cargs: list[Any], cparams: dict[str, Any]) -> Any:
        limit = time.monotonic() + connect_timeout
        reason = f"no connection within {connect_timeout:g} s"
        if deadline.at is not None and deadline.at < limit:
            limit, reason = deadline.at, f"no answer within {settings.timeout:g} s"
        opening = _Opening(lambda: dialect.connect(*cargs, **cparams))
        if opening.finished_by(limit):
            return opening.outcome()
        raise StoreUnavailableError(masked, reason)


class _Opening:
    """One connect on a thread of its own; a connection that arrives once the caller has
    stopped waiting for it is closed."""

    def __init__(self, connect: Callable[[], Any]) -> None:
        self._connect = connect
        self._lock = threading.Lock()
        self._finished = threading.Event()
        self._abandoned = False
        self._connection: Any = None
        self._error: BaseException | None = None
        threading.Thread(target=self._run, name="sessionkit-sql-connect", daemon=True).start()

    def finished_by(self, limit: float) -> bool:
        """Wait until ``limit`` (``time.monotonic()``); False if the connect is still under
        way then, and is left to itself from now on."""
        if self._finished.wait(max(0.0, limit - time.monotonic())):
            return True
        with self._lock:
            self._abandoned = not self._finished.is_set()
            return not self._abandoned

    def outcome(self) -> Any:
        """The connection, or the connect's error raised again."""
        if self._error is not None:
            raise self._error
        return self._connection

    def _run(self) -> None:
        connection, error = None, None
        try:
            connection = self._connect()
        except BaseException as exc:  # noqa: BLE001 - raised again by outcome()
            error = exc
        with self._lock:
            if not self._abandoned:
                self._connection, self._error = connection, error
                self._finished.set()
                return
        if connection is not None:
            with suppress(Exception):  # nobody waits for this connection any more
                connection.close()
