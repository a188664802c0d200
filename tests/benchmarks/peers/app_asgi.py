"""Starlette and FastAPI: the four routes, bare, on starsessions or on sessionkit's ASGI
middleware.

starsessions runs with its defaults besides the store and a lifetime of :data:`TTL` (and
``cookie_https_only=False``, as these requests are plain http): every route loads the session
explicitly with ``await load_session(request)``, as its documentation asks, and it writes the
session back on every response that loaded it. Its stores: ``RedisStore`` (redis.asyncio) and
``InMemoryStore``; it has none for memcached, files or SQL.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse

from sessionkit import SessionManager

from .apps import Built, Store, sessionkit_manager
from .drive import ASGIDriver
from .sessions import TTL, contents, stand_in


def peer_middleware(store: Store) -> tuple[type, dict[str, Any]]:
    from starsessions import SessionMiddleware as StarMiddleware

    if store.backend == "redis":
        from starsessions.stores.redis import RedisStore

        peer_store: Any = RedisStore(store.servers.redis_url, prefix="starsessions:")
    elif store.backend == "memory":
        from starsessions import InMemoryStore

        peer_store = InMemoryStore()
    else:
        raise ValueError(f"starsessions has no store for {store.backend}")
    return StarMiddleware, {"store": peer_store, "lifetime": TTL, "cookie_https_only": False}


def session_endpoints(impl: str) -> dict[str, Any]:
    """The endpoints, as ``async def (request)`` functions returning a plain-text response.
    The bare app (no middleware) has a session of its own: a dict, held by the app."""
    plain = stand_in()

    async def load(request: Request) -> None:
        if impl == "peer":
            from starsessions import load_session

            await load_session(request)

    async def bare(request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    async def read(request: Request) -> PlainTextResponse:
        await load(request)
        session = request.scope.get("session", plain)  # request.session, or the bare app's
        return PlainTextResponse(str(session["user"]["id"]))

    async def modify(request: Request) -> PlainTextResponse:
        await load(request)
        session = request.scope.get("session", plain)
        session["views"] = session["views"] + 1
        return PlainTextResponse(str(session["views"]))

    async def seed(request: Request) -> PlainTextResponse:
        await load(request)
        request.session.update(contents(request.path_params["size"]))
        return PlainTextResponse("ok")

    return {"/bare": bare, "/read": read, "/modify": modify, "/seed/{size}": seed}


Layers = list[tuple[type, dict[str, Any]]]


def middleware(impl: str, store: Store) -> tuple[Layers, Callable[[], object] | None]:
    """The session middleware (class, options) and the close function of what it opened."""
    if impl == "bare":
        return [], None
    if impl == "peer":
        return [peer_middleware(store)], None
    return sessionkit_layers(sessionkit_manager(impl, store))


def sessionkit_layers(manager: SessionManager) -> tuple[Layers, Callable[[], object]]:
    from sessionkit.adapters.asgi import SessionMiddleware

    return [(SessionMiddleware, {"manager": manager})], manager.close


def build_starlette(impl: str, store: Store) -> Built:
    return starlette_app(impl, *middleware(impl, store), store)


def build_starlette_with(manager: SessionManager, store: Store) -> Built:
    """The Starlette app on sessionkit's middleware with this manager."""
    return starlette_app("sessionkit", *sessionkit_layers(manager), store)


def starlette_app(
    impl: str, layers: Layers, closing: Callable[[], object] | None, store: Store
) -> Built:
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.routing import Route

    routes = [Route(path, endpoint) for path, endpoint in session_endpoints(impl).items()]
    app = Starlette(routes=routes, middleware=[Middleware(cls, **kw) for cls, kw in layers])
    return Built(ASGIDriver(app), "session", store.directories, closing)


def build_fastapi(impl: str, store: Store) -> Built:
    from fastapi import FastAPI

    layers, closing = middleware(impl, store)
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    for path, endpoint in session_endpoints(impl).items():
        app.add_api_route(path, endpoint, methods=["GET"])
    for cls, options in layers:
        app.add_middleware(cls, **options)
    return Built(ASGIDriver(app), "session", store.directories, closing)
