"""A lean asyncio client for one Redis server over TCP, TLS or a Unix socket: what the async
twin sends, on one connection per event loop, replies parsed by hiredis.

redis.asyncio spends some 312,000 instructions on a GET (callgrind) against 141,000 for
redis-py's blocking client: a pool checkout under an asyncio lock, a stream reader and a
parser in Python per command. Here a command is packed by hiredis and written to the
transport, and the protocol's ``data_received`` hands each reply to the future of the oldest
request still waiting: Redis answers one connection's commands in the order it received
them, so parallel requests share the connection, pipelined, with no pool. A request that
gets no reply within the try's timeout fails with redis-py's ``TimeoutError`` and takes the
connection down with it, since whatever held its reply holds the others' too; the next
request connects anew. A request whose awaiting task is cancelled leaves its reply to be
read and dropped when it comes.

Errors are redis-py's exception classes, as redis-py would raise them, so the store's retry
policy and error messages (:mod:`sessionkit_redis.errors`) are one for both clients. TLS
takes the same options as redis-py's, with the same meanings (see :func:`tls_context`).
Sentinel and Cluster stay with redis.asyncio (:func:`sessionkit_redis.clients.is_lean`).
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections import deque
from collections.abc import Sequence
from ssl import SSLContext
from typing import Any

import hiredis
from redis import exceptions
from redis.typing import EncodableT

#: An error reply's first word, and the redis-py exception it stands for; the word is taken
#: off the message, as redis-py does for these. ``ERR`` replies are told apart by message.
_CODES: dict[str, type[exceptions.RedisError]] = {
    "NOSCRIPT": exceptions.NoScriptError,
    "READONLY": exceptions.ReadOnlyError,
    "LOADING": exceptions.BusyLoadingError,
    "MASTERDOWN": exceptions.MasterDownError,
    "WRONGPASS": exceptions.AuthenticationError,
    "NOAUTH": exceptions.AuthenticationError,
    "NOPERM": exceptions.NoPermissionError,
    "OOM": exceptions.OutOfMemoryError,
    "EXECABORT": exceptions.ExecAbortError,
}
_ERR_MESSAGES: tuple[tuple[str, type[exceptions.RedisError]], ...] = (
    ("max number of clients reached", exceptions.ConnectionError),
    ("invalid password", exceptions.AuthenticationError),
    ("invalid username-password pair", exceptions.AuthenticationError),
    ("Client sent AUTH, but no password is set", exceptions.AuthenticationError),
    (
        "wrong number of arguments for 'auth' command",
        exceptions.AuthenticationWrongNumberOfArgsError,
    ),
    ("AUTH <password> called without any password", exceptions.AuthenticationError),
)


def reply_error(reply: hiredis.ReplyError) -> exceptions.RedisError:
    """The redis-py exception for an error reply."""
    message = str(reply)
    code, _, rest = message.partition(" ")
    if code == "ERR":
        for start, kind in _ERR_MESSAGES:
            if rest.startswith(start):
                return kind(rest)
        return exceptions.ResponseError(rest)
    coded = _CODES.get(code)
    return exceptions.ResponseError(message) if coded is None else coded(rest)


_CERT_REQS = {"none": ssl.CERT_NONE, "optional": ssl.CERT_OPTIONAL, "required": ssl.CERT_REQUIRED}


def tls_context(
    ca_certs: str | None, certfile: str | None, keyfile: str | None, cert_reqs: str, check: bool
) -> SSLContext:
    """The TLS context redis-py makes of the same options: the system's defaults, the
    certificate check ``cert_reqs`` asks for (the host name checked only if ``check`` and
    certificates are checked at all), a client certificate, and ``ca_certs`` trusted too."""
    context = ssl.create_default_context()
    mode = _CERT_REQS[cert_reqs]
    context.check_hostname = check and mode != ssl.CERT_NONE
    context.verify_mode = mode
    if certfile or keyfile:
        context.load_cert_chain(certfile=certfile, keyfile=keyfile)  # type: ignore[arg-type]
    if ca_certs:
        context.load_verify_locations(cafile=ca_certs)
    return context


def _pack(args: tuple[EncodableT, ...]) -> bytes:
    """A command in RESP, as hiredis writes it."""
    packed: bytes = hiredis.pack_command(args)  # type: ignore[arg-type] # stub: a 1-tuple
    return packed


class _Connection(asyncio.Protocol):
    """One connection: requests written in order, replies handed out in the same order."""

    def __init__(self, timeout: float | None) -> None:
        self._reader = hiredis.Reader()
        self._waiting: deque[tuple[asyncio.Future[Any], asyncio.TimerHandle | None]] = deque()
        self._timeout = timeout
        self._loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.broken: exceptions.ConnectionError | None = None
        self.last_used = time.monotonic()  # kept by the client when it checks health

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def request(self, packed: bytes, replies: int = 1) -> list[asyncio.Future[Any]]:
        """Write ``packed`` (``replies`` commands); the futures of their replies."""
        if self.broken is not None or self.transport is None:
            raise self.broken or exceptions.ConnectionError("not connected")
        self.transport.write(packed)
        futures = []
        for _ in range(replies):
            future = self._loop.create_future()
            timer = None
            if self._timeout is not None:
                timer = self._loop.call_later(self._timeout, self._expired, future)
            self._waiting.append((future, timer))
            futures.append(future)
        return futures

    def _expired(self, future: asyncio.Future[Any]) -> None:
        if not future.done():
            future.set_exception(exceptions.TimeoutError(f"no reply within {self._timeout:g} s"))
        self.close(exceptions.TimeoutError("a request on this connection timed out"))

    def data_received(self, data: bytes) -> None:
        reader, waiting = self._reader, self._waiting
        reader.feed(data)
        while True:
            try:
                reply = reader.gets()
            except hiredis.ProtocolError as exc:
                self.close(exceptions.ConnectionError(f"the server broke the protocol: {exc}"))
                return
            if reply is False:
                return
            if not waiting:
                self.close(exceptions.ConnectionError("a reply came to no request"))
                return
            future, timer = waiting.popleft()
            if timer is not None:
                timer.cancel()
            if not future.done():  # else cancelled or timed out: the reply is dropped
                future.set_result(reply)

    def connection_lost(self, exc: Exception | None) -> None:
        reason = f" ({exc})" if exc is not None else ""
        self._fail(exceptions.ConnectionError(f"the connection was closed{reason}"))

    def close(self, error: exceptions.ConnectionError | exceptions.TimeoutError) -> None:
        """Fail every waiting request with ``error`` and drop the connection."""
        self._fail(error)
        if self.transport is not None:
            self.transport.abort()

    def _fail(self, error: exceptions.RedisError) -> None:
        if self.broken is None:
            self.broken = (
                error
                if isinstance(error, exceptions.ConnectionError)
                else exceptions.ConnectionError(str(error))
            )
        waiting = self._waiting
        while waiting:
            future, timer = waiting.popleft()
            if timer is not None:
                timer.cancel()
            if not future.done():  # an exception of its own for each waiting task
                future.set_exception(type(error)(*error.args))


class LeanRedis:
    """The client: ``execute_command``, ``pipeline(transaction=False)`` and ``aclose``, as
    far as the store uses them on a ``redis.asyncio.Redis``.

    :param socket_timeout: how long a request waits for its reply (None: no bound).
    :param socket_connect_timeout: how long connecting, with the handshake, may take.
    :param health_check_interval: before a request on a connection idle this many seconds,
        a PING checks it (0: never).
    :param ssl: connect over TLS, with the ``ssl_*`` options (see :func:`tls_context`).
    """

    def __init__(
        self,
        *,
        host: str = "localhost",
        port: int = 6379,
        unix_socket_path: str | None = None,
        db: int = 0,
        username: str | None = None,
        password: str | None = None,
        socket_timeout: float | None = None,
        socket_connect_timeout: float | None = None,
        health_check_interval: int = 0,
        ssl: bool = False,
        ssl_ca_certs: str | None = None,
        ssl_certfile: str | None = None,
        ssl_keyfile: str | None = None,
        ssl_cert_reqs: str = "required",
        ssl_check_hostname: bool = True,
    ) -> None:
        self.host, self.port, self.unix_socket_path = host, port, unix_socket_path
        # made at the first connection, whose failure it is if a file cannot be read
        self._tls = (ssl_ca_certs, ssl_certfile, ssl_keyfile, ssl_cert_reqs, ssl_check_hostname)
        self._tls_context: SSLContext | None = None
        self.ssl = ssl
        self.db = db
        self._credentials = (username, password)
        self.socket_timeout = socket_timeout
        self.socket_connect_timeout = socket_connect_timeout
        self.health_check_interval = health_check_interval
        self._connection: _Connection | None = None
        self._connecting: asyncio.Lock | None = None

    def __repr__(self) -> str:
        where = self.unix_socket_path or f"{self.host}:{self.port}"
        return f"{type(self).__name__}({where}, db={self.db})"

    async def execute_command(self, *args: EncodableT) -> Any:
        connection = self._connection
        if connection is None or connection.broken is not None or self._stale(connection):
            connection = await self._connect()  # the first, or after a failure, or idle
        (future,) = connection.request(_pack(args))
        reply = await future
        if self.health_check_interval:
            connection.last_used = time.monotonic()
        if type(reply) is hiredis.ReplyError:
            raise reply_error(reply)
        return reply

    def pipeline(self, transaction: bool = False) -> Pipeline:
        if transaction:
            raise ValueError("the lean client sends no transactions")
        return Pipeline(self)

    async def execute_many(self, commands: Sequence[tuple[EncodableT, ...]]) -> list[Any]:
        """Send ``commands`` at once; their replies, or raise the first error among them."""
        connection = self._connection
        if connection is None or connection.broken is not None or self._stale(connection):
            connection = await self._connect()
        packed = b"".join(_pack(command) for command in commands)
        replies = [await future for future in connection.request(packed, len(commands))]
        if self.health_check_interval:
            connection.last_used = time.monotonic()
        for reply in replies:
            if type(reply) is hiredis.ReplyError:
                raise reply_error(reply)
        return replies

    async def aclose(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None and connection.transport is not None:
            connection.broken = exceptions.ConnectionError("the client was closed")
            connection.transport.close()

    def _stale(self, connection: _Connection) -> bool:
        interval = self.health_check_interval
        return interval > 0 and time.monotonic() - connection.last_used > interval

    async def _connect(self) -> _Connection:
        """The open connection, checked with a PING if idle past the health check interval;
        a new one, with its handshake done, if it is gone."""
        if self._connecting is None:
            self._connecting = asyncio.Lock()
        async with self._connecting:  # one connection at a time, for every waiting request
            connection = self._connection
            if connection is not None and connection.broken is None:
                if not self._stale(connection):
                    return connection
                try:
                    await self._handshake(connection, [("PING",)])
                except (exceptions.ConnectionError, exceptions.TimeoutError):
                    pass
                else:
                    connection.last_used = time.monotonic()
                    return connection
                connection.close(exceptions.ConnectionError("the health check failed"))
            self._connection = None
            try:
                connection = await asyncio.wait_for(self._open(), self.socket_connect_timeout)
            except asyncio.TimeoutError:
                raise exceptions.TimeoutError(
                    f"no connection within {self.socket_connect_timeout:g} s"
                ) from None
            self._connection = connection
            return connection

    async def _open(self) -> _Connection:
        loop = asyncio.get_running_loop()
        timeout = self.socket_timeout
        try:
            if self.unix_socket_path is not None:
                _, connection = await loop.create_unix_connection(
                    lambda: _Connection(timeout), self.unix_socket_path
                )
            else:
                if self.ssl and self._tls_context is None:
                    self._tls_context = tls_context(*self._tls)
                _, connection = await loop.create_connection(
                    lambda: _Connection(timeout), self.host, self.port, ssl=self._tls_context
                )
        except OSError as exc:
            where = self.unix_socket_path or f"{self.host}:{self.port}"
            raise exceptions.ConnectionError(f"cannot connect to {where}: {exc}") from exc
        setup: list[tuple[EncodableT, ...]] = []
        username, password = self._credentials
        if password is not None:
            setup.append(("AUTH", password) if username is None else ("AUTH", username, password))
        if self.db:
            setup.append(("SELECT", self.db))
        try:
            await self._handshake(connection, setup)
        except BaseException:
            connection.close(exceptions.ConnectionError("the handshake failed"))
            raise
        return connection

    @staticmethod
    async def _handshake(connection: _Connection, commands: list[tuple[EncodableT, ...]]) -> None:
        if not commands:
            return
        packed = b"".join(_pack(command) for command in commands)
        for future in connection.request(packed, len(commands)):
            reply = await future
            if type(reply) is hiredis.ReplyError:
                raise reply_error(reply)


class Pipeline:
    """Commands gathered, then sent at once by :meth:`execute`."""

    def __init__(self, client: LeanRedis) -> None:
        self._client = client
        self._commands: list[tuple[EncodableT, ...]] = []

    def execute_command(self, *args: EncodableT) -> Pipeline:
        self._commands.append(args)
        return self

    async def execute(self) -> list[Any]:
        commands, self._commands = self._commands, []
        return await self._client.execute_many(commands)
