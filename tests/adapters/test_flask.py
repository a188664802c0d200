"""The Flask session interface, through Flask's test client."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask, session
from flask.sessions import SessionMixin
from werkzeug.test import TestResponse

from sessionkit import ConfigurationError, Session, available_backends
from sessionkit.adapters.flask import SessionKit
from sessionkit.testing import free_port


def make_app(**config: Any) -> Flask:
    app = Flask(__name__)
    app.config.update(SECRET_KEY="flask-secret", PERMANENT_SESSION_LIFETIME=timedelta(hours=1))
    app.config.update(config)

    @app.get("/")
    def home() -> str:
        session["views"] = session.get("views", 0) + 1
        return str(session["views"])

    @app.get("/read")
    def read() -> str:
        return str(session.get("views"))

    @app.post("/remember")
    def remember() -> str:
        session.permanent = True
        return "ok"

    @app.post("/forget")
    def forget() -> str:
        session.permanent = False
        return "ok"

    @app.post("/refresh")
    def refresh() -> str:
        session.modified = True
        return "ok"

    @app.post("/login")
    def login() -> str:
        assert isinstance(session, Session)
        session.regenerate(keep=True)
        return "ok"

    @app.get("/kinds")
    def kinds() -> dict[str, Any]:
        obj = session._get_current_object()  # type: ignore[attr-defined]
        return {
            "sessionkit": isinstance(obj, Session),
            "mixin": isinstance(obj, SessionMixin),
            "new": obj.new,
            "modified_before": obj.modified,
            "modified_after": (obj.__setitem__("k", 1), obj.modified)[1],
        }

    @app.get("/untouched")
    def untouched() -> str:
        return "untouched"

    @app.get("/boom")
    def boom() -> str:
        session["views"] = 99
        raise RuntimeError("boom")

    SessionKit(app)
    return app


def session_cookies(response: TestResponse) -> list[str]:
    return [v for v in response.headers.getlist("Set-Cookie") if v.startswith("session=")]


def test_flask_session_counts_visits() -> None:
    client = make_app().test_client()
    assert [client.get("/").text for _ in range(3)] == ["1", "2", "3"]


def test_flask_session_is_a_sessionkit_session_and_a_session_mixin() -> None:
    client = make_app().test_client()
    assert client.get("/kinds").json == {
        "sessionkit": True,
        "mixin": True,
        "new": True,
        "modified_before": False,
        "modified_after": True,
    }
    client.get("/")
    assert client.get("/kinds").json["new"] is False


def test_a_browser_session_cookie_unless_permanent() -> None:
    client = make_app().test_client()
    cookie = session_cookies(client.get("/"))[0]
    assert "Max-Age" not in cookie
    assert "Expires" not in cookie
    cookie = session_cookies(client.post("/remember"))[0]
    assert "Max-Age=3600" in cookie
    cookie = session_cookies(client.post("/forget"))[0]
    assert "Max-Age" not in cookie
    assert client.get("/read").text == "1"


def test_sessionkit_max_age_sets_the_permanent_lifetime() -> None:
    client = make_app(SESSIONKIT_MAX_AGE=120).test_client()
    assert "Max-Age=120" in session_cookies(client.post("/remember"))[0]


def test_a_permanent_session_is_refreshed_when_used_if_flask_says_so() -> None:
    client = make_app().test_client()
    client.post("/remember")
    assert "Max-Age=3600" in session_cookies(client.get("/read"))[0]
    assert session_cookies(client.get("/untouched")) == []
    quiet = make_app(SESSION_REFRESH_EACH_REQUEST=False).test_client()
    quiet.post("/remember")
    assert session_cookies(quiet.get("/read")) == []
    assert "Max-Age=3600" in session_cookies(quiet.post("/refresh"))[0]


def test_an_untouched_session_adds_no_header() -> None:
    response = make_app().test_client().get("/untouched")
    assert session_cookies(response) == []
    assert "Vary" not in response.headers


def test_vary_cookie_when_the_session_is_used() -> None:
    assert make_app().test_client().get("/read").headers["Vary"] == "Cookie"


def test_login_regenerates_the_id_and_keeps_the_data() -> None:
    client = make_app().test_client()
    client.get("/")
    before = client.get_cookie("session")
    client.post("/login")
    after = client.get_cookie("session")
    assert before is not None
    assert after is not None
    assert before.value != after.value
    assert client.get("/").text == "2"


def test_a_5xx_response_saves_nothing() -> None:
    app = make_app(SESSIONKIT_STORE="memory://flask-boom")
    response = app.test_client().get("/boom")
    assert response.status_code == 500
    assert session_cookies(response) == []
    assert app.extensions["sessionkit"].store.count() == 0


def test_a_store_failure_is_a_500() -> None:
    if "redis" not in available_backends():
        pytest.skip("sessionkit-redis is not installed")
    app = make_app(SESSIONKIT_STORE=f"redis://127.0.0.1:{free_port()}/0")
    response = app.test_client().get("/")
    assert response.status_code == 500
    assert session_cookies(response) == []


def test_cookie_settings_come_from_flask_config() -> None:
    client = make_app(
        SESSION_COOKIE_NAME="sid",
        SESSION_COOKIE_PATH="/",
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_SECURE=True,
    ).test_client()
    cookie = client.get("/").headers["Set-Cookie"]
    assert cookie.startswith("sid=")
    assert "SameSite=Strict" in cookie
    assert "Secure" in cookie


def test_secret_key_fallbacks_still_verify_old_cookies() -> None:
    shared = f"memory://flask-fallbacks-{uuid.uuid4().hex}"
    client = make_app(SECRET_KEY="old", SESSIONKIT_STORE=shared).test_client()
    client.get("/")
    cookie = client.get_cookie("session")
    assert cookie is not None
    new = make_app(SECRET_KEY="new", SECRET_KEY_FALLBACKS=["old"], SESSIONKIT_STORE=shared)
    new_client = new.test_client()
    new_client.set_cookie("session", cookie.value)
    assert new_client.get("/").text == "2"
    stranger = make_app(SECRET_KEY="new", SESSIONKIT_STORE=shared).test_client()
    stranger.set_cookie("session", cookie.value)
    assert stranger.get("/").text == "1"


def test_a_secret_is_required() -> None:
    with pytest.raises(ConfigurationError, match="SECRET_KEY"):
        make_app(SECRET_KEY=None)
