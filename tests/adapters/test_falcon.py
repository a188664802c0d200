"""Falcon, a WSGI app (``falcon.App``) and an ASGI app (``falcon.asgi.App``), through the
generic middlewares: the session at ``req.context.session``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import falcon
import falcon.asgi
import httpx
import pytest
from starlette.testclient import TestClient

from sessionkit import SessionManager
from sessionkit.adapters.falcon import with_sessions
from sessionkit.stores.memory import MemoryStore
from tests.helpers import CountingStore

from .framework_checks import (
    SECRET,
    check_counter_login_and_logout,
    check_store_down_answers_503,
    check_untouched_costs_no_store_call,
    dead_store_manager,
)


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


@contextmanager
def falcon_client(kind: str, manager: SessionManager) -> Iterator[httpx.Client]:
    """A cookie-keeping client of a Falcon app of ``kind`` ("wsgi" or "asgi") on ``manager``."""
    if kind == "wsgi":
        app: falcon.App[Any, Any] = falcon.App()
        add_routes(app, Pages())
        transport = httpx.WSGITransport(app=with_sessions(app, manager))
        with httpx.Client(transport=transport, base_url="http://testserver") as client:
            yield client
    else:
        app = falcon.asgi.App()
        add_routes(app, AsyncPages())
        with TestClient(answering_lifespan(with_sessions(app, manager))) as client:
            yield client


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


@pytest.fixture(params=["wsgi", "asgi"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.mark.parametrize("store", ["memory", "redis"])
def test_counter_login_and_logout(kind: str, store: str, request: pytest.FixtureRequest) -> None:
    if store == "memory":
        manager = SessionManager(MemoryStore(), SECRET)
    else:
        manager = request.getfixturevalue("redis_manager")
    with falcon_client(kind, manager) as client:
        check_counter_login_and_logout(client)


def test_an_untouched_session_costs_no_store_call(kind: str) -> None:
    store = CountingStore()
    with falcon_client(kind, SessionManager(store, SECRET)) as client:
        check_untouched_costs_no_store_call(client, store)


def test_a_dead_store_is_answered_503(kind: str) -> None:
    manager = dead_store_manager()
    with falcon_client(kind, manager) as client:
        check_store_down_answers_503(client, manager)
