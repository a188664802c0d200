"""The tiny apps of the peer comparison: each counts visits in its session.

For every framework there is a bare app (the same route, no session), one on sessionkit's
adapter and one on the peer library, all on the same backend. ``make_client`` returns a
callable doing one request with the client's cookie jar, so the session persists between
calls and every request reads and writes an existing session.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sessionkit import SessionManager

SECRET = "benchmark-secret"
TTL = 600

Request = Callable[[], Any]


def sessionkit_url(backend: str, prefix: str, workdir: Path, memcached: tuple[str, int]) -> str:
    if backend == "redis":
        return f"redis://127.0.0.1:6379/0?prefix={prefix}"
    if backend == "memcached":
        return f"memcached://{memcached[0]}:{memcached[1]}?prefix={prefix}"
    if backend == "filesystem":
        return f"file://{tempfile.mkdtemp(dir=workdir)}"
    return f"sqlite:///{workdir / 'sessionkit.db'}?table={prefix.strip(':').replace('-', '_')}"


def flask_client(
    impl: str, backend: str, url: str, prefix: str, workdir: Path, memcached: tuple[str, int]
) -> tuple[Request, Callable[[], None]]:
    from flask import Flask, session

    app = Flask(__name__)
    app.config["SECRET_KEY"] = SECRET
    closing: Callable[[], None] = lambda: None  # noqa: E731
    if impl == "sessionkit":
        from sessionkit.adapters.flask import SessionKit

        manager = SessionManager(url, secret=SECRET, max_age=TTL)
        SessionKit(app, manager=manager)
        closing = manager.close
    elif impl == "Flask-Session":
        from flask_session import Session

        app.config["SESSION_KEY_PREFIX"] = prefix
        app.config["PERMANENT_SESSION_LIFETIME"] = TTL
        if backend == "redis":
            import redis

            client = redis.Redis(host="127.0.0.1", port=6379, db=0)
            app.config.update(SESSION_TYPE="redis", SESSION_REDIS=client)
            closing = client.close
        elif backend == "memcached":
            from pymemcache.client.base import PooledClient  # type: ignore[import-untyped]

            mc = PooledClient(memcached, no_delay=True, default_noreply=False)
            app.config.update(SESSION_TYPE="memcached", SESSION_MEMCACHED=mc)
            closing = mc.close
        else:
            from cachelib import FileSystemCache

            cache = FileSystemCache(tempfile.mkdtemp(dir=workdir), threshold=0)
            app.config.update(SESSION_TYPE="cachelib", SESSION_CACHELIB=cache)
        Session(app)

    if impl == "bare":

        @app.route("/")
        def bare() -> str:
            return "ok"

    else:

        @app.route("/")
        def count() -> str:
            session["n"] = session.get("n", 0) + 1
            return str(session["n"])

    client = app.test_client()
    return (lambda: client.get("/")), closing


def wsgi_client(
    impl: str, backend: str, url: str, prefix: str, workdir: Path, memcached: tuple[str, int]
) -> tuple[Request, Callable[[], None]]:
    from werkzeug.test import Client

    key = {"sessionkit": "sessionkit.session", "Beaker": "beaker.session"}.get(impl)

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        body = b"ok"
        if key is not None:
            session = environ[key]
            session["n"] = session.get("n", 0) + 1
            if impl == "Beaker":
                session.save()
            body = str(session["n"]).encode()
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [body]

    wrapped: Any = app
    closing: Callable[[], None] = lambda: None  # noqa: E731
    if impl == "sessionkit":
        from sessionkit.adapters.wsgi import SessionMiddleware

        manager = SessionManager(url, secret=SECRET, max_age=TTL)
        wrapped = SessionMiddleware(app, manager)
        closing = manager.close
    elif impl == "Beaker":
        from beaker.middleware import SessionMiddleware as BeakerMiddleware

        options: dict[str, Any] = {
            "session.key": "session",
            "session.timeout": TTL,
            "session.secret": SECRET,
            "session.cookie_expires": TTL,
        }
        if backend == "redis":
            options.update({"session.type": "ext:redis", "session.url": "redis://127.0.0.1:6379/0"})
        elif backend == "sqlite":
            options.update(
                {
                    "session.type": "ext:database",
                    "session.url": f"sqlite:///{workdir / 'beaker.db'}",
                    "session.table_name": prefix.strip(":").replace("-", "_"),
                }
            )
        else:
            directory = tempfile.mkdtemp(dir=workdir)
            options.update(
                {
                    "session.type": "file",
                    "session.data_dir": directory,
                    "session.lock_dir": directory,
                }
            )
        wrapped = BeakerMiddleware(app, options)
    client = Client(wrapped)
    return (lambda: client.get("/")), closing


def starlette_client(
    impl: str, backend: str, url: str, prefix: str, workdir: Path, memcached: tuple[str, int]
) -> tuple[Request, Callable[[], None]]:
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.requests import Request as StarletteRequest
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route
    from starlette.testclient import TestClient

    async def bare(request: StarletteRequest) -> PlainTextResponse:
        return PlainTextResponse("ok")

    async def count(request: StarletteRequest) -> PlainTextResponse:
        if impl == "starsessions":
            from starsessions import load_session

            await load_session(request)
        request.session["n"] = request.session.get("n", 0) + 1
        return PlainTextResponse(str(request.session["n"]))

    middleware = []
    closing: Callable[[], None] = lambda: None  # noqa: E731
    if impl == "sessionkit":
        from sessionkit.adapters.asgi import SessionMiddleware

        manager = SessionManager(url, secret=SECRET, max_age=TTL)
        middleware.append(Middleware(SessionMiddleware, manager=manager))
        closing = manager.close
    elif impl == "starsessions":
        from starsessions import SessionMiddleware as StarMiddleware
        from starsessions.stores.redis import RedisStore

        store = RedisStore("redis://127.0.0.1:6379/0", prefix=prefix)
        middleware.append(
            Middleware(StarMiddleware, store=store, lifetime=TTL, cookie_https_only=False)
        )
    app = Starlette(routes=[Route("/", bare if impl == "bare" else count)], middleware=middleware)
    client = TestClient(app)
    client.__enter__()

    def close() -> None:
        client.__exit__(None, None, None)
        closing()

    return (lambda: client.get("/")), close


FRAMEWORKS = {"flask": flask_client, "wsgi": wsgi_client, "starlette": starlette_client}
# framework -> (peer library, the backends both it and sessionkit support here)
PEERS = {
    "flask": ("Flask-Session", ("redis", "memcached", "filesystem")),
    "wsgi": ("Beaker", ("redis", "filesystem", "sqlite")),
    "starlette": ("starsessions", ("redis",)),
}
