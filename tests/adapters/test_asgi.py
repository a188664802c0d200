"""The ASGI middleware, through Starlette's and FastAPI's test clients and httpx."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.testclient import TestClient
from starlette.websockets import WebSocket, WebSocketDisconnect

from sessionkit import SessionManager, StoreUnavailableError, available_backends
from sessionkit.adapters.asgi import SessionMiddleware
from sessionkit.breaker import CircuitBreaker
from sessionkit.ids import new_session_id
from sessionkit.stores.file import FileStore
from sessionkit.stores.memory import MemoryStore
from sessionkit.testing import free_port


class CountingFileStore(FileStore):
    """A real file store (its async twin runs in threads) that records the calls made."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory)
        self.calls: list[str] = []

    def get_versioned(self, sid: str) -> Any:
        self.calls.append("get_versioned")
        return super().get_versioned(sid)

    def replace_versioned(self, *args: Any) -> Any:
        self.calls.append("replace_versioned")
        return super().replace_versioned(*args)


async def home(request: Request) -> Response:
    request.session["views"] = request.session.get("views", 0) + 1
    response = PlainTextResponse(str(request.session["views"]), headers={"Vary": "Accept"})
    response.set_cookie("theme", "dark")
    return response


async def login(request: Request) -> Response:
    request.session.regenerate(keep=True)  # type: ignore[attr-defined]
    return PlainTextResponse("in")


async def logout(request: Request) -> Response:
    request.session.destroy()  # type: ignore[attr-defined]
    return PlainTextResponse("out")


async def boom(request: Request) -> Response:
    request.session["views"] = 99
    return PlainTextResponse("boom", status_code=503)


async def untouched(request: Request) -> Response:
    return PlainTextResponse("untouched")


async def socket(websocket: WebSocket) -> None:
    websocket.session["socket"] = websocket.session.get("socket", 0) + 1
    await websocket.accept()
    await websocket.send_json(dict(websocket.session))
    await websocket.close()


def make_app(manager: SessionManager, trust_proxy: bool = False) -> Starlette:
    return Starlette(
        routes=[
            Route("/", home),
            Route("/login", login, methods=["POST"]),
            Route("/logout", logout, methods=["POST"]),
            Route("/boom", boom),
            Route("/untouched", untouched),
            WebSocketRoute("/ws", socket),
        ],
        middleware=[Middleware(SessionMiddleware, manager=manager, trust_proxy=trust_proxy)],
    )


@pytest.fixture(params=["memory", "redis"])
def any_manager(request: pytest.FixtureRequest) -> Iterator[SessionManager]:
    """A manager on the memory store (run in a worker thread) and on native async Redis."""
    if request.param == "memory":
        yield SessionManager(MemoryStore(), "secret-0123456789abcdefghijklmnopqrstuv")
    else:
        yield request.getfixturevalue("redis_manager")


def session_cookies(response: httpx.Response) -> list[str]:
    return [v for v in response.headers.get_list("set-cookie") if v.startswith("session=")]


def test_visits_are_counted_and_headers_added_beside_the_apps(any_manager: SessionManager) -> None:
    with TestClient(make_app(any_manager)) as client:  # one event loop for every request
        for expected in ("1", "2", "3"):
            response = client.get("/")
            assert response.text == expected
    assert any(v.startswith("theme=dark") for v in response.headers.get_list("set-cookie"))
    assert len(session_cookies(response)) == 1
    assert response.headers.get_list("vary") == ["Accept, Cookie"]


def test_login_changes_the_id_and_logout_clears_the_cookie(any_manager: SessionManager) -> None:
    with TestClient(make_app(any_manager)) as client:
        client.get("/")
        before = client.cookies["session"]
        client.post("/login")
        assert client.cookies["session"] != before
        assert client.get("/").text == "2"
        response = client.post("/logout")
        assert "Max-Age=0" in session_cookies(response)[0]
        assert client.get("/").text == "1"


