"""Quart through the generic ASGI middleware: the session at ``quart.session``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from quart import Quart, session
from starlette.testclient import TestClient

from sessionkit import SessionManager
from sessionkit.adapters.quart import with_sessions
from sessionkit.stores.memory import MemoryStore
from tests.helpers import CountingStore

from .framework_checks import (
    SECRET,
    check_counter_login_and_logout,
    check_store_down_answers_503,
    check_untouched_costs_no_store_call,
    dead_store_manager,
)


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


@contextmanager
def quart_client(manager: SessionManager) -> Iterator[httpx.Client]:
    with TestClient(make_app(manager)) as client:  # one event loop for every request
        yield client


@pytest.mark.parametrize("store", ["memory", "redis"])
def test_counter_login_and_logout(store: str, request: pytest.FixtureRequest) -> None:
    if store == "memory":
        manager = SessionManager(MemoryStore(), SECRET)
    else:
        manager = request.getfixturevalue("redis_manager")
    with quart_client(manager) as client:
        check_counter_login_and_logout(client)


def test_an_untouched_session_costs_no_store_call() -> None:
    store = CountingStore()
    with quart_client(SessionManager(store, SECRET)) as client:
        check_untouched_costs_no_store_call(client, store)


def test_a_dead_store_is_answered_503() -> None:
    manager = dead_store_manager()
    with quart_client(manager) as client:
        check_store_down_answers_503(client, manager)
