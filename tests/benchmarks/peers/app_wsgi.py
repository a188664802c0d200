"""Plain WSGI: one function serving /read, /modify, /bare and /seed/SIZE, bare or wrapped in
Beaker's or sessionkit's middleware."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, MutableMapping
from pathlib import Path
from typing import Any

from sessionkit import SessionManager

from .apps import Built, Store, sessionkit_manager
from .drive import WSGIDriver
from .sessions import SECRET, TTL, contents, stand_in


def make_app(session_key: str | None, explicit_save: bool) -> Callable[..., list[bytes]]:
    """The app; without ``session_key`` (the bare app), its session is a dict of its own."""
    plain = stand_in()

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        path: str = environ["PATH_INFO"]
        body = b"ok"
        if path != "/bare":
            session: MutableMapping[str, Any] = (
                plain if session_key is None else environ[session_key]
            )
            if path == "/read":
                body = str(session["user"]["id"]).encode()
            elif path == "/modify":
                session["views"] = session["views"] + 1
                body = str(session["views"]).encode()
            else:  # /seed/SIZE
                session.update(contents(path.rsplit("/", 1)[1]))
            if explicit_save and path != "/read":
                session.save()  # type: ignore[attr-defined]
        headers = [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))]
        start_response("200 OK", headers)
        return [body]

    return app


def beaker_options(store: Store) -> dict[str, Any]:
    options: dict[str, Any] = {
        "session.key": "session",
        "session.secret": SECRET,
        "session.timeout": TTL,
        "session.cookie_expires": TTL,
    }
    backend, servers = store.backend, store.servers
    if backend == "redis":
        options.update({"session.type": "ext:redis", "session.url": servers.redis_url})
    elif backend == "memcached":
        host, port = servers.memcached_address
        options.update({"session.type": "ext:memcached", "session.url": f"{host}:{port}"})
    elif backend == "sqlite":
        db = Path(tempfile.mkdtemp(dir=servers.workdir)) / "beaker.db"
        options.update({"session.type": "ext:database", "session.url": f"sqlite:///{db}"})
    elif backend == "file":
        directory = store.directory()
        options.update({"session.type": "file", "session.data_dir": str(directory)})
        options["session.lock_dir"] = str(directory / "locks")
    else:
        options["session.type"] = "memory"
    return options


def build(impl: str, store: Store) -> Built:
    if impl == "bare":
        return Built(WSGIDriver(make_app(None, False)), "session")
    if impl == "peer":
        from beaker.middleware import SessionMiddleware as BeakerMiddleware

        app = BeakerMiddleware(make_app("beaker.session", True), beaker_options(store))
        return Built(WSGIDriver(app), "session", store.directories)
    return build_with(sessionkit_manager(impl, store), store.directories)


def build_with(manager: SessionManager, directories: list[Path] | None = None) -> Built:
    """The app on sessionkit's middleware with this manager."""
    from sessionkit.adapters.wsgi import SessionMiddleware

    wrapped = SessionMiddleware(make_app("sessionkit.session", False), manager)
    return Built(WSGIDriver(wrapped), "session", directories or [], manager.close)
