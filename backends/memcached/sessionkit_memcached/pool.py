"""The connections to one memcached node, shared by threads.

pymemcache's own ``PooledClient`` checks a connection out through a generator context
manager and a locked pair of deques, which costs more than the memcached command itself
(a read: ~69k instructions against ~49k for its plain ``Client``). :class:`NodePool` keeps
idle connections in one ``deque``, whose ``append`` and ``pop`` are thread-safe, and takes no
lock; only when ``pool_size`` bounds the connections does a semaphore count them.

A connection that fails is closed and dropped. If it failed on the connection itself
(refused, reset, closed by the server, timed out) the idle connections are closed too: they
lead to the same server and are most likely dead as well, so a server that went away costs
one failed call per pool, not one per pooled connection.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from typing import Concatenate, ParamSpec, Protocol, TypeVar, cast

from pymemcache.client.base import Client  # type: ignore[import-untyped]
from pymemcache.exceptions import (  # type: ignore[import-untyped]
    MemcacheUnexpectedCloseError,
    MemcacheUnknownError,
)

from .settings import Server, node_name

P = ParamSpec("P")
T = TypeVar("T")

#: Failures of the connection itself rather than of one command.
CONNECTION_FAILURES = (OSError, MemcacheUnexpectedCloseError, MemcacheUnknownError)


class Connection(Protocol):
    """The part of pymemcache's ``Client`` that the store uses, typed (pymemcache is not).

    Every command waits for the server's reply (the client is made with
    ``default_noreply=False``).
    """

    def get(self, key: str) -> bytes | None: ...
    def gets(self, key: str) -> tuple[bytes | None, bytes | None]: ...
    def set(self, key: str, value: bytes, expire: int) -> bool: ...
    def add(self, key: str, value: bytes, expire: int) -> bool: ...
    def replace(self, key: str, value: bytes, expire: int) -> bool: ...
    def cas(self, key: str, value: bytes, cas: bytes, expire: int) -> bool | None: ...
    def delete(self, key: str) -> bool: ...
    def touch(self, key: str, expire: int) -> bool: ...
    def close(self) -> None: ...


#: pymemcache's ``Client`` seen through :class:`Connection`: ``MemcacheClient.get`` is the
#: client's own unbound ``get``, typed, so a store command is checked by mypy.
MemcacheClient = cast(type[Connection], Client)


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
    :param client_options: keyword arguments for each pymemcache ``Client``.
    """

    def __init__(
        self,
        server: Server,
        pool_size: int | None,
        wait: float,
        failure: FailureHandler,
        **client_options: object,
    ) -> None:
        self.server = server
        self.name = node_name(server)
        self.pool_size = pool_size
        self._idle: deque[Connection] = deque()
        self._slots = threading.BoundedSemaphore(pool_size) if pool_size else None
        self._wait = wait
        self._failure = failure
        self._client_options = client_options
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
                connection = Client(self.server, **self._client_options)
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
