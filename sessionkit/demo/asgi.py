"""The demo as a Starlette app behind :class:`sessionkit.adapters.asgi.SessionMiddleware`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request as StarletteRequest
from starlette.routing import Mount
from starlette.types import Receive, Scope, Send

from ..adapters.asgi import SCOPE_KEY, SessionMiddleware
from ..manager import SessionManager
from ..session import Session
from . import routes
from .accounts import AsyncUserSessions
from .config import manager_from_env
from .exchange import Request


async def _request(request: StarletteRequest) -> Request:
    headers = request.headers
    return Request(
        method=request.method,
        path=request.url.path,
        accept=headers.get("accept", ""),
        content_type=headers.get("content-type", ""),
        user_agent=headers.get("user-agent", ""),
        body=await request.body() if request.method == "POST" else b"",
    )


def create_app(manager: SessionManager | None = None) -> Starlette:
    """The demo app; by default its manager is configured from the environment."""
    manager = manager or manager_from_env()
    site = routes.Site(manager, AsyncUserSessions(manager))

    async def demo_app(scope: Scope, receive: Receive, send: Send) -> None:
        request = await _request(StarletteRequest(scope, receive))
        session: Session = scope[SCOPE_KEY]
        answer = await routes.handle(request, session, site)
        headers = [
            (name.lower().encode("latin-1"), value.encode("latin-1"))
            for name, value in answer.header_list()
        ]
        await send({"type": "http.response.start", "status": answer.status, "headers": headers})
        body = b"" if request.method == "HEAD" else answer.body
        await send({"type": "http.response.body", "body": body})

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await manager.aclose()

    return Starlette(
        routes=[Mount("", app=demo_app)],
        middleware=[Middleware(SessionMiddleware, manager=manager)],
        lifespan=lifespan,
    )
