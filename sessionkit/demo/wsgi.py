"""The demo as a plain WSGI app behind :class:`sessionkit.adapters.wsgi.SessionMiddleware`."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from ..adapters.wsgi import SessionMiddleware, get_session
from ..manager import SessionManager
from ..session import Session
from . import views
from .config import manager_from_env

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

Answer = tuple[str, str, bytes]  # status, content type, body
Fields = Callable[[], dict[str, Any]]  # reads the request body when a view needs it
View = Callable[[Session, Fields], Answer]


def _text(text: str, status: str = "200 OK") -> Answer:
    return status, "text/plain; charset=utf-8", text.encode()


def _json(value: object) -> Answer:
    return "200 OK", "application/json", json.dumps(value).encode()


def _home(session: Session, fields: Fields) -> Answer:
    return _text(views.visit(session))


def _login(session: Session, fields: Fields) -> Answer:
    return _json(views.login(session, fields()))


def _logout(session: Session, fields: Fields) -> Answer:
    session.destroy()
    return _json({"logged_out": True})


def _cart(session: Session, fields: Fields) -> Answer:
    return _json(views.update_cart(session, fields()))


def _me(session: Session, fields: Fields) -> Answer:
    return _json(dict(session))


def _health(session: Session, fields: Fields) -> Answer:
    return _text("ok")


ROUTES: dict[tuple[str, str], View] = {
    ("GET", "/"): _home,
    ("POST", "/login"): _login,
    ("POST", "/logout"): _logout,
    ("POST", "/cart"): _cart,
    ("GET", "/me"): _me,
    ("GET", "/health"): _health,
}
PATHS = {path for _, path in ROUTES}


def demo_app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    """The routes of the demo, reading the session that the middleware put in ``environ``."""
    method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO") or "/"
    view = ROUTES.get(("GET" if method == "HEAD" else method, path))

    def fields() -> dict[str, Any]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length > 0 else b""
        return views.read_fields(environ.get("CONTENT_TYPE", ""), body)

    if view is None and path in PATHS:
        status, content_type, body = _text("Method Not Allowed", "405 Method Not Allowed")
    elif view is None:
        status, content_type, body = _text("Not Found", "404 Not Found")
    else:
        try:
            status, content_type, body = view(get_session(environ), fields)
        except views.BadRequest as exc:
            status, content_type, body = _text(str(exc), "400 Bad Request")
    start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(body)))])
    return [] if method == "HEAD" else [body]


def create_wsgi_app(manager: SessionManager | None = None) -> WSGIApplication:
    """The demo's WSGI app; by default its manager is configured from the environment."""
    return SessionMiddleware(demo_app, manager or manager_from_env())
