"""The demo as a Starlette app behind :class:`sessionkit.adapters.asgi.SessionMiddleware`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from ..adapters.asgi import SessionMiddleware
from ..manager import SessionManager
from ..session import Session
from . import views
from .config import manager_from_env

Handler = Callable[[Request], Awaitable[Response]]


def _session(request: Request) -> Session:
    session: Session = request.scope["session"]
    return session


async def _fields(request: Request) -> dict[str, Any]:
    return views.read_fields(request.headers.get("content-type", ""), await request.body())


def _bad_requests(handler: Handler) -> Handler:
    async def answer(request: Request) -> Response:
        try:
            return await handler(request)
        except views.BadRequest as exc:
            return PlainTextResponse(str(exc), status_code=400)

    return answer


async def home(request: Request) -> Response:
    return PlainTextResponse(views.visit(_session(request)))


async def login(request: Request) -> Response:
    return JSONResponse(views.login(_session(request), await _fields(request)))


async def logout(request: Request) -> Response:
    _session(request).destroy()
    return JSONResponse({"logged_out": True})


async def cart(request: Request) -> Response:
    return JSONResponse(views.update_cart(_session(request), await _fields(request)))


async def me(request: Request) -> Response:
    return JSONResponse(dict(_session(request)))


async def health(request: Request) -> Response:
    return PlainTextResponse("ok")


def create_app(manager: SessionManager | None = None) -> Starlette:
    """The demo app; by default its manager is configured from the environment."""
    manager = manager or manager_from_env()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        manager.close()

    return Starlette(
        routes=[
            Route("/", home),
            Route("/login", _bad_requests(login), methods=["POST"]),
            Route("/logout", logout, methods=["POST"]),
            Route("/cart", _bad_requests(cart), methods=["POST"]),
            Route("/me", me),
            Route("/health", health),
        ],
        middleware=[Middleware(SessionMiddleware, manager=manager)],
        lifespan=lifespan,
    )
