"""``file:///abs/dir`` or ``file://./relative/dir``: one file per session on local disk.

Layout: ``DIR/<first two id characters>/<id>``, files mode 0600 in directories mode 0700.
Each file starts with an 8-byte big-endian expiry (Unix time in milliseconds) followed by the
data. Every write goes to a temporary file that is then renamed over the target, so a reader
sees either the old or the new file, never a partial one, also across processes. ``add``,
``replace``, ``touch`` and ``delete`` hold an exclusive ``flock`` on the shard's lock file, so
create-only and update-only writes are atomic between threads and processes alike.

Expired files are ignored on read and removed by :meth:`FileStore.purge_expired` (the
``sessionkit purge URL`` command); nothing else is ever deleted.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import struct
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ..errors import ConfigurationError
from ..ids import check_session_id, check_ttl, is_valid_session_id
from ..url import StoreURL

_HEADER = struct.Struct(">Q")
_LOCK_NAME = ".lock"
_TEMP_PREFIX = ".tmp-"
_STALE_TEMP_SECONDS = 3600


class FileStore:
    """Sessions as files under ``directory``; see the module docstring for the format."""

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        fsync: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.directory = Path(directory).absolute()
        self.fsync = fsync
        self._clock = clock
        self.initialize()

    @classmethod
    def from_url(cls, url: str, **options: Any) -> FileStore:
        parsed = StoreURL.parse(url)
        parsed.reject_unknown_options({"fsync"})
        host = ",".join(host for host, _ in parsed.hosts)
        if host not in ("", ".", "localhost"):
            raise ConfigurationError(
                f"file store URL {parsed.masked!r}: use file:///absolute/dir or file://./relative/dir"
            )
        directory = "." + parsed.path if host == "." else parsed.path
        if not parsed.path.strip("/"):
            raise ConfigurationError(f"file store URL {parsed.masked!r} names no directory")
        options.setdefault("fsync", parsed.bool_option("fsync", False))
        return cls(directory, **options)

    def initialize(self) -> None:
        """Create the directory (mode 0700) if it is missing."""
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)

    # -- the Store protocol

    def get(self, sid: str) -> bytes | None:
        if not is_valid_session_id(sid):
            return None
        return self._read_live(self._path(sid))

    def set(self, sid: str, data: bytes, ttl: int) -> None:
        check_session_id(sid)
        self._write(self._path(sid), data, check_ttl(ttl))

    def add(self, sid: str, data: bytes, ttl: int) -> bool:
        check_session_id(sid)
        check_ttl(ttl)
        path = self._path(sid)
        with self._locked(path.parent):
            if self._expiry(path) is not None:
                return False
            self._write(path, data, ttl)
            return True

    def replace(self, sid: str, data: bytes, ttl: int) -> bool:
        check_session_id(sid)
        check_ttl(ttl)
        path = self._path(sid)
        with self._locked(path.parent):
            if self._expiry(path) is None:
                return False
            self._write(path, data, ttl)
            return True

    def delete(self, sid: str) -> None:
        if not is_valid_session_id(sid):
            return
        path = self._path(sid)
        with self._locked(path.parent, create=False), contextlib.suppress(FileNotFoundError):
            path.unlink()

    def touch(self, sid: str, ttl: int) -> bool:
        check_ttl(ttl)
        if not is_valid_session_id(sid):
            return False
        path = self._path(sid)
        with self._locked(path.parent, create=False):
            data = self._read_live(path)
            if data is None:
                return False
            self._write(path, data, ttl)
            return True

    def close(self) -> None:
        """Nothing to release: no file is held open between calls."""

    # -- optional capabilities

    def purge_expired(self) -> int:
        """Remove expired session files; return how many were removed.

        Temporary files older than an hour, left by a process that died mid-write, go too
        (they are not counted).
        """
        self._remove_stale_temporaries()
        removed = 0
        for path in self._session_files():
            if self._expiry(path) is None:
                with self._locked(path.parent, create=False):
                    if self._expiry(path) is None:
                        with contextlib.suppress(FileNotFoundError):
                            path.unlink()
                            removed += 1
        return removed

    def _remove_stale_temporaries(self) -> None:
        cutoff = time.time() - _STALE_TEMP_SECONDS
        for temp in self.directory.glob(f"??/{_TEMP_PREFIX}*"):
            with contextlib.suppress(FileNotFoundError):
                if temp.stat().st_mtime < cutoff:
                    temp.unlink()

    def count(self) -> int:
        return sum(1 for path in self._session_files() if self._expiry(path) is not None)

    def clear(self) -> None:
        for path in self._session_files():
            with contextlib.suppress(FileNotFoundError):
                path.unlink()

    # -- internals

    def _path(self, sid: str) -> Path:
        return self.directory / sid[:2] / sid

    def _session_files(self) -> Iterator[Path]:
        for shard in self.directory.iterdir():
            if shard.is_dir() and len(shard.name) == 2:
                for path in shard.iterdir():
                    if is_valid_session_id(path.name):
                        yield path

    def _read_live(self, path: Path) -> bytes | None:
        try:
            with open(path, "rb") as handle:
                raw = handle.read()
        except FileNotFoundError:
            return None
        if len(raw) < _HEADER.size or _HEADER.unpack_from(raw)[0] <= self._clock() * 1000:
            return None
        return raw[_HEADER.size :]

    def _expiry(self, path: Path) -> int | None:
        """The expiry of a live file in ms, or None if it is expired, gone or unreadable."""
        try:
            with open(path, "rb") as handle:
                header = handle.read(_HEADER.size)
        except FileNotFoundError:
            return None
        if len(header) < _HEADER.size:
            return None
        expires: int = _HEADER.unpack(header)[0]
        return expires if expires > self._clock() * 1000 else None

    def _write(self, path: Path, data: bytes, ttl: int) -> None:
        expires = int((self._clock() + ttl) * 1000)
        try:
            fd, temp = tempfile.mkstemp(prefix=_TEMP_PREFIX, dir=path.parent)
        except FileNotFoundError:  # the shard's first session
            path.parent.mkdir(mode=0o700, exist_ok=True)
            fd, temp = tempfile.mkstemp(prefix=_TEMP_PREFIX, dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(_HEADER.pack(expires))
                handle.write(data)
                if self.fsync:
                    handle.flush()
                    os.fsync(handle.fileno())
            os.replace(temp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)
            raise

    @contextlib.contextmanager
    def _locked(self, shard: Path, *, create: bool = True) -> Iterator[None]:
        """Hold the shard's exclusive lock (between threads and processes alike)."""
        lock = shard / _LOCK_NAME
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
        except FileNotFoundError:
            if not create:
                yield  # the shard does not exist, so neither does anything in it
                return
            shard.mkdir(mode=0o700, exist_ok=True)
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)
