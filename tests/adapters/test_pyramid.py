"""Pyramid through the generic WSGI middleware: the session at ``request.session``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from pyramid.config import Configurator
from pyramid.csrf import get_csrf_token
from pyramid.response import Response

from sessionkit import SessionManager
from sessionkit.adapters.wsgi import SessionMiddleware
from sessionkit.stores.memory import MemoryStore

from .framework_checks import SECRET, FrameworkChecks


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


def make_app(manager: SessionManager) -> SessionMiddleware:
    with Configurator() as config:
        config.include("sessionkit.adapters.pyramid")
        for path, view in ROUTES.items():
            config.add_route(path, path)
            config.add_view(view, route_name=path)
        return SessionMiddleware(config.make_wsgi_app(), manager)


class TestPyramid(FrameworkChecks):
    @contextmanager
    def client(self, manager: SessionManager) -> Iterator[httpx.Client]:
        transport = httpx.WSGITransport(app=make_app(manager))
        with httpx.Client(transport=transport, base_url="http://testserver") as client:
            yield client

    def test_csrf_tokens_are_kept_in_the_session(self) -> None:
        with self.client(SessionManager(MemoryStore(), SECRET)) as client:
            token = client.get("/csrf").text
            assert len(token) >= 32
            assert client.get("/csrf").text == token
