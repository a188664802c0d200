"""A small aiohttp.web application on sessionkit, for the aiohttp adapter's tests.

The tests build it in-process; ``python -m aiohttp.web -H 127.0.0.1 -P PORT
tests.adapters.aiohttp_app:main STORE_URL`` serves it on a real server (the signing secret
comes from ``SESSIONKIT_SECRET``, never the command line).
"""

from __future__ import annotations

import os

from aiohttp import web

from sessionkit import SessionManager
from sessionkit.adapters.aiohttp import get_session, setup
from sessionkit.adapters.tokens import TokenTransport


async def home(request: web.Request) -> web.Response:
    session = await get_session(request)
    session["views"] = session.get("views", 0) + 1
    response = web.Response(text=str(session["views"]), headers={"Vary": "Accept"})
    response.set_cookie("theme", "dark")
    return response


async def me(request: web.Request) -> web.Response:
    return web.json_response(dict(await get_session(request)))


async def login(request: web.Request) -> web.Response:
    session = await get_session(request)
    session.regenerate(keep=True)
    session["user"] = "ann"
    raise web.HTTPFound("/me")  # a raised redirect carries the new cookie too


async def logout(request: web.Request) -> web.Response:
    (await get_session(request)).destroy()
    return web.Response(text="out")


async def stream(request: web.Request) -> web.StreamResponse:
    session = await get_session(request)
    session["streamed"] = session.get("streamed", 0) + 1
    response = web.StreamResponse()
    await response.prepare(request)  # committed here, before the headers leave
    await response.write(f"streamed {session['streamed']}".encode())
    await response.write_eof()
    return response


async def boom(request: web.Request) -> web.Response:
    (await get_session(request))["views"] = 99
    return web.Response(text="boom", status=500)


async def untouched(request: web.Request) -> web.Response:
    return web.Response(text="untouched")


async def socket(request: web.Request) -> web.WebSocketResponse:
    session = await get_session(request)
    session["socket"] = session.get("socket", 0) + 1
    websocket = web.WebSocketResponse()
    await websocket.prepare(request)
    await websocket.send_json(dict(session))
    await websocket.close()
    return websocket


def make_app(
    manager: SessionManager, *, trust_proxy: bool = False, token: TokenTransport | None = None
) -> web.Application:
    app = web.Application()
    app.add_routes(
        [
            web.get("/", home),
            web.get("/me", me),
            web.post("/login", login),
            web.post("/logout", logout),
            web.get("/stream", stream),
            web.get("/boom", boom),
            web.get("/untouched", untouched),
            web.get("/ws", socket),
        ]
    )
    setup(app, manager, trust_proxy=trust_proxy, token=token)
    return app


def main(argv: list[str]) -> web.Application:
    """The factory ``python -m aiohttp.web`` calls; ``argv`` holds the store URL."""
    manager = SessionManager(argv[0], os.environ["SESSIONKIT_SECRET"])
    app = make_app(manager)

    async def close(app: web.Application) -> None:
        await manager.aclose()

    app.on_cleanup.append(close)
    return app
