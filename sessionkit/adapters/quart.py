"""Quart integration: ``quart.session`` is the sessionkit session, through the generic ASGI
middleware.

::

    from quart import Quart, session
    from sessionkit.adapters.quart import with_sessions

    app = Quart(__name__)
    with_sessions(app, manager)

:func:`with_sessions` wraps ``app.asgi_app`` in :class:`sessionkit.adapters.asgi.SessionMiddleware`,
which opens and commits the sessions, and makes Quart's session interface hand out the
middleware's session, so ``quart.session`` (and ``session`` in templates) is a
:class:`sessionkit.Session`: ``session.regenerate()`` at login, ``session.destroy()`` at logout.
Quart answers any exception of a view with its own 500, so it also registers error handlers
that answer as the middleware does: 503 with ``Retry-After`` for an unavailable store, 409 for
a refused merge, one rate-limited log line.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from quart import Quart, Response, has_request_context, request, websocket
from quart.sessions import SessionInterface, SessionMixin
from quart.wrappers import BaseRequestWebsocket
from werkzeug.wrappers import Response as WerkzeugResponse

from ..errors import SessionConflictError, SessionKitError, StoreUnavailableError
from ..manager import SessionManager
from . import asgi
from ._http import FailureLog, answer_for


class MiddlewareSessions(SessionInterface):
    """Quart's session interface over the session that the middleware put in the scope."""

    async def open_session(self, app: Quart, request: BaseRequestWebsocket) -> SessionMixin | None:
        scope: Mapping[str, Any] = request.scope
        # Not a SessionMixin: Quart only hands it to the application, and back to save_session.
        return cast(SessionMixin, scope[asgi.SCOPE_KEY])

    async def save_session(
        self, app: Quart, session: SessionMixin, response: Response | WerkzeugResponse | None
    ) -> None:
        """Nothing to do: the middleware commits the session as the response starts."""


def with_sessions(
    app: Quart,
    manager: SessionManager,
    *,
    trust_proxy: bool = False,
    respond_to_errors: bool = True,
) -> None:
    """Give ``app`` sessionkit sessions; see the module docstring. The options are those of
    :class:`~sessionkit.adapters.asgi.SessionMiddleware`."""
    middleware = asgi.SessionMiddleware(
        app.asgi_app,  # type: ignore[arg-type]  # Quart types scopes more narrowly
        manager,
        trust_proxy=trust_proxy,
        respond_to_errors=respond_to_errors,
    )
    app.asgi_app = middleware  # type: ignore[assignment,method-assign]  # Quart's own way
    app.session_interface = MiddlewareSessions()  # type: ignore[assignment]  # typed narrowly
    if not respond_to_errors:
        return
    failures = FailureLog()

    async def answer(error: SessionKitError) -> Response:
        answer = answer_for(error)
        assert answer is not None  # registered for the errors that have one
        method, path = (
            (request.method, request.path) if has_request_context() else ("WS", websocket.path)
        )
        failures.failed(answer, error, method, path)
        return Response(answer.body, answer.status, dict(answer.headers), mimetype="text/plain")

    app.register_error_handler(StoreUnavailableError, answer)
    app.register_error_handler(SessionConflictError, answer)
