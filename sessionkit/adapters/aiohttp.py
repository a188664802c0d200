"""aiohttp.web integration: ``session = await get_session(request)`` in any handler.

::

    from aiohttp import web
    from sessionkit import SessionManager
    from sessionkit.adapters.aiohttp import get_session, setup

    async def home(request: web.Request) -> web.Response:
        session = await get_session(request)
        session["views"] = session.get("views", 0) + 1
        return web.Response(text=str(session["views"]))

    app = web.Application()
    setup(app, SessionManager("redis://127.0.0.1:6379/0", secret="..."))

A request meets the store only if it calls :func:`get_session`: that call opens the session
with :meth:`~sessionkit.SessionManager.aopen`, which loads it at once when the store's async
twin may block (Redis, SQL ...), so that reading and writing it afterwards never blocks the
event loop. A request that never asks for its session costs no store I/O.

The session is committed with :meth:`~sessionkit.SessionManager.acommit` before the response
is prepared: when the handler returns it (or raises an ``HTTPException`` such as a redirect),
or, for a ``StreamResponse`` or ``WebSocketResponse`` whose ``prepare()`` the handler calls
itself, from the application's ``on_response_prepare`` signal, before the headers leave.
``Set-Cookie`` is added beside the application's own headers and ``Vary: Cookie`` added when
the session was used or a cookie is set. A 5xx response saves nothing. Changes made after the
response is prepared cannot reach the cookie; ``await session.asave()`` writes them at once.

When the store is unavailable (:class:`~sessionkit.StoreUnavailableError`, at the session's
first use or at the commit) the answer is ``503 Service Unavailable`` with ``Retry-After``; a
:class:`~sessionkit.errors.SessionConflictError` (``on_conflict="raise"``) gets ``409
Conflict``; one log line per such request at most, rate-limited. With
``respond_to_errors=False`` both propagate instead. With ``trust_proxy=True`` the first
``X-Forwarded-Proto`` value decides whether a request is https (for ``secure="auto"``);
otherwise that header is ignored. With ``token=TokenTransport()`` the session id travels in
headers instead of a cookie (see :mod:`sessionkit.adapters.tokens`).
"""

from __future__ import annotations

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler

from ..errors import ConfigurationError, SessionConflictError, StoreUnavailableError
from ..manager import SessionManager
from ..session import Session
from ._http import FailureLog, answer_for, forwarded_https, is_server_error, vary_with
from .tokens import TokenTransport


class _RequestSession:
    """One request's session (None until :func:`get_session`) and where its commit stands."""

    __slots__ = ("committed", "middleware", "session", "started", "transport")

    def __init__(self, middleware: SessionMiddleware) -> None:
        self.middleware = middleware
        self.session: Session | None = None
        self.transport: TokenTransport | None = None  # set when a token carries the session
        self.committed = False  # the commit ran (or had nothing to do)
        self.started = False  # a response's headers are on their way: too late for a 503


STATE_KEY = web.RequestKey("sessionkit", _RequestSession)


async def get_session(request: web.Request) -> Session:
    """The request's session, opened (and, on a store that may block, loaded) on first call."""
    state: _RequestSession | None = request.get(STATE_KEY)
    if state is None:
        raise ConfigurationError(
            "no sessionkit middleware on this application: call "
            "sessionkit.adapters.aiohttp.setup(app, manager)"
        )
    if state.session is None:
        state.session = await state.middleware.open(request, state)
    return state.session


