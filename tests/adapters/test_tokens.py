"""The session id in headers instead of a cookie, through the WSGI and ASGI middlewares."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient
from werkzeug.test import Client

from sessionkit import SessionManager
from sessionkit.adapters import asgi, wsgi
from sessionkit.adapters.tokens import TokenTransport
from sessionkit.errors import ConfigurationError
from tests.adapters.test_wsgi import app as wsgi_app


async def counter(request: Request) -> Response:
    path = request.url.path
    if path == "/logout":
        request.session.destroy()  # type: ignore[attr-defined]
        return PlainTextResponse("out")
    if path == "/login":
        request.session.regenerate(keep=True)  # type: ignore[attr-defined]
        return PlainTextResponse("in")
    if path == "/untouched":
        return PlainTextResponse("untouched")
    request.session["views"] = request.session.get("views", 0) + 1
    return PlainTextResponse(str(request.session["views"]))


def asgi_client(manager: SessionManager, transport: TokenTransport) -> Any:
    routes = [Route(path, counter) for path in ("/", "/login", "/logout", "/untouched")]
    middleware = [Middleware(asgi.SessionMiddleware, manager=manager, token=transport)]
    return TestClient(Starlette(routes=routes, middleware=middleware))


def wsgi_client(manager: SessionManager, transport: TokenTransport) -> Any:
    return Client(wsgi.SessionMiddleware(wsgi_app, manager, token=transport))


def body(response: Any) -> str:
    return response.text if hasattr(response, "text") else response.data.decode()


@pytest.mark.parametrize("make_client", [asgi_client, wsgi_client], ids=["asgi", "wsgi"])
def test_a_bearer_token_carries_the_session(manager: SessionManager, make_client: Any) -> None:
    client = make_client(manager, TokenTransport())
    first = client.get("/")
    token = first.headers["Session-Token"]
    assert not any(
        value.startswith("session=")
        for name, value in first.headers.items()
        if name.lower() == "set-cookie"
    )
    assert first.headers["Vary"].endswith("Authorization")
    auth = {"Authorization": f"Bearer {token}"}
    second = client.get("/", headers=auth)
    assert body(second) == "2"
    assert "Session-Token" not in second.headers  # the client holds this very token
    assert client.get("/untouched", headers=auth).headers.get("Session-Token") is None
    login = client.get("/login", headers=auth)
    new_token = login.headers["Session-Token"]
    assert new_token != token
    assert body(client.get("/", headers={"Authorization": f"Bearer {new_token}"})) == "3"
    assert body(client.get("/", headers=auth)) == "1", "the old token's session is gone"
    logout = client.get("/logout", headers={"Authorization": f"Bearer {new_token}"})
    assert logout.headers["Session-Token"] == ""


@pytest.mark.parametrize("make_client", [asgi_client, wsgi_client], ids=["asgi", "wsgi"])
def test_cookies_are_ignored_unless_asked_for(manager: SessionManager, make_client: Any) -> None:
    cookie_session = manager.open(None)
    cookie_session["views"] = 41
    cookie = manager.commit(cookie_session)
    assert cookie is not None
    name, _, value = cookie.split(";")[0].partition("=")

    def with_cookie(transport: TokenTransport) -> Any:
        client = make_client(manager, transport)
        if make_client is wsgi_client:  # werkzeug's client sends cookies from its jar only
            client.set_cookie(name, value)
            return client.get("/")
        return client.get("/", headers={"Cookie": f"{name}={value}"})

    assert body(with_cookie(TokenTransport())) == "1"
    both = with_cookie(TokenTransport(cookies=True))
    assert body(both) == "42"
    assert "Session-Token" not in both.headers


def test_a_named_header_without_a_scheme(manager: SessionManager) -> None:
    transport = TokenTransport(request_header="X-Session", scheme=None)
    client = wsgi_client(manager, transport)
    token = client.get("/").headers["Session-Token"]
    assert body(client.get("/", headers={"X-Session": token})) == "2"
    assert body(client.get("/", headers={"X-Session": f"Bearer {token}"})) == "1"


def test_bad_tokens_and_header_names() -> None:
    transport = TokenTransport()
    assert transport.token_in("Basic abc") is None
    assert transport.token_in("Bearer ") is None
    assert transport.token_in("Bearer a b") is None
    assert transport.token_in("bearer abc.def") == "abc.def"
    with pytest.raises(ConfigurationError):
        TokenTransport(response_header="Bad Header\r\n")
