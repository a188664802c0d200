"""Falcon integration: ``req.context.session`` in a WSGI (``falcon.App``) or an ASGI
(``falcon.asgi.App``) application, through the generic middleware.

::

    import falcon
    from sessionkit.adapters.falcon import with_sessions

    app = falcon.App()  # or falcon.asgi.App()
    app.add_route("/", Home())
    application = with_sessions(app, manager)  # serve this one

The session is the one :class:`sessionkit.adapters.wsgi.SessionMiddleware` (or the ASGI one)
opens; a middleware component appended to the app's own copies it to ``req.context.session``.
Falcon answers any exception of a responder with its own 500, so the store errors the
middleware answers (503 for an unavailable store, 409 for a refused merge) are handed back to
it: Falcon leaves an error that its handler re-raises to the server around the app.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import falcon
import falcon.asgi

from ..errors import SessionConflictError, StoreUnavailableError
from ..manager import SessionManager
from . import asgi, wsgi

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

_STORE_ERRORS = (StoreUnavailableError, SessionConflictError)


class SessionContext:
    """A Falcon middleware component: the request's session at ``req.context.session``."""

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        req.context.session = wsgi.get_session(req.env)

    async def process_request_async(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response
    ) -> None:
        req.context.session = req.scope[asgi.SCOPE_KEY]


def _to_middleware(
    req: falcon.Request, resp: falcon.Response, error: Exception, params: dict[str, Any]
) -> None:
    raise error


async def _to_middleware_async(
    req: falcon.asgi.Request,
    resp: falcon.asgi.Response | None,
    error: Exception,
    params: dict[str, Any],
    *,
    ws: falcon.asgi.WebSocket | None = None,
) -> None:
    raise error


def with_sessions(
    app: falcon.App[Any, Any],
    manager: SessionManager,
    *,
    trust_proxy: bool = False,
    respond_to_errors: bool = True,
) -> wsgi.SessionMiddleware | asgi.SessionMiddleware:
    """``app`` wrapped in the WSGI or ASGI session middleware that fits it (see the module
    docstring); the options are the middleware's."""
    app.add_middleware(SessionContext())
    options: dict[str, Any] = {"trust_proxy": trust_proxy, "respond_to_errors": respond_to_errors}
    if isinstance(app, falcon.asgi.App):
        if respond_to_errors:
            app.add_error_handler(_STORE_ERRORS, _to_middleware_async)
        # Falcon types its ASGI and WSGI callables more narrowly than the middlewares do.
        return asgi.SessionMiddleware(cast(asgi.ASGIApp, app), manager, **options)
    if respond_to_errors:
        app.add_error_handler(_STORE_ERRORS, _to_middleware)
    return wsgi.SessionMiddleware(cast("WSGIApplication", app), manager, **options)
