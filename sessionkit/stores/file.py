"""``file:///abs/dir`` or ``file://./relative/dir``: one file per session on local disk.

Layout: ``DIR/<first two id characters>/<id>``, files mode 0600 in directories mode 0700
(an existing directory that others may write to gets a warning). Each file starts with an
8-byte big-endian expiry (Unix time in milliseconds) followed by the data. Every write goes to
a temporary file, locked while it is written, that is then renamed over the target: a reader
sees either the old or the new file, never a partial one, also across processes. ``add``,
``replace``, ``replace_versioned``, ``touch`` and ``delete`` hold an exclusive ``flock`` on the
shard's lock file, so they are atomic between threads and processes alike. An entry's
version is its data: a compare-and-set compares contents under that lock.

Users' indexes ("log out everywhere") are files under ``DIR/users/``, one per user, named by
the SHA-256 of the user id and holding the ids bound to it.

Expired files are ignored on read and removed by :meth:`FileStore.purge_expired`, with the
temporary files of writers that died mid-write (no live writer holds their lock), which are
also removed when the store is opened. The directory is made at the first write or by
:meth:`FileStore.initialize` (``sessionkit init URL``); nothing else creates it.
"""

from __future__ import annotations

import builtins
import contextlib
import fcntl
import hashlib
import logging
import os
import secrets
import stat
import struct
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ..errors import ConfigurationError, StoreUnavailableError
from ..ids import check_session_id, check_ttl, check_user_id, is_valid_session_id
from ..store import GONE, Entry, Swap, Version
from ..url import StoreOptions, StoreURL

log = logging.getLogger("sessionkit")

_HEADER = struct.Struct(">Q")
_LOCK_NAME = ".lock"
_TEMP_PREFIX = ".tmp-"
_USERS = "users"
_TEMP_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


def _write_all(fd: int, content: bytes) -> None:
    view = memoryview(content)
    while view:
        view = view[os.write(fd, view) :]


