"""Litestar through the generic ASGI middleware, installed by the plugin: the session at
``request.session``, and Litestar's ``set_session`` and ``clear_session``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from litestar import Litestar, Request, get, post
from starlette.testclient import TestClient

from sessionkit import SessionManager
from sessionkit.adapters.litestar import SessionKitPlugin
from sessionkit.stores.memory import MemoryStore

from .framework_checks import SECRET, FrameworkChecks, session_cookies

AnyRequest = Request[Any, Any, Any]


@get("/")
async def home(request: AnyRequest) -> str:
    request.session["views"] = request.session.get("views", 0) + 1
    return str(request.session["views"])


@get("/user")
async def user(request: AnyRequest) -> str:
    return str(request.session.get("user", ""))


@post("/login")
async def login(request: AnyRequest) -> str:
    request.session.regenerate(keep=True)  # type: ignore[attr-defined]
    request.session["user"] = "ann"
    return "in"


@post("/logout")
async def logout(request: AnyRequest) -> str:
    request.session.destroy()  # type: ignore[attr-defined]
    return "out"


@get("/untouched")
async def untouched() -> str:
    return "untouched"


@post("/set")
async def set_session(request: AnyRequest) -> str:
    request.set_session({"user": "bob"})
    return "set"


@post("/clear")
async def clear_session(request: AnyRequest) -> str:
    request.clear_session()
    return "cleared"


class TestLitestar(FrameworkChecks):
    @contextmanager
    def client(self, manager: SessionManager) -> Iterator[httpx.Client]:
        handlers = [home, user, login, logout, untouched, set_session, clear_session]
        app = Litestar(route_handlers=handlers, plugins=[SessionKitPlugin(manager)])
        with TestClient(app) as client:  # one event loop for every request
            yield client

    def test_set_session_starts_a_new_session_and_clear_session_destroys_it(self) -> None:
        store = MemoryStore()
        with self.client(SessionManager(store, SECRET)) as client:
            client.get("/")
            before = client.cookies.get("session")
            client.post("/set")
            assert client.cookies.get("session") not in (None, before)
            assert client.get("/user").text == "bob"
            assert client.get("/").text == "1"  # set_session replaced the data
            assert store.count() == 1  # the old id is gone
            response = client.post("/clear")
            assert "Max-Age=0" in session_cookies(response)[0]
            assert store.count() == 0
            assert client.get("/user").text == ""
