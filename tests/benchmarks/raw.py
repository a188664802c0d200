"""The raw-client baselines: each backend's store work done by hand with its own client.

Every class offers the four operations the benchmark cases need, on plain keys:
``get`` (one read), ``put`` (an unconditional write with a TTL), ``create`` (a
create-only write) and ``expire`` (refresh the TTL). No signing, no serialising, no
validation: what is left is the round trip a store cannot avoid. The SQL baseline is in
``raw_sql`` so that this module imports without SQLAlchemy.
"""

from __future__ import annotations

import os
import struct
import tempfile
import time
from pathlib import Path
from typing import Any, Protocol

_FILE_HEADER = struct.Struct(">Q")


class Raw(Protocol):
    def get(self, key: str) -> bytes | None: ...
    def put(self, key: str, data: bytes, ttl: int) -> None: ...
    def create(self, key: str, data: bytes, ttl: int) -> None: ...
    def expire(self, key: str, ttl: int) -> None: ...
    def close(self) -> None: ...


class RawMemory:
    """A dict holding ``(expiry, data)``, as an in-process store must."""

    def __init__(self) -> None:
        self.table: dict[str, tuple[float, bytes]] = {}

    def get(self, key: str) -> bytes | None:
        entry = self.table.get(key)
        return None if entry is None else entry[1]

    def put(self, key: str, data: bytes, ttl: int) -> None:
        self.table[key] = (time.monotonic() + ttl, data)

    def create(self, key: str, data: bytes, ttl: int) -> None:
        self.table.setdefault(key, (time.monotonic() + ttl, data))

    def expire(self, key: str, ttl: int) -> None:
        self.table[key] = (time.monotonic() + ttl, self.table[key][1])

    def close(self) -> None:
        self.table.clear()


class RawFile:
    """One file per key: a plain read, and an atomic write (temp file + ``os.replace``)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(mode=0o700, exist_ok=True)

    def get(self, key: str) -> bytes | None:
        try:
            with open(self.directory / key, "rb") as handle:
                return handle.read()[_FILE_HEADER.size :]
        except FileNotFoundError:
            return None

    def put(self, key: str, data: bytes, ttl: int) -> None:
        fd, temp = tempfile.mkstemp(dir=self.directory)
        with os.fdopen(fd, "wb") as handle:
            handle.write(_FILE_HEADER.pack(int((time.time() + ttl) * 1000)))
            handle.write(data)
        os.replace(temp, self.directory / key)

    create = put

    def expire(self, key: str, ttl: int) -> None:
        data = self.get(key)
        assert data is not None
        self.put(key, data, ttl)

    def close(self) -> None:
        """The directory is removed with the benchmark's temporary directory."""


class RawRedis:
    """redis-py: GET, SET EX, SET NX EX, EXPIRE on the store's own client."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def get(self, key: str) -> bytes | None:
        data: bytes | None = self.client.get(key)
        return data

    def put(self, key: str, data: bytes, ttl: int) -> None:
        self.client.set(key, data, ex=ttl)

    def create(self, key: str, data: bytes, ttl: int) -> None:
        self.client.set(key, data, ex=ttl, nx=True)

    def expire(self, key: str, ttl: int) -> None:
        self.client.expire(key, ttl)

    def close(self) -> None:
        """The client belongs to the store, which closes it."""


class RawMemcached:
    """pymemcache's PooledClient with the store's settings: TCP_NODELAY, replies on."""

    def __init__(self, server: tuple[str, int], prefix: str, timeout: float) -> None:
        from pymemcache.client.base import PooledClient  # type: ignore[import-untyped]

        self.client = PooledClient(
            server,
            connect_timeout=timeout,
            timeout=timeout,
            no_delay=True,
            default_noreply=False,
            key_prefix=prefix.encode("ascii"),
        )

    def get(self, key: str) -> bytes | None:
        data: bytes | None = self.client.get(key)
        return data

    def put(self, key: str, data: bytes, ttl: int) -> None:
        self.client.set(key, data, ttl)

    def create(self, key: str, data: bytes, ttl: int) -> None:
        self.client.add(key, data, ttl)

    def expire(self, key: str, ttl: int) -> None:
        self.client.touch(key, ttl)

    def close(self) -> None:
        self.client.close()