class FileStore:
    """Sessions as files under ``directory``; see the module docstring for the format.

    :param fsync: flush every write, and the directory after each rename, to the disk.
    :param clock: the time source, in seconds since the epoch.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        fsync: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.directory = Path(directory).absolute()
        self._root = str(self.directory)
        self.fsync = fsync
        self._clock = clock
        self._url = f"file://{self.directory}"
        if self.directory.is_dir():
            self._check_permissions()
            self._remove_dead_temporaries()

    @classmethod
    def from_url(cls, url: str, **options: Any) -> FileStore:
        parsed = StoreURL.parse(url)
        clock = options.pop("clock", time.time)
        given = StoreOptions(parsed, options, {"fsync": False})
        host = ",".join(host for host, _ in parsed.hosts)
        if host not in ("", ".", "localhost"):
            raise ConfigurationError(
                f"file store URL {parsed.masked!r}: use file:///absolute/dir or file://./relative/dir"
            )
        if not parsed.path.strip("/"):
            raise ConfigurationError(f"file store URL {parsed.masked!r} names no directory")
        directory = "." + parsed.path if host == "." else parsed.path
        return cls(directory, fsync=given.flag("fsync"), clock=clock)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.directory)!r})"

    def initialize(self) -> None:
        """Create the directory (mode 0700, parents too) if it is missing."""
        self._make_directory(self.directory)

    # -- the Store protocol

    def get(self, sid: str) -> bytes | None:
        if not is_valid_session_id(sid):
            return None
        return self._read_live(self._paths(sid)[1])

    def set(self, sid: str, data: bytes, ttl: int) -> None:
        check_session_id(sid)
        self._write(*self._paths(sid), data, check_ttl(ttl))

    def add(self, sid: str, data: bytes, ttl: int) -> bool:
        check_session_id(sid)
        check_ttl(ttl)
        shard, path = self._paths(sid)
        with self._locked(shard):
            if self._expiry(path) is not None:
                return False
            self._write(shard, path, data, ttl)
            return True

    def replace(self, sid: str, data: bytes, ttl: int) -> bool:
        check_session_id(sid)
        check_ttl(ttl)
        shard, path = self._paths(sid)
        with self._locked(shard, create=False):
            if self._expiry(path) is None:
                return False
            self._write(shard, path, data, ttl)
            return True

    def delete(self, sid: str) -> bool:
        if not is_valid_session_id(sid):
            return False
        shard, path = self._paths(sid)
        with self._locked(shard, create=False):
            live = self._expiry(path) is not None
            with contextlib.suppress(FileNotFoundError):
                self._os(os.unlink, path)
            return live

    def touch(self, sid: str, ttl: int) -> bool:
        check_ttl(ttl)
        if not is_valid_session_id(sid):
            return False
        shard, path = self._paths(sid)
        with self._locked(shard, create=False):
            data = self._read_live(path)
            if data is None:
                return False
            self._write(shard, path, data, ttl)
            return True

    def close(self) -> None:
        """Nothing to release: no file is held open between calls."""

    # -- versions

    def get_versioned(self, sid: str) -> Entry | None:
        data = self.get(sid)
        return None if data is None else Entry(data, data)

    def replace_versioned(self, sid: str, data: bytes, ttl: int, version: Version) -> Swap:
        check_session_id(sid)
        check_ttl(ttl)
        shard, path = self._paths(sid)
        with self._locked(shard, create=False):
            current = self._read_live(path)
            if current is None:
                return GONE
            if current != version:
                return Swap(False, Entry(current, current))
            self._write(shard, path, data, ttl)
            return Swap(True, Entry(data, data))

    # -- the per-user index

    def bind_user(self, user_id: str, sid: str, ttl: int) -> None:
        check_session_id(sid)
        with self._user_index(user_id) as (sids, keep):
            keep.update(known for known in sids if self.get(known) is not None)
            keep.add(sid)

    def user_sessions(self, user_id: str) -> dict[str, bytes]:
        found = {}
        with self._user_index(user_id) as (sids, keep):
            for sid in sids:
                data = self.get(sid)
                if data is not None:
                    found[sid] = data
                    keep.add(sid)
        return found

    def delete_user_sessions(self, user_id: str, keep: str | None = None) -> int:
        removed = 0
        with self._user_index(user_id) as (sids, kept):
            for sid in sids:
                if sid == keep:
                    kept.add(sid)
                elif self.delete(sid):
                    removed += 1
        return removed

    @contextlib.contextmanager
    def _user_index(self, user_id: str) -> Iterator[tuple[list[str], builtins.set[str]]]:
        """The ids in ``user_id``'s index, and a set the caller fills with the ids to keep;
        the index is rewritten with those when the block ends. Holds the index's lock."""
        check_user_id(user_id)
        index = self.directory / _USERS / hashlib.sha256(user_id.encode()).hexdigest()
        with self._locked(str(index.parent), create=True):
            try:
                text = self._os(index.read_text, "ascii")
            except FileNotFoundError:
                text = ""
            sids = [sid for sid in text.split() if is_valid_session_id(sid)]
            keep: builtins.set[str] = builtins.set()
            yield sids, keep
            if keep:
                content = "\n".join(sorted(keep)).encode("ascii")
                self._write_atomically(str(index.parent), str(index), content)
            else:
                with contextlib.suppress(FileNotFoundError):
                    self._os(index.unlink)

    # -- optional capabilities

    def purge_expired(self, limit: int | None = None) -> int:
        """Remove expired session files, at most ``limit`` of them (None: every one); return
        how many were removed.

        Temporary files of writers that died mid-write go too (they are not counted). A
        missing directory is a :class:`~sessionkit.ConfigurationError` (a mistyped path).
        """
        self._require_directory()
        self._remove_dead_temporaries()
        removed = 0
        for path in self._session_files():
            if limit is not None and removed >= limit:
                break
            if self._expiry(path) is None:
                with self._locked(str(path.parent), create=False):
                    if self._expiry(path) is None:
                        with contextlib.suppress(FileNotFoundError):
                            path.unlink()
                            removed += 1
        return removed

    def count(self) -> int:
        if not self.directory.is_dir():
            return 0
        return sum(1 for path in self._session_files() if self._expiry(path) is not None)

    def clear(self) -> None:
        if not self.directory.is_dir():
            return
        for path in self._session_files():
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        for index in self.directory.glob(f"{_USERS}/[0-9a-f]*"):
            with contextlib.suppress(FileNotFoundError):
                index.unlink()

    # -- internals

    def _paths(self, sid: str) -> tuple[str, str]:
        """The shard directory of session ``sid`` and its file. Strings, not Paths: joining
        two Paths costs ten times as much, and each operation makes one."""
        shard = f"{self._root}/{sid[:2]}"
        return shard, f"{shard}/{sid}"

    def _require_directory(self) -> None:
        if not self.directory.is_dir():
            raise ConfigurationError(f"file store {self.directory}: no such directory")

    def _session_files(self) -> Iterator[Path]:
        for shard in self.directory.iterdir():
            if shard.is_dir() and len(shard.name) == 2:
                for path in shard.iterdir():
                    if is_valid_session_id(path.name):
                        yield path

    def _read_live(self, path: str | Path) -> bytes | None:
        try:
            with self._os(open, path, "rb", buffering=0) as handle:
                raw: bytes = handle.readall()
        except FileNotFoundError:
            return None
        if len(raw) < _HEADER.size or _HEADER.unpack_from(raw)[0] <= self._clock() * 1000:
            return None
        return raw[_HEADER.size :]

    def _expiry(self, path: str | Path) -> int | None:
        """The expiry of a live file in ms, or None if it is expired, gone or unreadable."""
        try:
            with self._os(open, path, "rb", buffering=0) as handle:
                header: bytes = handle.read(_HEADER.size)
        except FileNotFoundError:
            return None
        if len(header) < _HEADER.size:
            return None
        expires: int = _HEADER.unpack(header)[0]
        return expires if expires > self._clock() * 1000 else None

    def _write(self, shard: str, path: str, data: bytes, ttl: int) -> None:
        expires = int((self._clock() + ttl) * 1000)
        self._write_atomically(shard, path, _HEADER.pack(expires) + data)

    def _write_atomically(self, shard: str, path: str, content: bytes) -> None:
        """Write ``content`` to a locked temporary file in ``shard``, then rename it over
        ``path``."""
        for attempt in range(2):
            try:
                fd, temp = self._temporary(shard)
            except FileNotFoundError:  # the shard's (or the store's) first file
                self._make_directory(Path(shard))
                fd, temp = self._temporary(shard)
            try:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX)  # "a writer is alive"
                    self._os(_write_all, fd, content)
                    if self.fsync:
                        self._os(os.fsync, fd)
                    # Renamed while still locked, so no purge can take it in between.
                    self._os(os.replace, temp, path)
                finally:
                    os.close(fd)
            except FileNotFoundError:
                # A purge took the temporary file between its creation and its lock: again.
                if attempt:
                    raise
                continue
            except BaseException:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(temp)
                raise
            if self.fsync:
                self._fsync_directory(shard)
            return

    def _temporary(self, shard: str) -> tuple[int, str]:
        """A new temporary file in ``shard``, open for writing: ``(descriptor, path)``.
        (``tempfile.mkstemp`` costs 35,000 instructions more, drawing its name in Python.)"""
        while True:
            temp = f"{shard}/{_TEMP_PREFIX}{secrets.token_hex(8)}"
            try:
                return self._os(os.open, temp, _TEMP_FLAGS, 0o600), temp
            except FileExistsError:  # 64 random bits already taken: draw again
                continue

    def _remove_dead_temporaries(self) -> None:
        """Remove temporary files that no writer holds locked: their writer died."""
        for temp in self.directory.glob(f"*/{_TEMP_PREFIX}*"):
            try:
                fd = os.open(temp, os.O_RDONLY)
            except OSError:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # a live writer holds it
            else:
                with contextlib.suppress(FileNotFoundError):
                    temp.unlink()
            finally:
                os.close(fd)

    def _make_directory(self, directory: Path) -> None:
        """Create ``directory`` and its missing parents, each mode 0700."""
        missing = []
        while not directory.is_dir():
            missing.append(directory)
            directory = directory.parent
        for path in reversed(missing):
            with contextlib.suppress(FileExistsError):
                self._os(path.mkdir, mode=0o700)
                os.chmod(path, 0o700)  # whatever the umask

    def _check_permissions(self) -> None:
        mode = self.directory.stat().st_mode
        if mode & (stat.S_IWGRP | stat.S_IWOTH):
            log.warning(
                "file store %s: the directory is writable by other users (mode %o), who "
                "could plant sessions; make it 0700",
                self.directory,
                stat.S_IMODE(mode),
            )

    @staticmethod
    def _fsync_directory(directory: str) -> None:
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def _os(self, call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run a file operation; an OS error other than a missing or existing file becomes
        :class:`StoreUnavailableError`, whose message leaves out paths (they hold ids)."""
        try:
            return call(*args, **kwargs)
        except (FileNotFoundError, FileExistsError):
            raise
        except OSError as exc:
            reason = f"{type(exc).__name__}: {exc.strerror or exc}"
            raise StoreUnavailableError(self._url, reason) from None

    @contextlib.contextmanager
    def _locked(self, shard: str, *, create: bool = True) -> Iterator[None]:
        """Hold the shard's exclusive lock (between threads and processes alike)."""
        lock = f"{shard}/{_LOCK_NAME}"
        try:
            fd = self._os(os.open, lock, os.O_RDWR | os.O_CREAT, 0o600)
        except FileNotFoundError:
            if not create:
                yield  # the shard does not exist, so neither does anything in it
                return
            self._make_directory(Path(shard))
            fd = self._os(os.open, lock, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)