def test_an_untouched_session_adds_no_header(manager: SessionManager) -> None:
    response = TestClient(make_app(manager)).get("/untouched")
    assert session_cookies(response) == []
    assert "vary" not in response.headers


def test_a_5xx_response_saves_nothing(manager: SessionManager, memory_store: MemoryStore) -> None:
    response = TestClient(make_app(manager)).get("/boom")
    assert response.status_code == 503
    assert session_cookies(response) == []
    assert memory_store.count() == 0


def dead_redis_manager() -> SessionManager:
    if "redis" not in available_backends():
        pytest.skip("sessionkit-redis is not installed")
    url = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there: a dead server
    return SessionManager(url, "a-secret-for-the-dead-store-tests-0123456789")


def test_a_dead_store_gets_503_with_retry_after_and_untouched_requests_pass() -> None:
    manager = dead_redis_manager()
    client = TestClient(make_app(manager))
    response = client.get("/")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert session_cookies(response) == []
    cookie = {"Cookie": f"session={manager.signer.sign(new_session_id())}"}
    assert client.get("/", headers=cookie).status_code == 503
    assert client.get("/untouched", headers=cookie).status_code == 200
    with (
        pytest.raises(WebSocketDisconnect) as closed,
        client.websocket_connect("/ws", headers=cookie),
    ):
        pass
    assert closed.value.code == 1013


def test_store_errors_can_be_left_to_the_framework() -> None:
    manager = dead_redis_manager()
    app = Starlette(
        routes=[Route("/", home)],
        middleware=[Middleware(SessionMiddleware, manager=manager, respond_to_errors=False)],
    )
    response = TestClient(app, raise_server_exceptions=False).get("/")
    assert response.status_code == 500


@pytest.mark.parametrize(
    ("trust_proxy", "base", "forwarded", "secure"),
    [
        (False, "http://testserver", None, False),
        (False, "https://testserver", None, True),
        (False, "http://testserver", "https", False),
        (True, "http://testserver", "https,http", True),
        (True, "https://testserver", "http", False),
        (True, "https://testserver", None, True),
    ],
)
def test_https_decides_the_secure_attribute(
    manager: SessionManager, trust_proxy: bool, base: str, forwarded: str | None, secure: bool
) -> None:
    client = TestClient(make_app(manager, trust_proxy), base_url=base)
    headers = {"X-Forwarded-Proto": forwarded} if forwarded else {}
    response = client.get("/", headers=headers)
    assert ("Secure" in session_cookies(response)[0]) is secure


def test_a_websocket_gets_the_session_and_its_cookie_at_accept(any_manager: SessionManager) -> None:
    with TestClient(make_app(any_manager)) as client:
        client.get("/")
        with client.websocket_connect("/ws") as websocket:
            assert websocket.receive_json() == {"views": 1, "socket": 1}
            accept_headers = dict(websocket.extra_headers or [])
        assert accept_headers[b"vary"] == b"Cookie"
        assert client.get("/").text == "2"
        with client.websocket_connect("/ws") as websocket:
            assert websocket.receive_json() == {"views": 2, "socket": 2}


def test_a_new_websocket_session_gets_its_cookie_in_the_accept(manager: SessionManager) -> None:
    with TestClient(make_app(manager)).websocket_connect("/ws") as websocket:
        websocket.receive_json()
        headers = websocket.extra_headers or []
    assert any(name == b"set-cookie" and value.startswith(b"session=") for name, value in headers)


def test_fastapi_request_session_is_the_sessionkit_session(manager: SessionManager) -> None:
    api = FastAPI()
    api.add_middleware(SessionMiddleware, manager=manager)

    @api.post("/cart/{item}")
    def add(item: str, request: Request) -> list[str]:
        cart: list[str] = request.session.setdefault("cart", [])
        cart.append(item)  # a nested change is seen
        return cart

    client = TestClient(api)
    assert client.post("/cart/apple").json() == ["apple"]
    assert client.post("/cart/pear").json() == ["apple", "pear"]


