"""Pyramid through the generic WSGI middleware: the session at ``request.session``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from pyramid.config import Configurator
from pyramid.csrf import get_csrf_token
from pyramid.response import Response

from sessionkit import SessionManager
from sessionkit.adapters.wsgi import SessionMiddleware
from sessionkit.stores.memory import MemoryStore
from tests.helpers import CountingStore

from .framework_checks import (
    SECRET,
    check_counter_login_and_logout,
    check_store_down_answers_503,
    check_untouched_costs_no_store_call,
    dead_store_manager,
)


def home(request: Any) -> Response:
    request.session["views"] = request.session.get("views", 0) + 1
    return Response(str(request.session["views"]))


def user(request: Any) -> Response:
    return Response(request.session.get("user", ""))


def login(request: Any) -> Response:
    request.session.regenerate(keep=True)
    request.session["user"] = "ann"
    return Response("in")


def logout(request: Any) -> Response:
    request.session.destroy()
    return Response("out")


def untouched(request: Any) -> Response:
    return Response("untouched")


def csrf(request: Any) -> Response:
    return Response(get_csrf_token(request))


ROUTES = {
    "/": home,
    "/user": user,
    "/login": login,
    "/logout": logout,
    "/untouched": untouched,
    "/csrf": csrf,
}


@contextmanager
def pyramid_client(manager: SessionManager) -> Iterator[httpx.Client]:
    with Configurator() as config:
        config.include("sessionkit.adapters.pyramid")
        for path, view in ROUTES.items():
            config.add_route(path, path)
            config.add_view(view, route_name=path)
        app = SessionMiddleware(config.make_wsgi_app(), manager)
    transport = httpx.WSGITransport(app=app)
    with httpx.Client(transport=transport, base_url="http://testserver") as client:
        yield client


@pytest.mark.parametrize("store", ["memory", "redis"])
def test_counter_login_and_logout(store: str, request: pytest.FixtureRequest) -> None:
    if store == "memory":
        manager = SessionManager(MemoryStore(), SECRET)
    else:
        manager = request.getfixturevalue("redis_manager")
    with pyramid_client(manager) as client:
        check_counter_login_and_logout(client)


def test_an_untouched_session_costs_no_store_call() -> None:
    store = CountingStore()
    with pyramid_client(SessionManager(store, SECRET)) as client:
        check_untouched_costs_no_store_call(client, store)


def test_a_dead_store_is_answered_503() -> None:
    manager = dead_store_manager()
    with pyramid_client(manager) as client:
        check_store_down_answers_503(client, manager)


def test_csrf_tokens_are_kept_in_the_session() -> None:
    with pyramid_client(SessionManager(MemoryStore(), SECRET)) as client:
        token = client.get("/csrf").text
        assert len(token) >= 32
        assert client.get("/csrf").text == token
