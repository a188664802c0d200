"""The connections to one memcached node, shared by threads.

:class:`NodePool` keeps idle connections (:class:`~sessionkit_memcached.wire.Connection`) in
one ``deque``, whose ``append`` and ``pop`` are thread-safe, and takes no lock; only when
``pool_size`` bounds the connections does a semaphore count them.

A connection that fails is closed and dropped. If it failed on the connection itself
(refused, reset, closed by the server, timed out) the idle connections are closed too: they
lead to the same server and are most likely dead as well, so a server that went away costs
one failed call per pool, not one per pooled connection.
"""

from __future__ import annotations

import functools
import threading
from collections import deque
from collections.abc import Callable
from typing import Concatenate, ParamSpec, TypeVar

from .settings import Server, node_name
from .wire import Connection

P = ParamSpec("P")
T = TypeVar("T")

#: Failures of the connection itself rather than of one command (the socket's errors, a
#: closed connection, a reply out of protocol: see :mod:`sessionkit_memcached.wire`).
CONNECTION_FAILURES = (OSError,)


class PoolExhaustedError(Exception):
    """Every one of a node's ``pool_size`` connections stayed busy for ``timeout`` seconds."""


#: What a pool does with a failed call: ``(pool, error, the command's arguments)`` in, the
#: exception to raise instead out.
FailureHandler = Callable[["NodePool", Exception, tuple[object, ...]], Exception]


class NodePool:
    """Idle connections to one node, made on demand; see the module docstring.

    :param server: ``(host, port)`` or a Unix socket path.
    :param pool_size: the most connections at once, None for no bound.
    :param wait: seconds to wait for a free connection when ``pool_size`` are busy.
    :param failure: turns a call's error into the one its caller sees.
    :param connect_timeout: seconds a new connection may take to connect.
    :param key_prefix: put before every key (see :class:`~sessionkit_memcached.wire.Connection`).

    Each send or receive may wait ``wait`` seconds too.
    """

    def __init__(
        self,
        server: Server,
        pool_size: int | None,
        wait: float,
        failure: FailureHandler,
        *,
        connect_timeout: float = 1.0,
        key_prefix: bytes = b"",
    ) -> None:
        self.server = server
        self.name = node_name(server)
        self.pool_size = pool_size
        self._idle: deque[Connection] = deque()
        self._slots = threading.BoundedSemaphore(pool_size) if pool_size else None
        self._wait = wait
        self._failure = failure
        self._connect = functools.partial(
            Connection, server, connect_timeout=connect_timeout, timeout=wait, key_prefix=key_prefix
        )
        self._closed = False

    def run(
        self, command: Callable[Concatenate[Connection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Run ``command(connection, *args)`` on an idle or new connection and return its
        result. A connection that raises is closed instead of coming back, and the error is
        handed to ``failure``, whose answer is raised."""
        slots = self._slots
        connection = None
        try:
            if slots is not None and not slots.acquire(timeout=self._wait):
                raise PoolExhaustedError(f"all {self.pool_size} connections stayed busy")
            try:
                connection = self._idle.pop()
            except IndexError:
                connection = self._connect()
            result = command(connection, *args, **kwargs)
        except BaseException as exc:
            if connection is not None:
                self._drop(connection, exc)
            if isinstance(exc, Exception):
                raise self._failure(self, exc, args) from exc
            raise
        self._idle.append(connection)
        if slots is not None:
            slots.release()
        if self._closed:
            self.close()
        return result

    @property
    def idle(self) -> tuple[Connection, ...]:
        """The connections waiting for a call, newest last."""
        return tuple(self._idle)

    def close(self) -> None:
        """Close the idle connections; connections in use are closed when they come back."""
        self._closed = True
        self._close_idle()

    def _drop(self, connection: Connection, exc: BaseException) -> None:
        connection.close()
        if self._slots is not None:
            self._slots.release()
        if isinstance(exc, CONNECTION_FAILURES):
            self._close_idle()

    def _close_idle(self) -> None:
        while True:
            try:
                connection = self._idle.pop()
            except IndexError:
                return
            connection.close()
