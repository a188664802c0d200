"""Quart through the generic ASGI middleware: the session at ``quart.session``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx
from quart import Quart, session
from starlette.testclient import TestClient

from sessionkit import SessionManager
from sessionkit.adapters.quart import with_sessions

from .framework_checks import FrameworkChecks


def make_app(manager: SessionManager) -> Quart:
    app = Quart(__name__)

    @app.get("/")
    async def home() -> str:
        session["views"] = session.get("views", 0) + 1
        return str(session["views"])

    @app.get("/user")
    async def user() -> str:
        return str(session.get("user", ""))

    @app.post("/login")
    async def login() -> str:
        session.regenerate(keep=True)  # type: ignore[attr-defined]
        session["user"] = "ann"
        return "in"

    @app.post("/logout")
    async def logout() -> str:
        session.destroy()  # type: ignore[attr-defined]
        return "out"

    @app.get("/untouched")
    async def untouched() -> str:
        return "untouched"

    with_sessions(app, manager)
    return app


class TestQuart(FrameworkChecks):
    @contextmanager
    def client(self, manager: SessionManager) -> Iterator[httpx.Client]:
        with TestClient(make_app(manager)) as client:  # one event loop for every request
            yield client
