"""A WSGI application for the tests that run it under a real server: it counts the visits
of each session, through :class:`sessionkit.adapters.wsgi.SessionMiddleware`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from sessionkit import SessionManager
from sessionkit.adapters.wsgi import SessionMiddleware, get_session

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment


def count_visits(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    session = get_session(environ)
    session["views"] = session.get("views", 0) + 1
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [str(session["views"]).encode()]


app = SessionMiddleware(
    count_visits,
    SessionManager("memory://", secret="counting-app-secret-0123456789abcdefghijklmnopqrstuv"),
)
