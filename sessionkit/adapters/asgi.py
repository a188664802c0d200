"""Pure ASGI middleware: every request gets a session at ``scope["session"]``.

::

    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from sessionkit.adapters.asgi import SessionMiddleware

    app = Starlette(routes=..., middleware=[Middleware(SessionMiddleware, manager=manager)])

Starlette's and FastAPI's ``request.session`` (and ``websocket.session``) then work unchanged.
Store I/O goes through ``aopen`` and ``acommit``, so the event loop never blocks. Dict access
cannot await, so a request with a valid cookie has its session loaded before the application
runs, unless the store never blocks (``memory://``): then it is loaded on first use, on the
event loop, and a request that never uses it costs nothing. If the store is down, the error
is kept for the session's first use, so a request that never uses its session succeeds.

The session is committed when the application sends ``http.response.start``, before the headers
leave, so a redirect cannot race the write. ``Set-Cookie`` is appended beside the application's
own headers and ``Vary: Cookie`` added when the session was used or a cookie is set. A 5xx
response saves nothing.

When the store is unavailable (:class:`~sessionkit.StoreUnavailableError`, at the session's
first use or at the commit) the middleware answers ``503 Service Unavailable`` with
``Retry-After``; a :class:`~sessionkit.errors.SessionConflictError` (``on_conflict="raise"``) gets
``409 Conflict``; one log line per such request at most, rate-limited. A websocket handshake
is closed with code 1013 (try again later). With ``respond_to_errors=False`` both errors
propagate instead, for the framework's own handler.

Websockets: the session is loaded for the handshake and committed when the application sends
``websocket.accept``, whose headers then carry any ``Set-Cookie``. Changes made after the
accept cannot reach the cookie; to keep them, call ``await session.asave()`` (it writes at
once; a session that is new at that point is stored but its cookie cannot be sent any more).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from ..errors import SessionConflictError, SessionKitError, StoreUnavailableError
from ..manager import SessionManager
from ..session import Session
from ._http import FailureLog, answer_for, forwarded_https, is_server_error, vary_with
from .tokens import TokenTransport

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
RawHeaders = list[tuple[bytes, bytes]]

SCOPE_KEY = "session"
_START = {"http": "http.response.start", "websocket": "websocket.accept"}
_SECURE_SCHEMES = ("https", "wss")


class SessionMiddleware:
    """Wraps an ASGI application so that each http and websocket scope has a session.

    :param app: the ASGI application.
    :param manager: opens and commits the sessions.
    :param trust_proxy: decide https from the first ``X-Forwarded-Proto`` value (only behind a
        proxy that sets it); otherwise from the scope's scheme, and that header is ignored.
    :param respond_to_errors: answer 503 for an unavailable store and 409 for a refused
        merge (default); False lets those errors propagate.
    :param token: carry the session id in headers instead of a cookie; see
        :mod:`sessionkit.adapters.tokens`.
    :param eager: load a cookie's session before the application runs. By default, yes,
        unless the store never blocks (memory: then it loads on first use, on the loop).
        False: nothing is loaded until the app awaits ``session.aload()`` (or touches the
        session, which then loads with the synchronous store, blocking the loop for that
        call), so requests that never use their session cost no store call.
    :param session_class: a subclass of :class:`~sessionkit.session.Session` to hand out
        (a framework's own session interface on top).
    """

    def __init__(
        self,
        app: ASGIApp,
        manager: SessionManager,
        *,
        trust_proxy: bool = False,
        respond_to_errors: bool = True,
        token: TokenTransport | None = None,
        eager: bool | None = None,
        session_class: type[Session] = Session,
    ) -> None:
        self.app = app
        self.manager = manager
        self.trust_proxy = trust_proxy
        self.respond_to_errors = respond_to_errors
        self.token = token
        self.eager = eager
        self.session_class = session_class
        self._token_key = None if token is None else token.request_header.lower().encode()
        self.failures = FailureLog()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        start = _START.get(scope["type"])
        if start is None:  # lifespan and unknown scopes pass through
            await self.app(scope, receive, send)
            return
        headers: RawHeaders = scope.get("headers", [])
        transport = self.token
        token = None
        if transport is not None:
            sent = [value for name, value in headers if name == self._token_key]
            token = transport.token_in(sent[0].decode("latin-1") if sent else None)
        if transport is not None and (token is not None or not transport.cookies):
            cookie_header, token = None, token or ""
        else:
            transport, cookie_header = None, _cookie_header(headers)
        manager = self.manager
        # A store that never blocks is called on the loop through the synchronous methods,
        # without a coroutine of theirs per request (aopen would load nothing either).
        inline = manager.runs_inline()
        if inline and not self.eager:
            session = manager.open(cookie_header, self.session_class, token=token)
        else:
            session = await manager.aopen(
                cookie_header, self.session_class, token=token, load=self.eager
            )
        scope[SCOPE_KEY] = session
        committed = started = False
        commit_error: SessionKitError | None = None

        async def send_with_session(message: Message) -> None:
            nonlocal committed, started, commit_error
            if message["type"] == start and not committed:
                committed = True
                if not is_server_error(message.get("status", 200)):
                    accessed = session.accessed
                    try:
                        if transport is not None:
                            value = await manager.acommit_token(session)
                        else:
                            https = (
                                self.is_https(scope, headers)
                                if self.trust_proxy
                                else scope.get("scheme") in _SECURE_SCHEMES  # its call spared
                            )
                            # Asked again only where a breaker may have opened meanwhile.
                            if inline and (manager.breaker is None or manager.runs_inline()):
                                value = manager.commit(session, https=https)
                            else:
                                value = await manager.acommit(session, https=https)
                    except (StoreUnavailableError, SessionConflictError) as error:
                        commit_error = error  # answered below, whatever the app makes of it
                        raise
                    if value is not None or accessed:
                        message = self.with_session_headers(message, value, transport)
                started = True
            await send(message)

        try:
            await self.app(scope, receive, send_with_session)
        except Exception as raised:
            error = commit_error or raised
            if not isinstance(error, (StoreUnavailableError, SessionConflictError)):
                raise
            answer = answer_for(error)
            if not self.respond_to_errors or started or answer is None:
                raise
            self.failures.failed(answer, error, scope.get("method", "WS"), scope.get("path", ""))
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1013})
                return
            response = [(b"content-type", b"text/plain; charset=utf-8")]
            response += [(name.lower().encode(), value.encode()) for name, value in answer.headers]
            await send(
                {"type": "http.response.start", "status": answer.status, "headers": response}
            )
            await send({"type": "http.response.body", "body": answer.body})

    def is_https(self, scope: Scope, headers: RawHeaders) -> bool:
        direct = scope.get("scheme") in _SECURE_SCHEMES
        if self.trust_proxy:
            for name, value in headers:
                if name == b"x-forwarded-proto":
                    return forwarded_https(value.decode("latin-1"), direct)
        return direct

    def with_session_headers(
        self, message: Message, value: str | None, transport: TokenTransport | None = None
    ) -> Message:
        """``message`` with the committed session's Set-Cookie (or token), if any, and Vary."""
        if transport is None:
            name, varies = b"set-cookie", "Cookie"
        else:
            name, varies = transport.response_header.lower().encode(), transport.request_header
        headers: RawHeaders = list(message.get("headers", ()))
        for index, (header, existing) in enumerate(headers):
            if len(header) == 4 and header.lower() == b"vary":  # len: no lower() for most
                vary = vary_with(existing.decode("latin-1"), varies)
                headers[index] = (header, vary.encode("latin-1"))
                break
        else:
            headers.append((b"vary", varies.encode("latin-1")))
        if value is not None:
            headers.append((name, value.encode("latin-1")))
        return {**message, "headers": headers}


def _cookie_header(headers: RawHeaders) -> str | None:
    found = None
    for name, value in headers:
        if name == b"cookie":
            # HTTP/2 may split the Cookie header; its parts join with "; " (RFC 9113, 8.2.3).
            found = value if found is None else b"; ".join((found, value))
    return None if found is None else found.decode("latin-1")
