"""One connection to a memcached node, speaking the text protocol for the store's commands.

pymemcache's ``Client`` spends some 49,000 instructions on a ``gets`` of 300 bytes
(callgrind): every command goes through its generic key checks, serializer and reply
parsing. The store needs eight commands on keys it has checked itself (a printable prefix
checked once, then a validated session id), with bytes for values, so each is written here
as the protocol has it: one ``sendall`` of the command (and its data), then its reply read
from one buffer.

Every command waits for its reply. A connection that fails in any way is not used again:
the pool drops it (:mod:`sessionkit_memcached.pool`). Its errors:

- :class:`ConnectionClosed` (a ``ConnectionError``, so an ``OSError``): the server closed
  the connection; :class:`ProtocolError` (also an ``OSError``): a reply the protocol does not
  allow, so the connection cannot be trusted any more; ``TimeoutError`` and the other
  ``OSError`` of the socket: the connection failed.
- :class:`ServerError` (``SERVER_ERROR``, e.g. an item over the server's size limit) and
  :class:`ClientError` (``CLIENT_ERROR``): the server refused that command.
"""

from __future__ import annotations

import socket

from .settings import Server

RECV_SIZE = 65536
_END = b"END"
_STORED = b"STORED"


class ConnectionClosed(ConnectionError):
    """The server closed the connection."""


class ProtocolError(OSError):
    """A reply the memcached protocol does not allow."""


class ServerError(Exception):
    """The server refused the command (``SERVER_ERROR``)."""


class ClientError(Exception):
    """The server found the command malformed (``CLIENT_ERROR``)."""


class Connection:
    """A connected socket to one node (TCP with Nagle off, or a Unix socket).

    :param server: ``(host, port)`` or a Unix socket path.
    :param connect_timeout: seconds to connect.
    :param timeout: seconds any one send or receive may wait.
    :param key_prefix: put before every key.
    """

    def __init__(
        self, server: Server, *, connect_timeout: float, timeout: float, key_prefix: bytes
    ) -> None:
        if isinstance(server, str):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.settimeout(connect_timeout)
                sock.connect(server)
            except BaseException:
                sock.close()
                raise
        else:
            sock = socket.create_connection(server, connect_timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(timeout)
        self.sock = sock
        self._prefix = key_prefix
        self._buffer = b""

    def close(self) -> None:
        self.sock.close()

    # -- reading

    def get(self, key: str) -> bytes | None:
        self.sock.sendall(b"get %s%s\r\n" % (self._prefix, key.encode()))
        return self._value(cas=False)[0]

    def gets(self, key: str) -> tuple[bytes | None, bytes | None]:
        self.sock.sendall(b"gets %s%s\r\n" % (self._prefix, key.encode()))
        return self._value(cas=True)

    def _value(self, *, cas: bool) -> tuple[bytes | None, bytes | None]:
        """The value a ``get`` or ``gets`` of one key answered, and its CAS token."""
        line = self._line()
        if line == _END:
            return None, None
        parts = line.split()
        if parts[0] != b"VALUE" or len(parts) != (5 if cas else 4) or not parts[3].isdigit():
            raise self._unexpected(line)
        size = int(parts[3])
        data = self._exactly(size + 2)
        if data[size:] != b"\r\n" or self._line() != _END:
            raise ProtocolError("a value did not end as the protocol says")
        return data[:size], parts[4] if cas else None

    # -- writing

    def set(self, key: str, value: bytes, expire: int) -> bool:
        return self._store(b"set", key, value, expire) == _STORED

    def add(self, key: str, value: bytes, expire: int) -> bool:
        return self._store(b"add", key, value, expire) == _STORED

    def replace(self, key: str, value: bytes, expire: int) -> bool:
        return self._store(b"replace", key, value, expire) == _STORED

    def cas(self, key: str, value: bytes, cas: bytes, expire: int) -> bool | None:
        """True if stored, False if the item changed since ``cas`` was read, None if it is
        gone."""
        reply = self._store(b"cas", key, value, expire, b" " + cas)
        return True if reply == _STORED else None if reply == b"NOT_FOUND" else False

    def _store(
        self, command: bytes, key: str, value: bytes, expire: int, cas: bytes = b""
    ) -> bytes:
        head = b"%s %s%s 0 %d %d%s\r\n" % (
            command, self._prefix, key.encode(), expire, len(value), cas
        )  # fmt: skip
        self.sock.sendall(b"".join((head, value, b"\r\n")))
        reply = self._line()
        if reply in (_STORED, b"NOT_STORED", b"EXISTS", b"NOT_FOUND"):
            return reply
        raise self._unexpected(reply)

    def delete(self, key: str) -> bool:
        self.sock.sendall(b"delete %s%s\r\n" % (self._prefix, key.encode()))
        return self._answer(b"DELETED")

    def touch(self, key: str, expire: int) -> bool:
        self.sock.sendall(b"touch %s%s %d\r\n" % (self._prefix, key.encode(), expire))
        return self._answer(b"TOUCHED")

    def _answer(self, done: bytes) -> bool:
        """True for ``done``, False for ``NOT_FOUND``."""
        reply = self._line()
        if reply == done or reply == b"NOT_FOUND":
            return reply == done
        raise self._unexpected(reply)

    # -- the reply stream

    def _line(self) -> bytes:
        """The next line of the reply, without its CRLF."""
        buffer = self._buffer
        end = buffer.find(b"\r\n")
        while end < 0:
            start = max(len(buffer) - 1, 0)
            buffer += self._receive()
            end = buffer.find(b"\r\n", start)
        self._buffer = buffer[end + 2 :]
        return buffer[:end]

    def _exactly(self, size: int) -> bytes:
        """The next ``size`` bytes of the reply."""
        buffer = self._buffer
        if len(buffer) < size:
            chunks = [buffer]
            have = len(buffer)
            while have < size:
                chunk = self._receive()
                chunks.append(chunk)
                have += len(chunk)
            buffer = b"".join(chunks)
        self._buffer = buffer[size:]
        return buffer[:size]

    def _receive(self) -> bytes:
        chunk = self.sock.recv(RECV_SIZE)
        if not chunk:
            raise ConnectionClosed("memcached closed the connection")
        return chunk

    @staticmethod
    def _unexpected(line: bytes) -> Exception:
        """The error a reply line other than the expected ones stands for."""
        if line.startswith(b"SERVER_ERROR"):
            return ServerError(line[13:].decode("ascii", "replace"))
        if line.startswith(b"CLIENT_ERROR"):
            return ClientError(line[13:].decode("ascii", "replace"))
        word = line.split(b" ", 1)[0][:16]  # the first word only: a VALUE line holds a key
        return ProtocolError(f"unexpected reply {word!r}")
