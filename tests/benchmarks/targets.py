"""One benchmark target per backend: a store opened by URL under a unique prefix or table,
the managers that drive it, and the raw client doing the same store work.

``Target.seed(size)`` stores one session through sessionkit and the same bytes under a raw
key, so both sides read and write payloads of identical size.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sessionkit import SessionManager, open_store
from sessionkit.store import Store

from .raw import Raw, RawFile, RawMemcached, RawMemory, RawRedis

BACKENDS = ("memory", "file", "sqlite", "postgresql", "mysql", "redis", "memcached")
NETWORK_BACKENDS = ("postgresql", "mysql", "redis", "memcached")
SERVERS = {
    "postgresql": ("127.0.0.1", 5432, "PostgreSQL"),
    "mysql": ("127.0.0.1", 3306, "MariaDB/MySQL"),
    "redis": ("127.0.0.1", 6379, "Redis"),
}
SECRET = "benchmark-secret-0123456789abcdefghijklmnopqrstuv"
SERIALIZER = os.environ.get("BENCH_SERIALIZER", "json")  # or "orjson"
# What protects the stored bytes: "sign" (the default), "encrypt" or "none".
PROTECT = os.environ.get("BENCH_PROTECT", "sign")
# More of the manager's options, as a JSON object (e.g. {"absolute_timeout": 86400}).
MANAGER_OPTIONS: dict[str, Any] = json.loads(os.environ.get("BENCH_MANAGER_OPTIONS") or "{}")
TTL = 3600

SMALL: dict[str, Any] = {
    "user": {"id": 4211, "name": "Ann Example", "email": "ann@example.com", "roles": ["staff"]},
    "cart": [{"sku": "A-1001", "qty": 2}, {"sku": "B-2002", "qty": 1}],
    "csrf": "Xq2n3v7m0Zb1pYt8Lk4sRf9WdJh6Ge5Ua",
    "views": 1,
    "flash": [],
    "locale": "en-GB",
    "last_seen": "2026-11-28T06:00:00Z",
    "theme": "dark",
    "tz": "Europe/London",
}
LARGE: dict[str, Any] = {
    **SMALL,
    "history": [
        {"path": f"/catalogue/item/{n:05d}", "at": f"2026-11-28T05:{n % 60:02d}:00Z", "ms": n * 7}
        for n in range(130)
    ],
}
MEDIUM: dict[str, Any] = {**SMALL, "history": LARGE["history"][:48]}
SESSIONS = {"300B": SMALL, "4KB": MEDIUM, "10KB": LARGE}


def stored_cookie(manager: SessionManager, data: dict[str, Any]) -> tuple[str, str]:
    """Store a new session holding ``data``; return its Cookie header and its id."""
    session = manager.open(None)
    session.update(data)
    set_cookie = manager.commit(session)
    assert set_cookie is not None
    return set_cookie.split(";", 1)[0], session.id


def payload_size(size: str) -> int:
    return len(json.dumps(SESSIONS[size], separators=(",", ":")).encode())


@dataclass
class Seeded:
    """A stored session of one size: its cookie, and the raw key holding the same bytes."""

    cookie: str
    raw_key: str
    payload: bytes


class Target:
    """A backend ready to benchmark; ``close`` removes everything it wrote."""

    def __init__(self, backend: str, workdir: Path, memcached: tuple[str, int] | None) -> None:
        self.backend = backend
        tag = uuid.uuid4().hex[:10]
        self.prefix = f"skbench-{tag}:"
        self.table = f"skbench_{tag}"
        self.workdir = workdir / backend
        self.store: Store = open_store(self._url(memcached))
        options: dict[str, Any] = {
            "secret": SECRET,
            "max_age": TTL,
            "serializer": SERIALIZER,
            "protect": None if PROTECT == "none" else PROTECT,
            **MANAGER_OPTIONS,
        }
        self.manager = SessionManager(self.store, **options)
        self.rolling = SessionManager(self.store, **{**options, "rolling": True})
        self.raw: Raw = self._raw(memcached)
        self.seeded = {size: self._seed(size) for size in SESSIONS}

    def _url(self, memcached: tuple[str, int] | None) -> str:
        if self.backend == "memory":
            return "memory://"
        if self.backend == "file":
            return f"file://{self.workdir / 'store'}"
        if self.backend == "sqlite":
            self.workdir.mkdir(parents=True, exist_ok=True)
            return f"sqlite:///{self.workdir / 'sessions.db'}?table={self.table}"
        if self.backend == "postgresql":
            return f"postgresql+psycopg://postgres@127.0.0.1:5432/test?table={self.table}"
        if self.backend == "mysql":
            return f"mysql+pymysql://root@127.0.0.1:3306/test?table={self.table}"
        if self.backend == "redis":
            return f"redis://127.0.0.1:6379/0?prefix={self.prefix}"
        assert memcached is not None
        return f"memcached://{memcached[0]}:{memcached[1]}?prefix={self.prefix}"

    def _raw(self, memcached: tuple[str, int] | None) -> Raw:
        if self.backend == "memory":
            return RawMemory()
        if self.backend == "file":
            return RawFile(self.workdir / "raw")
        if self.backend == "redis":
            return RawRedis(self.store.client)  # type: ignore[attr-defined]
        if self.backend == "memcached":
            assert memcached is not None
            return RawMemcached(memcached, self.prefix, timeout=2.0)
        from .raw_sql import RawSQL

        table = self.store.table  # type: ignore[attr-defined]
        url = self.store.target.sync_url  # type: ignore[attr-defined]
        return RawSQL(url.render_as_string(hide_password=False), table)

    def raw_key(self) -> str:
        """A fresh key of the length a store key has."""
        key = secrets.token_urlsafe(32)
        return self.prefix + key if self.backend == "redis" else key

    def _seed(self, size: str) -> Seeded:
        cookie, sid = stored_cookie(self.manager, SESSIONS[size])
        payload = self.store.get(sid)
        assert payload is not None
        key = self.raw_key()
        self.raw.put(key, payload, TTL)
        assert self.raw.get(key) == payload
        return Seeded(cookie, key, payload)

    def close(self) -> None:
        """Delete what the run wrote: keys under the prefix, the table, the directory (the
        memcached server is a throwaway one)."""
        clear = getattr(self.store, "clear", None)
        if clear is not None and self.backend != "memcached":
            clear()
        if self.backend in ("sqlite", "postgresql", "mysql"):
            table = self.store.table  # type: ignore[attr-defined]
            engine = self.raw.engine  # type: ignore[attr-defined]
            table.drop(engine, checkfirst=True)
        self.raw.close()
        self.store.close()
        shutil.rmtree(self.workdir, ignore_errors=True)