def test_lifespan_passes_through(manager: SessionManager) -> None:
    with TestClient(make_app(manager)) as client:
        assert client.get("/").text == "1"


@pytest.mark.anyio
async def test_through_httpx_on_native_async_redis(redis_manager: SessionManager) -> None:
    transport = httpx.ASGITransport(app=make_app(redis_manager))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        texts = [(await client.get("/")).text for _ in range(3)]
    assert texts == ["1", "2", "3"]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def test_eager_false_costs_untouched_requests_nothing(tmp_path: Path) -> None:
    store = CountingFileStore(tmp_path)
    manager = SessionManager(store, "a-secret-for-the-lazy-loading-tests-0123456789")

    async def uses(request: Request) -> Response:
        await request.session.aload()  # type: ignore[attr-defined]
        request.session["views"] = request.session.get("views", 0) + 1
        return PlainTextResponse(str(request.session["views"]))

    app = Starlette(
        routes=[Route("/", uses), Route("/untouched", untouched)],
        middleware=[Middleware(SessionMiddleware, manager=manager, eager=False)],
    )
    client = TestClient(app)
    assert client.get("/").text == "1"
    store.calls.clear()
    assert client.get("/untouched").text == "untouched"
    assert store.calls == []
    assert client.get("/").text == "2"
    assert store.calls == ["get_versioned", "replace_versioned"]


def test_a_commit_error_is_answered_whatever_the_app_raises_instead() -> None:
    manager = dead_redis_manager()

    async def rewrapping(scope: Any, receive: Any, send: Any) -> None:
        scope["session"]["views"] = 1
        try:
            await send({"type": "http.response.start", "status": 200, "headers": []})
        except Exception as error:
            raise RuntimeError("the framework's own wrapper") from error

    client = TestClient(SessionMiddleware(rewrapping, manager))
    assert client.get("/").status_code == 503


class FailingMemoryStore(MemoryStore):
    """A store that never blocks (its twin runs on the loop) and that can be made to fail."""

    down = False

    def get_versioned(self, sid: str) -> Any:
        if self.down:
            raise StoreUnavailableError("memory", "switched off by the test")
        return super().get_versioned(sid)

    def replace_versioned(self, *args: Any) -> Any:
        if self.down:
            raise StoreUnavailableError("memory", "switched off by the test")
        return super().replace_versioned(*args)


@pytest.mark.parametrize("eager", [None, True])
def test_a_store_that_never_blocks_is_called_on_the_loop_and_through_an_open_breaker(
    eager: bool | None,
) -> None:
    """On a store that never blocks the middleware calls the manager's synchronous open and
    commit; ``eager=True`` still loads before the app; once the breaker opens, requests go
    through the coroutines and fail fast with 503s; they recover with the store."""
    store = FailingMemoryStore()
    manager = SessionManager(
        store, "a-secret-for-the-inline-store-tests-0123456789", breaker=CircuitBreaker()
    )
    seen: list[bool] = []

    async def counts(request: Request) -> Response:
        seen.append(request.session.accessed)  # type: ignore[attr-defined]
        request.session["views"] = request.session.get("views", 0) + 1
        return PlainTextResponse(str(request.session["views"]))

    app = Starlette(
        routes=[Route("/", counts)],
        middleware=[Middleware(SessionMiddleware, manager=manager, eager=eager)],
    )
    client = TestClient(app)
    assert [client.get("/").text for _ in range(2)] == ["1", "2"]
    assert manager.runs_inline()
    assert seen == [False, bool(eager)]  # a stored session is loaded first only when eager
    store.down = True
    statuses = {client.get("/").status_code for _ in range(8)}
    assert statuses == {503}
    assert manager.breaker is not None
    assert manager.breaker.is_open
    assert not manager.runs_inline()
    store.down = False
    manager.breaker.succeeded()  # what the next probe would find
    assert client.get("/").text == "3"
    assert manager.runs_inline()
