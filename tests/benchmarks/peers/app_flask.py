"""Flask: the four routes, bare, on Flask-Session or on sessionkit's ``SessionKit``.

Both session libraries run with their defaults besides the store, the secret and a lifetime of
:data:`TTL`. Flask-Session's defaults make every session permanent and rewrite it on each
request (``SESSION_REFRESH_EACH_REQUEST``); its serializer is msgspec's msgpack. Its stores:
redis-py, pymemcache's base ``Client``, cachelib's ``FileSystemCache`` and ``SimpleCache``
(memory), Flask-SQLAlchemy on SQLite.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask, Request, Response
from flask.sessions import SessionInterface, SessionMixin

from sessionkit import SessionManager

from .apps import Built, Store, serializer_of
from .drive import WSGIDriver
from .sessions import SECRET, TTL, contents, stand_in


class PlainSession(dict[str, Any], SessionMixin):
    """A dict as Flask's session."""


class NoSession(SessionInterface):
    """The bare app's sessions: not even Flask's signed-cookie one, but one dict, held by the
    app, that every request uses and nothing saves."""

    def __init__(self) -> None:
        self.plain = PlainSession(stand_in())

    def open_session(self, app: Flask, request: Request) -> PlainSession:
        return self.plain

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        return None


def flask_session_config(store: Store, app: Any) -> None:
    config = app.config
    backend, servers = store.backend, store.servers
    if backend == "redis":
        import redis

        config.update(SESSION_TYPE="redis", SESSION_REDIS=redis.Redis.from_url(servers.redis_url))
    elif backend == "memcached":
        from pymemcache.client.base import Client  # type: ignore[import-untyped]

        client = Client(servers.memcached_address, no_delay=True, default_noreply=False)
        config.update(SESSION_TYPE="memcached", SESSION_MEMCACHED=client)
    elif backend == "file":
        from cachelib import FileSystemCache

        cache = FileSystemCache(str(store.directory()), threshold=0)
        config.update(SESSION_TYPE="cachelib", SESSION_CACHELIB=cache)
    elif backend == "memory":
        from cachelib import SimpleCache

        config.update(SESSION_TYPE="cachelib", SESSION_CACHELIB=SimpleCache(threshold=10_000))
    else:
        from flask_sqlalchemy import SQLAlchemy

        config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{store.directory() / 'flask.db'}"
        config.update(SESSION_TYPE="sqlalchemy", SESSION_SQLALCHEMY=SQLAlchemy(app))


def build(impl: str, store: Store) -> Built:
    def setup(app: Any) -> Callable[[], object] | None:
        if impl == "peer":
            from flask_session import Session

            flask_session_config(store, app)
            Session(app)
        elif impl != "bare":
            from sessionkit.adapters.flask import SessionKit

            app.config.update(
                SESSIONKIT_STORE=store.sessionkit_url(),
                SESSIONKIT_SERIALIZER=serializer_of(impl),
            )
            SessionKit(app)
            return app.extensions["sessionkit"].close  # type: ignore[no-any-return]
        else:
            app.session_interface = NoSession()
        return None

    return flask_app(setup, store.directories)


def build_with(manager: SessionManager) -> Built:
    """The app on sessionkit's ``SessionKit`` with this manager."""

    def setup(app: Any) -> Callable[[], object]:
        from sessionkit.adapters.flask import SessionKit

        SessionKit(app, manager=manager)
        return manager.close

    return flask_app(setup, [])


def flask_app(
    setup: Callable[[Any], Callable[[], object] | None], directories: list[Path]
) -> Built:
    """The Flask app with its four routes, its sessions set up by ``setup(app)``."""
    from flask import session

    app = Flask(__name__)
    app.config.update(SECRET_KEY=SECRET, PERMANENT_SESSION_LIFETIME=timedelta(seconds=TTL))
    closing = setup(app)

    @app.route("/bare")
    def bare() -> str:
        return "ok"

    @app.route("/read")
    def read() -> str:
        return str(session["user"]["id"])

    @app.route("/modify")
    def modify() -> str:
        session["views"] = session["views"] + 1
        return str(session["views"])

    @app.route("/seed/<size>")
    def seed(size: str) -> str:
        session.update(contents(size))
        return "ok"

    return Built(WSGIDriver(app), "session", directories, closing)
