"""The demo as a plain WSGI app behind :class:`sessionkit.adapters.wsgi.SessionMiddleware`."""

from __future__ import annotations

from collections.abc import Coroutine, Iterable
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, TypeVar

from ..adapters.wsgi import SessionMiddleware, get_session
from ..manager import SessionManager
from . import routes
from .accounts import BlockingUserSessions
from .config import manager_from_env
from .exchange import Request

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

T = TypeVar("T")


def finish(view: Coroutine[Any, Any, T]) -> T:
    """Run a view to its end without an event loop: under WSGI everything it awaits is a
    synchronous call (see :class:`.accounts.BlockingUserSessions`), so it never suspends."""
    try:
        view.send(None)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    view.close()
    raise RuntimeError("a demo view suspended under WSGI")


def _request(environ: WSGIEnvironment) -> Request:
    method = environ["REQUEST_METHOD"]
    length = int(environ.get("CONTENT_LENGTH") or 0) if method == "POST" else 0
    return Request(
        method=method,
        path=environ.get("PATH_INFO") or "/",
        accept=environ.get("HTTP_ACCEPT", ""),
        content_type=environ.get("CONTENT_TYPE", ""),
        user_agent=environ.get("HTTP_USER_AGENT", ""),
        body=environ["wsgi.input"].read(length) if length > 0 else b"",
    )


def create_wsgi_app(manager: SessionManager | None = None) -> WSGIApplication:
    """The demo's WSGI app; by default its manager is configured from the environment."""
    manager = manager or manager_from_env()
    site = routes.Site(manager, BlockingUserSessions(manager))

    def demo_app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = _request(environ)
        response = finish(routes.handle(request, get_session(environ), site))
        status = HTTPStatus(response.status)
        start_response(f"{status.value} {status.phrase}", response.header_list())
        return [] if request.method == "HEAD" else [response.body]

    return SessionMiddleware(demo_app, manager)
