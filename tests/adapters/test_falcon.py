"""Falcon, a WSGI app (``falcon.App``) and an ASGI app (``falcon.asgi.App``), through the
generic middlewares: the session at ``req.context.session``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import falcon
import falcon.asgi
import httpx
from starlette.testclient import TestClient

from sessionkit import SessionManager
from sessionkit.adapters.falcon import with_sessions

from .framework_checks import FrameworkChecks


class Pages:
    """The routes of framework_checks, as one resource with suffixed responders."""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        session = req.context.session
        session["views"] = session.get("views", 0) + 1
        resp.text = str(session["views"])

    def on_get_user(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.text = req.context.session.get("user", "")

    def on_post_login(self, req: falcon.Request, resp: falcon.Response) -> None:
        req.context.session.regenerate(keep=True)
        req.context.session["user"] = "ann"
        resp.text = "in"

    def on_post_logout(self, req: falcon.Request, resp: falcon.Response) -> None:
        req.context.session.destroy()
        resp.text = "out"

    def on_get_untouched(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.text = "untouched"


class AsyncPages:
    """The same routes for falcon.asgi."""

    def __init__(self) -> None:
        self.pages = Pages()

    async def on_get(self, req: Any, resp: Any) -> None:
        self.pages.on_get(req, resp)

    async def on_get_user(self, req: Any, resp: Any) -> None:
        self.pages.on_get_user(req, resp)

    async def on_post_login(self, req: Any, resp: Any) -> None:
        self.pages.on_post_login(req, resp)

    async def on_post_logout(self, req: Any, resp: Any) -> None:
        self.pages.on_post_logout(req, resp)

    async def on_get_untouched(self, req: Any, resp: Any) -> None:
        self.pages.on_get_untouched(req, resp)


def add_routes(app: falcon.App[Any, Any], pages: object) -> None:
    app.add_route("/", pages)
    for name in ("user", "login", "logout", "untouched"):
        app.add_route(f"/{name}", pages, suffix=name)


def answering_lifespan(app: Any) -> Any:
    """``app`` with the lifespan protocol answered in front of it: starlette's TestClient,
    which keeps one event loop for all requests only while it runs the lifespan, waits
    forever for falcon.asgi to finish its shutdown."""

    async def wrapped(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "lifespan":
            await app(scope, receive, send)
            return
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})

    return wrapped


class TestFalconWSGI(FrameworkChecks):
    @contextmanager
    def client(self, manager: SessionManager) -> Iterator[httpx.Client]:
        app: falcon.App[Any, Any] = falcon.App()
        add_routes(app, Pages())
        transport = httpx.WSGITransport(app=with_sessions(app, manager))
        with httpx.Client(transport=transport, base_url="http://testserver") as client:
            yield client


class TestFalconASGI(FrameworkChecks):
    @contextmanager
    def client(self, manager: SessionManager) -> Iterator[httpx.Client]:
        app = falcon.asgi.App()
        add_routes(app, AsyncPages())
        with TestClient(answering_lifespan(with_sessions(app, manager))) as client:
            yield client
