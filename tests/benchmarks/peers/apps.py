"""What every framework's app module shares: the built app, where its store lives, and
sessionkit's store URL and manager for an implementation name.

Implementations: ``bare`` (the framework with no session at all), ``peer`` (the framework's
usual session library, see :mod:`.matrix`), ``sessionkit-json`` and ``sessionkit-orjson``
(sessionkit's adapter for the framework, with that serializer).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sessionkit import SessionManager

from .drive import ASGIDriver, Driver
from .servers import Servers
from .sessions import SECRET, TTL


@dataclass
class Store:
    """One backend for one app: its servers, and the directories its file stores use."""

    backend: str
    servers: Servers
    directories: list[Path] = field(default_factory=list)

    def directory(self) -> Path:
        path = Path(tempfile.mkdtemp(dir=self.servers.workdir))
        self.directories.append(path)
        return path

    def sessionkit_url(self) -> str:
        backend, servers = self.backend, self.servers
        if backend == "redis":
            return f"{servers.redis_url}?prefix=sk:"
        if backend == "memcached":
            host, port = servers.memcached_address
            return f"memcached://{host}:{port}?prefix=sk:"
        if backend == "file":
            return f"file://{self.directory()}"
        if backend == "sqlite":
            return f"sqlite:///{self.directory() / 'sessionkit.db'}?table=sk_sessions"
        return "memory://"


def serializer_of(impl: str) -> str:
    """``sessionkit-orjson`` -> ``orjson``."""
    return impl.split("-", 1)[1]


def sessionkit_manager(impl: str, store: Store) -> SessionManager:
    return SessionManager(
        store.sessionkit_url(), secret=SECRET, max_age=TTL, serializer=serializer_of(impl)
    )


@dataclass
class Built:
    """An app ready for requests, the name of its session cookie, and how to close it."""

    driver: Driver
    cookie_name: str
    directories: list[Path] = field(default_factory=list)
    closing: Callable[[], object] | None = None

    def close(self) -> None:
        if self.closing is not None:
            self.closing()
        if isinstance(self.driver, ASGIDriver):
            self.driver.close()