class SessionMiddleware:
    """The aiohttp middleware and ``on_response_prepare`` handler; install it with :func:`setup`.

    :param manager: opens and commits the sessions.
    :param trust_proxy: decide https from the first ``X-Forwarded-Proto`` value (only behind a
        proxy that sets it); otherwise from the connection, and that header is ignored.
    :param respond_to_errors: answer 503 for an unavailable store and 409 for a refused
        merge (default); False lets those errors propagate.
    :param token: carry the session id in headers instead of a cookie; see
        :mod:`sessionkit.adapters.tokens`.
    """

    __middleware_version__ = 1  # a new-style middleware, as ``@web.middleware`` marks one

    def __init__(
        self,
        manager: SessionManager,
        *,
        trust_proxy: bool = False,
        respond_to_errors: bool = True,
        token: TokenTransport | None = None,
    ) -> None:
        self.manager = manager
        self.trust_proxy = trust_proxy
        self.respond_to_errors = respond_to_errors
        self.token = token
        self.failures = FailureLog()

    async def __call__(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        state = request[STATE_KEY] = _RequestSession(self)
        try:
            try:
                response = await handler(request)
            except web.HTTPException as raised:  # a redirect or error raised as an exception
                await self.commit(request, state, raised)
                raise
            if not response.prepared:
                await self.commit(request, state, response)
            return response
        except (StoreUnavailableError, SessionConflictError) as error:
            answer = answer_for(error)
            if not self.respond_to_errors or state.started or answer is None:
                raise
            self.failures.failed(answer, error, request.method, request.path)
            # Sent from here, unframed by a length: a response the handler prepared itself
            # may have set the connection up for chunks before its commit failed.
            response = web.StreamResponse(status=answer.status, headers=answer.headers)
            response.content_type, response.charset = "text/plain", "utf-8"
            await response.prepare(request)
            await response.write_eof(answer.body)
            return response

    async def on_response_prepare(self, request: web.Request, response: web.StreamResponse) -> None:
        """Commit before a response that the handler prepares itself sends its headers."""
        state: _RequestSession | None = request.get(STATE_KEY)
        if state is not None:
            await self.commit(request, state, response)
            state.started = True

    async def open(self, request: web.Request, state: _RequestSession) -> Session:
        """Open the request's session from its token, if the transport takes one, or cookie."""
        transport = self.token
        if transport is not None:
            token = transport.token_in(request.headers.get(transport.request_header))
            if token is not None or not transport.cookies:
                state.transport = transport
                return await self.manager.aopen(None, token=token or "")
        cookie = "; ".join(request.headers.getall(hdrs.COOKIE, ())) or None
        return await self.manager.aopen(cookie)

    def is_https(self, request: web.Request) -> bool:
        direct = request.secure
        if self.trust_proxy:
            return forwarded_https(request.headers.get("X-Forwarded-Proto"), direct)
        return direct

    async def commit(
        self, request: web.Request, state: _RequestSession, response: web.StreamResponse
    ) -> None:
        """Commit the request's session once; add its Set-Cookie (or token) and Vary to
        ``response``."""
        session = state.session
        if state.committed or session is None or is_server_error(response.status):
            return
        state.committed = True
        accessed = session.accessed
        transport = state.transport
        if transport is None:
            value = await self.manager.acommit(session, https=self.is_https(request))
            name, varies = "Set-Cookie", "Cookie"
        else:
            value = await self.manager.acommit_token(session)
            name, varies = transport.response_header, transport.request_header
        if value is None and not accessed:
            return
        headers = response.headers
        if value is not None:
            headers.add(name, value)
        headers[hdrs.VARY] = vary_with(", ".join(headers.getall(hdrs.VARY, ())), varies)


def setup(
    app: web.Application,
    manager: SessionManager,
    *,
    trust_proxy: bool = False,
    respond_to_errors: bool = True,
    token: TokenTransport | None = None,
) -> SessionMiddleware:
    """Give every request of ``app`` (and of its sub-applications) a session; see the module
    docstring. The middleware goes first, so that the application's own middlewares can call
    :func:`get_session` too."""
    middleware = SessionMiddleware(
        manager, trust_proxy=trust_proxy, respond_to_errors=respond_to_errors, token=token
    )
    app.middlewares.insert(0, middleware)
    app.on_response_prepare.append(middleware.on_response_prepare)
    return middleware
