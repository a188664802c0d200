"""Hostile Cookie headers into the manager, directly and through the WSGI and ASGI middleware:
no exception outside the SessionKitError family, never an error response, and no session but
the one the valid cookie names."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sessionkit import SessionKitError, SessionManager
from sessionkit.adapters import asgi, wsgi
from tests.fuzz import FUZZ
from tests.fuzz.strategies import as_latin1, cookie_headers, near

MANAGER = SessionManager("memory://", secret="fuzz-secret-0123456789abcdefghij")


def _valid_cookie() -> tuple[str, str]:
    session = MANAGER.open(None)
    session["n"] = 0
    set_cookie = MANAGER.commit(session)
    assert set_cookie is not None
    return session.id, set_cookie.split(";")[0].split("=", 1)[1]


VALID_ID, VALID = _valid_cookie()
HEADERS = cookie_headers(VALID)


def use(session: Any) -> None:
    """What the tiny app does: read the session, then change it."""
    views = session.get("n", 0)
    session["n"] = views + 1 if isinstance(views, int) else 0


@FUZZ
@given(header=HEADERS | st.none(), value=near(VALID))
def test_open_and_commit(header: str | None, value: str) -> None:
    for cookie in (header, f"session={value}"):
        session = MANAGER.open(cookie)
        assert session.id == VALID_ID or session.is_new  # never an id the client made up
        try:
            use(session)
            set_cookie = MANAGER.commit(session, https=False)
        except SessionKitError:
            continue
        assert set_cookie is None or set_cookie.isprintable()


def wsgi_app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    use(wsgi.get_session(environ))
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


WSGI = wsgi.SessionMiddleware(wsgi_app, MANAGER)


@FUZZ
@given(header=HEADERS.map(as_latin1) | st.binary(max_size=300).map(lambda b: b.decode("latin-1")))
def test_through_the_wsgi_middleware(header: str) -> None:
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/",
        "wsgi.url_scheme": "http",
        "HTTP_COOKIE": header,
    }
    statuses: list[str] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        statuses.append(status)
        for _, value in headers:
            value.encode("latin-1")  # what the server will have to do
        return lambda data: None

    assert b"".join(WSGI(environ, start_response)) == b"ok"
    assert statuses == ["200 OK"]


async def asgi_app(scope: Any, receive: Any, send: Any) -> None:
    use(scope["session"])
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


ASGI = asgi.SessionMiddleware(asgi_app, MANAGER)


@pytest.fixture(scope="module")
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


async def asgi_request(cookie_lines: list[bytes]) -> list[dict[str, Any]]:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/",
        "raw_path": b"/",
        "query_string": b"",
        "headers": [(b"cookie", line) for line in cookie_lines],
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        sent.append(message)

    await ASGI(scope, receive, send)
    return sent


@FUZZ
@given(
    lines=st.lists(
        HEADERS.map(lambda h: h.encode("utf-8", "surrogatepass")) | st.binary(max_size=300),
        max_size=3,
    )
)
def test_through_the_asgi_middleware(loop: asyncio.AbstractEventLoop, lines: list[bytes]) -> None:
    sent = loop.run_until_complete(asgi_request(lines))
    assert [message["type"] for message in sent] == ["http.response.start", "http.response.body"]
    assert sent[0]["status"] == 200
