"""The aiohttp adapter, through aiohttp's own test client (a real server on a loopback port,
in the test's event loop), on the memory store and on Redis's native async twin."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from sessionkit import ConfigurationError, SessionManager
from sessionkit.adapters.aiohttp import get_session, setup
from sessionkit.adapters.tokens import TokenTransport
from sessionkit.ids import new_session_id
from sessionkit.stores.memory import MemoryStore
from tests.helpers import CountingStore, attributes_of

from .aiohttp_app import home, make_app
from .framework_checks import dead_store_manager

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=["memory", "redis"])
async def any_manager(request: pytest.FixtureRequest) -> AsyncIterator[SessionManager]:
    """A manager on the memory store (loaded on the loop) and on native async Redis."""
    if request.param == "memory":
        manager = SessionManager(MemoryStore(), "secret-0123456789abcdefghijklmnopqrstuv")
    else:
        manager = request.getfixturevalue("redis_manager")
    yield manager
    await manager.aclose()  # the async twin belongs to this test's event loop


@asynccontextmanager
async def serving(app: web.Application) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    async with TestClient(TestServer(app)) as client:
        yield client


def session_cookies(headers: Any) -> list[str]:
    return [v for v in headers.getall("Set-Cookie", []) if v.startswith("session=")]


async def test_visits_are_counted_and_headers_added_beside_the_apps(
    any_manager: SessionManager,
) -> None:
    async with serving(make_app(any_manager)) as client:
        for expected in ("1", "2", "3"):
            response = await client.get("/")
            assert await response.text() == expected
        assert any(v.startswith("theme=dark") for v in response.headers.getall("Set-Cookie"))
        assert len(session_cookies(response.headers)) == 1
        assert response.headers.getall("Vary") == ["Accept, Cookie"]


async def test_login_changes_the_id_on_a_raised_redirect_and_logout_clears_the_cookie(
    any_manager: SessionManager,
) -> None:
    async with serving(make_app(any_manager)) as client:
        await client.get("/")
        before = client.session.cookie_jar.filter_cookies(client.make_url("/"))["session"].value
        response = await client.post("/login", allow_redirects=False)
        assert response.status == 302
        assert len(session_cookies(response.headers)) == 1
        after = client.session.cookie_jar.filter_cookies(client.make_url("/"))["session"].value
        assert after != before
        assert await (await client.get("/me")).json() == {"views": 1, "user": "ann"}
        response = await client.post("/logout")
        assert attributes_of(session_cookies(response.headers)[0])["max-age"] == "0"
        assert await (await client.get("/")).text() == "1"


async def test_a_streaming_response_is_committed_when_the_handler_prepares_it(
    any_manager: SessionManager,
) -> None:
    async with serving(make_app(any_manager)) as client:
        response = await client.get("/stream")
        assert await response.text() == "streamed 1"
        assert len(session_cookies(response.headers)) == 1
        assert response.headers["Vary"] == "Cookie"
        assert await (await client.get("/stream")).text() == "streamed 2"
        assert await (await client.get("/me")).json() == {"streamed": 2}


async def test_the_session_is_stored_before_the_streamed_headers_leave() -> None:
    store = MemoryStore()
    seen: list[int] = []

    async def stream(request: web.Request) -> web.StreamResponse:
        (await get_session(request))["user"] = "ann"
        response = web.StreamResponse()
        await response.prepare(request)
        seen.append(store.count())
        return response

    app = web.Application()
    app.router.add_get("/", stream)
    setup(app, SessionManager(store, "secret-0123456789abcdefghijklmnopqrstuv"))
    async with serving(app) as client:
        response = await client.get("/")
        assert len(session_cookies(response.headers)) == 1
    assert seen == [1]


async def test_a_websocket_gets_its_cookie_in_the_handshake(any_manager: SessionManager) -> None:
    async with serving(make_app(any_manager)) as client:
        await client.get("/")
        async with client.ws_connect("/ws") as websocket:
            assert await websocket.receive_json() == {"views": 1, "socket": 1}
        async with client.ws_connect("/ws") as websocket:
            assert await websocket.receive_json() == {"views": 1, "socket": 2}
        client.session.cookie_jar.clear()  # no cookie: the handshake sets one
        async with client.ws_connect("/ws") as websocket:
            assert await websocket.receive_json() == {"socket": 1}
        assert "session" in client.session.cookie_jar.filter_cookies(client.make_url("/"))


async def test_an_untouched_session_costs_no_store_call_and_adds_no_header() -> None:
    store = CountingStore()
    manager = SessionManager(store, "secret-0123456789abcdefghijklmnopqrstuv")
    async with serving(make_app(manager)) as client:
        await client.get("/")  # a stored session, whose cookie the client sends from now on
        store.calls.clear()
        response = await client.get("/untouched")
        assert store.calls == []
        assert session_cookies(response.headers) == []
        assert "Vary" not in response.headers
        await client.get("/me")
        assert len(store.calls) == 1  # a lookup is one read, and nothing to write


async def test_a_5xx_response_saves_nothing() -> None:
    store = MemoryStore()
    async with serving(
        make_app(SessionManager(store, "secret-0123456789abcdefghijklmnopqrstuv"))
    ) as client:
        response = await client.get("/boom")
        assert response.status == 500
        assert session_cookies(response.headers) == []
    assert store.count() == 0


async def test_the_apps_own_middlewares_and_sub_applications_get_the_session() -> None:
    @web.middleware
    async def who(request: web.Request, handler: object) -> web.StreamResponse:
        session = await get_session(request)
        session["seen"] = session.get("seen", 0) + 1
        return await handler(request)  # type: ignore[operator,no-any-return]

    async def count(request: web.Request) -> web.Response:
        return web.json_response(dict(await get_session(request)))

    app = web.Application(middlewares=[who])
    admin = web.Application()
    admin.router.add_get("/", count)
    app.add_subapp("/admin", admin)
    setup(app, SessionManager(MemoryStore(), "secret-0123456789abcdefghijklmnopqrstuv"))
    async with serving(app) as client:
        await client.get("/admin/")
        assert await (await client.get("/admin/")).json() == {"seen": 2}


async def test_a_bearer_token_carries_the_session_instead_of_a_cookie() -> None:
    app = make_app(
        SessionManager(MemoryStore(), "secret-0123456789abcdefghijklmnopqrstuv"),
        token=TokenTransport(),
    )
    async with serving(app) as client:
        first = await client.get("/")
        token = first.headers["Session-Token"]
        assert session_cookies(first.headers) == []
        assert first.headers["Vary"] == "Accept, Authorization"
        auth = {"Authorization": f"Bearer {token}"}
        second = await client.get("/", headers=auth)
        assert await second.text() == "2"
        assert "Session-Token" not in second.headers  # the client holds this very token
        login = await client.post("/login", headers=auth, allow_redirects=False)
        new = {"Authorization": f"Bearer {login.headers['Session-Token']}"}
        assert new != auth
        assert await (await client.get("/me", headers=new)).json() == {"views": 2, "user": "ann"}
        assert await (await client.get("/", headers=auth)).text() == "1"  # the old one is gone
        assert (await client.post("/logout", headers=new)).headers["Session-Token"] == ""
        assert await (await client.get("/")).text() == "1"  # no token: a new session


async def test_get_session_without_setup_says_what_to_do() -> None:
    async def handler(request: web.Request) -> web.Response:
        with pytest.raises(ConfigurationError, match="setup"):
            await get_session(request)
        return web.Response(text="checked")

    app = web.Application()
    app.router.add_get("/", handler)
    async with serving(app) as client:
        assert await (await client.get("/")).text() == "checked"


@pytest.mark.parametrize(
    ("trust_proxy", "forwarded", "secure"),
    [
        (False, None, False),
        (False, "https", False),
        (True, "https, http", True),
        (True, "http", False),
        (True, None, False),
    ],
)
async def test_only_a_trusted_proxy_decides_the_secure_attribute(
    trust_proxy: bool, forwarded: str | None, secure: bool
) -> None:
    app = make_app(
        SessionManager(MemoryStore(), "secret-0123456789abcdefghijklmnopqrstuv"),
        trust_proxy=trust_proxy,
    )
    headers = {"X-Forwarded-Proto": forwarded} if forwarded else {}
    async with serving(app) as client:
        response = await client.get("/", headers=headers)
    assert ("secure" in attributes_of(session_cookies(response.headers)[0])) is secure


async def test_a_dead_store_gets_503_with_retry_after_and_untouched_requests_pass(
    caplog: pytest.LogCaptureFixture,
) -> None:
    manager = dead_store_manager()
    cookie = {"Cookie": f"session={manager.signer.sign(new_session_id())}"}
    async with serving(make_app(manager)) as client:
        for path, headers in [("/", {}), ("/", cookie), ("/stream", {}), ("/login", cookie)]:
            response = await client.request(
                "POST" if path == "/login" else "GET", path, headers=headers
            )
            assert response.status == 503, path
            assert response.headers["Retry-After"] == "5"
            assert session_cookies(response.headers) == []
        assert (await client.get("/untouched", headers=cookie)).status == 200
    answered = [r for r in caplog.records if "answered 503" in r.getMessage()]
    assert len(answered) == 1  # the rest, within the same second, are held back
    await manager.aclose()


async def test_store_errors_can_be_left_to_the_framework() -> None:
    manager = dead_store_manager()
    app = web.Application()
    app.router.add_get("/", home)
    setup(app, manager, respond_to_errors=False)
    async with serving(app) as client:
        assert (await client.get("/")).status == 500
    await manager.aclose()


async def test_a_refused_merge_gets_409() -> None:
    store = MemoryStore()
    secret = "a-secret-for-the-conflict-tests-0123456789"
    manager = SessionManager(store, secret, on_conflict="raise")
    other = SessionManager(store, secret)

    async def race(request: web.Request) -> web.Response:
        session = await get_session(request)
        session["views"] = 100
        meanwhile = other.open(request.headers["Cookie"])  # another request, faster
        meanwhile["views"] = 50
        other.commit(meanwhile)
        return web.Response(text="done")

    app = make_app(manager)
    app.router.add_get("/race", race)
    async with serving(app) as client:
        await client.get("/")
        assert (await client.get("/race")).status == 409
        assert await (await client.get("/")).text() == "51"
