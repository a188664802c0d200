"""A bound on how long a blocking statement may wait for a server that does not answer.

A frozen PostgreSQL server (stopped, or cut off behind a stateful firewall) keeps the client's
socket open and answers nothing: libpq then waits forever, and the server-side
``statement_timeout`` never fires. PyMySQL's read timeout does fire, but counts from the
statement, not from the start of an operation that first waited for a pooled connection. The
:class:`Watchdog` is one thread per store that shuts down the socket of any statement still
running at its operation's deadline; the blocked call then fails at once as a lost
connection, and the store reports the timeout.
"""

from __future__ import annotations

import heapq
import itertools
import os
import socket
import threading
import time
from typing import Any


def socket_of(dbapi_connection: Any) -> int | None:
    """The file descriptor of a driver connection's socket, if it is known: psycopg's
    ``fileno()``, or the socket PyMySQL keeps in ``_sock`` (it has no public name for it;
    ``test_the_watchdog_finds_pymysql_sockets`` pins the attribute)."""
    fileno = getattr(dbapi_connection, "fileno", None)
    if fileno is not None:
        return int(fileno())
    sock = getattr(dbapi_connection, "_sock", None)
    return None if sock is None else int(sock.fileno())


class Watch:
    """One watched statement: :meth:`Watchdog.release` it when the statement is done."""

    __slots__ = ("deadline", "done", "fileno", "fired")

    def __init__(self, deadline: float, fileno: int) -> None:
        self.deadline = deadline
        self.fileno = fileno
        self.fired = False
        self.done = False


class Watchdog:
    """Shuts down the socket of a statement that runs past its deadline."""

    def __init__(self) -> None:
        self._due: list[tuple[float, int, Watch]] = []
        self._order = itertools.count()
        self._lock = threading.Condition()
        self._thread: threading.Thread | None = None

    def watch(self, fileno: int, deadline: float) -> Watch:
        """Watch the connection whose socket is ``fileno`` until ``deadline``
        (``time.monotonic()``)."""
        watch = Watch(deadline, fileno)
        with self._lock:
            heapq.heappush(self._due, (deadline, next(self._order), watch))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="sessionkit-sql-watchdog", daemon=True
                )
                self._thread.start()
            elif self._due[0][2] is watch:
                self._lock.notify()
        return watch

    def release(self, watch: Watch) -> None:
        """The statement is done: its socket is no longer this watchdog's business."""
        with self._lock:
            watch.done = True

    def _run(self) -> None:
        with self._lock:
            while True:
                if not self._due:
                    self._lock.wait()
                    continue
                deadline, _, watch = self._due[0]
                if watch.done:
                    heapq.heappop(self._due)
                    continue
                left = deadline - time.monotonic()
                if left > 0:
                    self._lock.wait(left)
                    continue
                heapq.heappop(self._due)
                watch.fired = True
                _shut_down(watch.fileno)


def _shut_down(fileno: int) -> None:
    """Shut down the socket behind ``fileno`` (a duplicate is made and closed; the owner's
    descriptor stays valid, its reads and writes fail from now on)."""
    try:
        sock = socket.socket(fileno=os.dup(fileno))
    except OSError:
        return
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    finally:
        sock.close()
