"""Litestar integration: ``request.session`` is the sessionkit session, through the generic
ASGI middleware, installed by a plugin.

::

    from litestar import Litestar
    from sessionkit.adapters.litestar import SessionKitPlugin

    app = Litestar(route_handlers=[...], plugins=[SessionKitPlugin(manager)])

Use the session as sessionkit's (``request.session.regenerate()`` at login,
``request.session.destroy()`` at logout), or with Litestar's own calls:
``request.set_session({...})`` replaces the session with a new one (a new id, as at login) and
``request.clear_session()`` destroys it; the plugin carries either out before the commit.

Litestar turns any exception of a handler into a response of its own, so the plugin registers
exception handlers that answer as the middleware does: 503 with ``Retry-After`` for an
unavailable store, 409 for a refused merge, one rate-limited log line. It also hands an error
of the commit back to the middleware, which Litestar would otherwise wrap in its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from litestar import Request, Response
from litestar.config.app import AppConfig
from litestar.plugins import InitPlugin
from litestar.types import ASGIApp, Empty

from ..errors import SessionConflictError, SessionKitError, StoreUnavailableError
from ..manager import SessionManager
from ..session import Session
from . import asgi
from ._http import FailureLog, answer_for

_STORE_ERRORS = (StoreUnavailableError, SessionConflictError)
_START = ("http.response.start", "websocket.accept")


class SessionKitPlugin(InitPlugin):
    """Installs the session middleware (outermost) and the store errors' exception handlers.

    :param manager: opens and commits the sessions.
    :param trust_proxy: as for :class:`sessionkit.adapters.asgi.SessionMiddleware`.
    :param respond_to_errors: answer 503 and 409 (default); False leaves those errors to
        the application's own exception handlers.
    """

    __slots__ = ("failures", "manager", "respond_to_errors", "trust_proxy")

    def __init__(
        self, manager: SessionManager, *, trust_proxy: bool = False, respond_to_errors: bool = True
    ) -> None:
        self.manager = manager
        self.trust_proxy = trust_proxy
        self.respond_to_errors = respond_to_errors
        self.failures = FailureLog()

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        app_config.middleware.insert(0, self.middleware)
        if self.respond_to_errors:
            for error in _STORE_ERRORS:
                app_config.exception_handlers[error] = self.answer
        return app_config

    def middleware(self, app: ASGIApp) -> ASGIApp:
        """The generic middleware around ``app``, and Litestar's session calls in between."""
        middleware = asgi.SessionMiddleware(
            _following_litestar(app),
            self.manager,
            trust_proxy=self.trust_proxy,
            respond_to_errors=self.respond_to_errors,
        )
        return cast(ASGIApp, middleware)  # Litestar types scopes more narrowly

    def answer(self, request: Request[Any, Any, Any], error: SessionKitError) -> Response[bytes]:
        """The response to a store error that a handler raised."""
        answer = answer_for(error)
        assert answer is not None  # registered for the errors that have one
        self.failures.failed(answer, error, request.method, request.url.path)
        headers = dict(answer.headers)
        return Response(
            answer.body, status_code=answer.status, headers=headers, media_type="text/plain"
        )


def _following_litestar(app: ASGIApp) -> asgi.ASGIApp:
    async def following(scope: asgi.Scope, receive: asgi.Receive, send: asgi.Send) -> None:
        session: Session = scope[asgi.SCOPE_KEY]

        async def send_to_middleware(message: asgi.Message) -> None:
            if message["type"] in _START:
                _carry_out_session_calls(scope, session)
            await send(message)  # the middleware commits on the first one

        await app(scope, receive, send_to_middleware)  # type: ignore[arg-type]

    return following


def _carry_out_session_calls(scope: asgi.Scope, session: Session) -> None:
    """Apply ``request.set_session`` or ``request.clear_session``, which replace the scope's
    session object, to the session the middleware commits."""
    current = scope.get(asgi.SCOPE_KEY)
    if current is session:
        return
    scope[asgi.SCOPE_KEY] = session
    if current is Empty or current is None:
        session.destroy()
    elif isinstance(current, Mapping):
        session.regenerate()
        session.update(current)
    else:
        raise TypeError("a sessionkit session holds JSON values: give set_session a dict")
