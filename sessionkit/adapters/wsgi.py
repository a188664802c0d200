"""WSGI middleware: every request gets a session at ``environ["sessionkit.session"]``.

::

    from sessionkit import SessionManager
    from sessionkit.adapters.wsgi import SessionMiddleware

    app = SessionMiddleware(app, SessionManager("redis://127.0.0.1:6379/0", secret="..."))

The session is committed when the application calls ``start_response``, before any header
reaches the client, so a redirect cannot race the write. Its ``Set-Cookie`` is appended beside
the application's own, and ``Vary: Cookie`` is added when the session was used or a cookie
is set. A 5xx response saves nothing.

When the store is unavailable (:class:`~sessionkit.StoreUnavailableError`, raised by the
session's first use or by the commit) the middleware answers ``503 Service Unavailable`` with
``Retry-After``; a :class:`~sessionkit.errors.SessionConflictError` (``on_conflict="raise"``) gets
``409 Conflict``; one log line per such request at most, rate-limited. With
``respond_to_errors=False`` both propagate instead, for the framework's own handler. A request
that never uses its session never meets the store, so it succeeds while the store is down.
(An application that calls ``start_response`` only while its body is iterated gets the
error raised from that iteration, since the server has taken over by then.)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from ..errors import SessionConflictError, StoreUnavailableError
from ..manager import SessionManager
from ..session import Session
from ._http import FailureLog, answer_for, forwarded_https, is_server_error, vary_with
from .tokens import TokenTransport

if TYPE_CHECKING:
    from _typeshed import OptExcInfo
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

ENVIRON_KEY = "sessionkit.session"

Headers = list[tuple[str, str]]


def get_session(environ: WSGIEnvironment) -> Session:
    """The request's session, as put in ``environ`` by :class:`SessionMiddleware`."""
    session: Session = environ[ENVIRON_KEY]
    return session


class SessionMiddleware:
    """Wraps a WSGI application so that each request has a session.

    :param app: the WSGI application.
    :param manager: opens and commits the sessions.
    :param trust_proxy: decide https from the first ``X-Forwarded-Proto`` value (only behind a
        proxy that sets it); otherwise from ``wsgi.url_scheme``, and that header is ignored.
    :param respond_to_errors: answer 503 for an unavailable store and 409 for a refused
        merge (default); False lets those errors propagate.
    :param token: carry the session id in headers instead of a cookie; see
        :mod:`sessionkit.adapters.tokens`.
    :param session_class: a subclass of :class:`~sessionkit.session.Session` to hand out
        (a framework's own session interface on top).
    """

    def __init__(
        self,
        app: WSGIApplication,
        manager: SessionManager,
        *,
        trust_proxy: bool = False,
        respond_to_errors: bool = True,
        token: TokenTransport | None = None,
        session_class: type[Session] = Session,
    ) -> None:
        self.app = app
        self.session_class = session_class
        self.manager = manager
        self.trust_proxy = trust_proxy
        self.respond_to_errors = respond_to_errors
        self.token = token
        self.failures = FailureLog()

    def is_https(self, environ: WSGIEnvironment) -> bool:
        direct = environ.get("wsgi.url_scheme") == "https"
        if self.trust_proxy:
            return forwarded_https(environ.get("HTTP_X_FORWARDED_PROTO"), direct)
        return direct

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        transport = self.token
        token = (
            None if transport is None else transport.token_in(environ.get(transport.environ_key))
        )
        if transport is not None and (token is not None or not transport.cookies):
            session = self.manager.open(None, self.session_class, token=token or "")
        else:
            transport = None
            session = self.manager.open(environ.get("HTTP_COOKIE"), self.session_class)
        environ[ENVIRON_KEY] = session
        committed = started = False

        def start_with_session(
            status: str, headers: Headers, exc_info: OptExcInfo | None = None, /
        ) -> Callable[[bytes], object]:
            nonlocal committed, started
            if not committed and not is_server_error(int(status[:3])):
                committed = True
                headers = self.commit(session, headers, self.is_https(environ), transport)
            started = True
            return start_response(status, headers, exc_info)

        try:
            return self.app(environ, start_with_session)
        except (StoreUnavailableError, SessionConflictError) as error:
            answer = answer_for(error)
            if not self.respond_to_errors or started or answer is None:
                raise
            method, path = environ.get("REQUEST_METHOD", "?"), environ.get("PATH_INFO", "")
            self.failures.failed(answer, error, method, path)
            headers = [("Content-Type", "text/plain; charset=utf-8"), *answer.headers]
            start_response(f"{answer.status} {answer.reason}", headers)
            return [answer.body]

    def commit(
        self,
        session: Session,
        headers: Headers,
        https: bool,
        transport: TokenTransport | None = None,
    ) -> Headers:
        """Commit ``session``; return ``headers`` with its Set-Cookie (or token) and Vary."""
        accessed = session.accessed
        if transport is None:
            name, value, varies = "Set-Cookie", self.manager.commit(session, https=https), "Cookie"
        else:
            value = self.manager.commit_token(session)
            name, varies = transport.response_header, transport.request_header
        if value is None and not accessed:
            return headers
        headers = list(headers)
        if value is not None:
            headers.append((name, value))
        for index, (header, existing) in enumerate(headers):
            if header.lower() == "vary":
                headers[index] = (header, vary_with(existing, varies))
                break
        else:
            headers.append(("Vary", varies))
        return headers
