"""The WSGI middleware, through werkzeug's test client and direct WSGI calls."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest
from werkzeug.test import Client

from sessionkit import SessionManager, StoreUnavailableError, available_backends
from sessionkit.adapters.wsgi import SessionMiddleware, get_session
from sessionkit.ids import new_session_id
from sessionkit.stores.memory import MemoryStore
from sessionkit.testing import free_port


def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    """Counts visits on /, logs in and out, fails on /boom, and sets its own headers."""
    session = get_session(environ)
    path = environ["PATH_INFO"]
    headers = [("Content-Type", "text/plain"), ("Set-Cookie", "theme=dark; Path=/")]
    status = "200 OK"
    if path == "/":
        session["views"] = session.get("views", 0) + 1
        body = str(session["views"])
        headers.append(("Vary", "Accept-Encoding"))
    elif path == "/login":
        session.regenerate(keep=True)
        session["user"] = "ann"
        body = "in"
    elif path == "/logout":
        session.destroy()
        body = "out"
    elif path == "/boom":
        session["views"] = 99
        status, body = "500 Internal Server Error", "boom"
    else:
        body = "untouched"
    start_response(status, headers)
    return [body.encode()]


def session_cookies(response: Any) -> list[str]:
    return [v for v in response.headers.getlist("Set-Cookie") if v.startswith("session=")]


def test_visits_are_counted_and_headers_added_beside_the_apps(manager: SessionManager) -> None:
    client = Client(SessionMiddleware(app, manager))
    for expected in (b"1", b"2", b"3"):
        response = client.get("/")
        assert response.data == expected
    cookies = response.headers.getlist("Set-Cookie")
    assert "theme=dark; Path=/" in cookies
    assert len(session_cookies(response)) == 1
    assert response.headers.getlist("Vary") == ["Accept-Encoding, Cookie"]


def test_an_untouched_session_adds_no_header_and_stores_nothing(
    manager: SessionManager, memory_store: MemoryStore
) -> None:
    response = Client(SessionMiddleware(app, manager)).get("/other")
    assert session_cookies(response) == []
    assert "Vary" not in response.headers
    assert memory_store.count() == 0


def test_login_changes_the_id_and_logout_clears_the_cookie(
    manager: SessionManager, memory_store: MemoryStore
) -> None:
    client = Client(SessionMiddleware(app, manager))
    client.get("/")
    before = client.get_cookie("session")
    assert before is not None
    client.post("/login")
    after = client.get_cookie("session")
    assert after is not None
    assert after.value != before.value
    assert memory_store.count() == 1
    assert client.get("/").data == b"2"  # the data came along
    response = client.post("/logout")
    assert "Max-Age=0" in session_cookies(response)[0]
    assert memory_store.count() == 0


def test_a_5xx_response_saves_nothing(manager: SessionManager, memory_store: MemoryStore) -> None:
    response = Client(SessionMiddleware(app, manager)).get("/boom")
    assert response.status_code == 500
    assert session_cookies(response) == []
    assert memory_store.count() == 0


def test_the_session_is_stored_before_start_response_reaches_the_server(
    manager: SessionManager, memory_store: MemoryStore
) -> None:
    seen: list[bool] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        cookie = next(v for k, v in headers if k == "Set-Cookie" and v.startswith("session="))
        verified = manager.signer.verify(cookie.split(";")[0].split("=", 1)[1])
        assert verified is not None
        seen.append(memory_store.get(verified[0]) is not None)
        return lambda data: None

    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/", "wsgi.url_scheme": "http"}
    SessionMiddleware(app, manager)(environ, start_response)
    assert seen == [True]


@pytest.mark.parametrize(
    ("trust_proxy", "scheme", "forwarded", "secure"),
    [
        (False, "http", None, False),
        (False, "https", None, True),
        (False, "http", "https", False),
        (True, "http", "https, http", True),
        (True, "https", "http", False),
        (True, "https", None, True),
        (True, "http", None, False),
    ],
)
def test_https_decides_the_secure_attribute(
    manager: SessionManager, trust_proxy: bool, scheme: str, forwarded: str | None, secure: bool
) -> None:
    client = Client(SessionMiddleware(app, manager, trust_proxy=trust_proxy))
    headers = {"X-Forwarded-Proto": forwarded} if forwarded else {}
    response = client.get("/", base_url=f"{scheme}://localhost", headers=headers)
    assert ("Secure" in session_cookies(response)[0]) is secure


def dead_redis_manager() -> SessionManager:
    if "redis" not in available_backends():
        pytest.skip("sessionkit-redis is not installed")
    url = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there: a dead server
    return SessionManager(url, "a-secret-for-the-dead-store-tests-0123456789")


def test_a_dead_store_gets_503_with_retry_after() -> None:
    manager = dead_redis_manager()
    client = Client(SessionMiddleware(app, manager))
    response = client.get("/")  # a new session: the store is met at commit
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert session_cookies(response) == []
    client.set_cookie("session", manager.signer.sign(new_session_id()))
    response = client.get("/")  # a valid cookie: the store is met at the first use
    assert response.status_code == 503
    assert client.get("/untouched").status_code == 200


def test_store_errors_can_be_left_to_the_framework() -> None:
    manager = dead_redis_manager()
    with pytest.raises(StoreUnavailableError):
        Client(SessionMiddleware(app, manager, respond_to_errors=False)).get("/")


def test_a_refused_merge_gets_409(memory_store: MemoryStore) -> None:
    secret = "a-secret-for-the-conflict-tests-0123456789"
    manager = SessionManager(memory_store, secret, on_conflict="raise")
    other = SessionManager(memory_store, secret)

    def racing(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if environ["PATH_INFO"] != "/race":
            return app(environ, start_response)
        session = get_session(environ)
        session["views"] = 100
        meanwhile = other.open(environ["HTTP_COOKIE"])  # another request, faster
        meanwhile["views"] = 50
        other.commit(meanwhile)
        start_response("200 OK", [])
        return [b"done"]

    client = Client(SessionMiddleware(racing, manager))
    client.get("/")
    response = client.get("/race")
    assert response.status_code == 409
    assert client.get("/").data == b"51"


def test_secret_rotation_end_to_end(memory_store: MemoryStore) -> None:
    old, new = "the-old-secret-of-this-application-0123", "the-new-secret-of-this-application-4567"
    client = Client(SessionMiddleware(app, SessionManager(memory_store, old)))
    assert client.get("/").data == b"1"
    rotating = SessionMiddleware(app, SessionManager(memory_store, [new, old]))
    client.application = rotating  # the deploy that puts the new secret in front
    assert client.get("/").data == b"2"  # read with the old key, cookie and data resealed
    client.application = SessionMiddleware(app, SessionManager(memory_store, new))
    assert client.get("/").data == b"3"  # the old secret is gone: nothing depends on it
