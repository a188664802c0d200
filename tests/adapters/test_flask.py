"""The Flask session interface, through Flask's test client.

Flask's own session tests run through it too: ``scripts/flask_session_tests.py``.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask, flash, get_flashed_messages, request, session
from flask.sessions import SessionMixin
from markupsafe import Markup
from werkzeug.test import TestResponse

from sessionkit import (
    Session,
    SessionManager,
    StoreUnavailableError,
    available_backends,
)
from sessionkit.adapters.flask import PERMANENT, FlaskSession, SessionKit, SessionKitInterface
from sessionkit.serializers import SessionData, TaggedJSONSerializer
from sessionkit.stores.memory import MemoryStore
from sessionkit.testing import FrozenClock, free_port
from tests.helpers import CountingStore

HOUR = timedelta(hours=1)


def make_app(*, manager: SessionManager | None = None, **config: Any) -> Flask:
    app = Flask(__name__)
    app.config.update(TESTING=True, SECRET_KEY="flask-secret", PERMANENT_SESSION_LIFETIME=HOUR)
    app.config.update(config)

    @app.get("/")
    def home() -> str:
        session["views"] = session.get("views", 0) + 1
        return str(session["views"])

    @app.get("/read")
    def read() -> str:
        return str(session.get("views"))

    @app.post("/same")
    def same() -> str:
        session["views"] = session.get("views")
        return "same"

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

    @app.post("/empty")
    def empty() -> str:
        session.clear()
        return "ok"

    @app.post("/login")
    def login() -> str:
        assert isinstance(session, Session)
        session.regenerate(keep=True)
        return "ok"

    @app.get("/untouched")
    def untouched() -> str:
        return "untouched"

    @app.get("/boom")
    def boom() -> str:
        session["views"] = 99
        raise RuntimeError("boom")

    SessionKit(app, manager=manager)
    return app


def session_cookies(response: TestResponse) -> list[str]:
    return [v for v in response.headers.getlist("Set-Cookie") if v.startswith("session=")]


def session_cookie(response: TestResponse) -> str:
    (cookie,) = session_cookies(response)
    return cookie


UNUSED_SECRET = "replaced-by-the-apps-secret-key-0123456789"


def counting_app(**config: Any) -> tuple[Flask, CountingStore]:
    store = CountingStore()
    manager = SessionManager(store, UNUSED_SECRET)  # re-keyed with the app's SECRET_KEY
    return make_app(manager=manager, **config), store


# -- the basics


def test_flask_session_counts_visits() -> None:
    client = make_app().test_client()
    assert [client.get("/").text for _ in range(3)] == ["1", "2", "3"]


def test_flask_session_is_a_sessionkit_session_and_a_session_mixin() -> None:
    app = make_app()
    client = app.test_client()
    with client:
        client.get("/read")
        obj = session._get_current_object()  # type: ignore[attr-defined]
        assert isinstance(obj, FlaskSession)
        assert isinstance(obj, SessionMixin)
        assert obj.new
    client.get("/")
    with client:
        client.get("/read")
        assert not session.new


def test_values_flask_keeps_come_back_from_the_store() -> None:
    values = {
        "t": (1, (2, 3)),
        "b": b"\xff",
        "m": Markup("<em>hi</em>"),
        "u": uuid.uuid4(),
        "d": datetime(2025, 1, 31, 12, 0, 0, 1, tzinfo=timezone.utc),
        "n": Decimal("2.50"),
    }
    app = make_app()

    @app.post("/put")
    def put() -> str:
        session.update(values)
        flash(Markup("<b>saved</b>"), "info")
        return "ok"

    @app.get("/get")
    def get() -> dict[str, Any]:
        assert {key: session[key] for key in values} == values
        assert [type(session[key]) for key in values] == [type(v) for v in values.values()]
        assert get_flashed_messages(with_categories=True) == [("info", Markup("<b>saved</b>"))]
        return {}

    client = app.test_client()
    client.post("/put")
    assert client.get("/get").status_code == 200


# -- modified, accessed and Vary, as Flask reports them


def test_modified_stays_true_after_the_save_and_accessed_follows_use() -> None:
    client = make_app().test_client()
    with client:
        client.get("/")
        assert session.modified
        assert session.accessed
    with client:
        client.get("/read")
        assert not session.modified
        assert session.accessed


def test_an_untouched_session_costs_nothing_and_adds_no_header() -> None:
    app, store = counting_app()
    client = app.test_client()
    client.get("/")
    store.calls.clear()
    response = client.get("/untouched")
    assert session_cookies(response) == []
    assert "Vary" not in response.headers
    assert store.calls == []


def test_vary_cookie_when_the_session_is_used() -> None:
    client = make_app().test_client()
    assert client.get("/read").headers["Vary"] == "Cookie"


@pytest.mark.parametrize(
    ("own", "expected"),
    [("Accept-Encoding", "Accept-Encoding, Cookie"), ("origin, cookie", "origin, cookie")],
)
def test_vary_cookie_joins_the_apps_own_vary_header_as_in_flask(own: str, expected: str) -> None:
    app = make_app()

    @app.get("/negotiated")
    def negotiated() -> tuple[str, dict[str, str]]:
        return str(session.get("views")), {"Vary": own}

    response = app.test_client().get("/negotiated")
    assert response.headers.getlist("Vary") == [expected]


def test_writing_an_equal_value_resends_the_cookie_and_refreshes_without_a_rewrite() -> None:
    app, store = counting_app()
    client = app.test_client()
    client.get("/")
    store.calls.clear()
    response = client.post("/same")
    assert session_cookie(response)
    assert "replace_versioned" not in store.calls
    assert store.calls[-1] == "touch"


def test_a_session_emptied_by_the_app_is_deleted_with_its_cookie() -> None:
    app, store = counting_app()
    client = app.test_client()
    client.get("/")
    assert store.count() == 1
    cookie = session_cookie(client.post("/empty"))
    assert cookie.startswith("session=;")
    assert "Max-Age=0" in cookie
    assert store.count() == 0
    assert client.get("/read").text == "None"


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


# -- permanence and refresh


@pytest.mark.parametrize("serializer", ["tagged", "json"])
def test_a_browser_session_cookie_unless_permanent(serializer: str) -> None:
    client = make_app(SESSIONKIT_SERIALIZER=serializer).test_client()
    cookie = session_cookie(client.get("/"))
    assert "Max-Age" not in cookie
    assert "Expires" not in cookie
    cookie = session_cookie(client.post("/remember"))
    assert "Max-Age=3600" in cookie
    assert cookie.startswith("session=p.")
    assert "Max-Age=3600" in session_cookie(client.get("/"))  # still permanent when read
    cookie = session_cookie(client.post("/forget"))
    assert "Max-Age" not in cookie
    assert not cookie.startswith("session=p.")
    assert "Max-Age" not in session_cookie(client.get("/"))  # and no longer, when read
    assert client.get("/read").text == "3"


def test_a_permanent_session_is_refreshed_on_every_request_by_a_touch() -> None:
    app, store = counting_app()
    client = app.test_client()
    client.post("/remember")
    store.calls.clear()
    response = client.get("/untouched")
    assert "Max-Age=3600" in session_cookie(response)
    assert response.headers["Vary"] == "Cookie"
    assert store.calls == ["touch"]  # no read, no rewrite
    assert "Max-Age=3600" in session_cookie(client.get("/read"))


def test_without_refresh_each_request_a_permanent_session_is_refreshed_when_asked() -> None:
    app, store = counting_app(SESSION_REFRESH_EACH_REQUEST=False)
    client = app.test_client()
    client.post("/remember")
    store.calls.clear()
    assert session_cookies(client.get("/untouched")) == []
    assert session_cookies(client.get("/read")) == []
    assert "replace_versioned" not in store.calls
    assert "touch" not in store.calls
    assert "Max-Age=3600" in session_cookie(client.post("/refresh"))
    assert store.calls[-1] == "touch"


def test_the_permanent_mark_cannot_be_added_or_removed_without_the_key() -> None:
    client = make_app().test_client()
    client.get("/")
    plain = client.get_cookie("session")
    assert plain is not None
    client.set_cookie("session", "p." + plain.value)
    assert client.get("/read").text == "None"
    client.set_cookie("session", plain.value)
    client.post("/remember")
    permanent = client.get_cookie("session")
    assert permanent is not None
    client.set_cookie("session", permanent.value.removeprefix("p."))
    assert client.get("/read").text == "None"
    client.set_cookie("session", permanent.value)
    assert client.get("/read").text == "1"


def clocked_app(clock: FrozenClock, **config: Any) -> Flask:
    store = f"memory://flask-ttl-{uuid.uuid4().hex}"
    return make_app(SESSIONKIT_STORE=store, SESSIONKIT_STORE_OPTIONS={"clock": clock}, **config)


def test_the_store_keeps_sessions_for_the_lifetime_flask_reads_per_request() -> None:
    clock = FrozenClock()
    app = clocked_app(clock, PERMANENT_SESSION_LIFETIME=60)
    client = app.test_client()
    client.get("/")
    clock.now += 59
    assert client.get("/read").text == "1"  # read only: the expiry is not moved
    clock.now += 2
    assert client.get("/read").text == "None"
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(seconds=600)
    client.get("/")
    client.post("/remember")
    clock.now += 599
    assert "Max-Age=600" in session_cookie(client.get("/untouched"))
    clock.now += 599
    assert client.get("/read").text == "1"


def test_sessionkit_ttl_sets_the_lifetime_of_sessions_that_are_not_permanent() -> None:
    clock = FrozenClock()
    client = clocked_app(clock, SESSIONKIT_TTL=30).test_client()
    client.get("/")
    clock.now += 29
    assert client.get("/read").text == "1"
    clock.now += 2
    assert client.get("/read").text == "None"


# -- Flask's settings, read per request


def test_cookie_settings_follow_flask_config_per_request() -> None:
    app = make_app()
    client = app.test_client()
    cookie = session_cookie(client.get("/"))
    assert "SameSite" not in cookie  # Flask's default, None
    assert "Secure" not in cookie
    assert "HttpOnly" in cookie
    assert "Path=/;" in cookie + ";"
    app.config.update(
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_SECURE=True,
        SESSION_COOKIE_HTTPONLY=False,
        SESSION_COOKIE_DOMAIN=".example.com:8080",
        APPLICATION_ROOT="/app",
    )
    cookie = session_cookie(client.get("/", "http://www.example.com/"))
    assert "SameSite=Strict" in cookie
    assert "Secure" in cookie
    assert "HttpOnly" not in cookie
    assert "Domain=example.com;" in cookie
    assert "Path=/app" in cookie


def test_a_renamed_cookie_is_read_under_its_new_name() -> None:
    app = make_app()
    client = app.test_client()
    client.get("/")
    app.config["SESSION_COOKIE_NAME"] = "sid"
    response = client.get("/")
    assert response.text == "1"
    assert response.headers["Set-Cookie"].startswith("sid=")
    assert client.get("/").text == "2"


@pytest.mark.parametrize(
    ("secure", "https", "expected"),
    [(False, True, False), (True, False, True), ("auto", True, True), ("auto", False, False)],
)
def test_secure_as_flask_says_or_auto(secure: Any, https: bool, expected: bool) -> None:
    client = make_app(SESSION_COOKIE_SECURE=secure).test_client()
    response = client.get("/", f"{'https' if https else 'http'}://localhost/")
    assert ("Secure" in session_cookie(response)) is expected


def test_partitioned_implies_secure_as_in_werkzeug() -> None:
    cookie = session_cookie(make_app(SESSION_COOKIE_PARTITIONED=True).test_client().get("/"))
    assert "Partitioned" in cookie
    assert "Secure" in cookie


def test_a_bad_samesite_raises_before_anything_is_stored() -> None:
    app, store = counting_app(SESSION_COOKIE_SAMESITE="sometimes")
    with pytest.raises(ValueError, match="samesite"):
        app.test_client().get("/")
    assert store.count() == 0
    app.config["SESSION_COOKIE_SAMESITE"] = "None"  # browsers refuse it without Secure
    with pytest.raises(ValueError, match="needs secure"):
        app.test_client().get("/")


def test_a_subclass_of_the_interface_chooses_the_cookie_per_request() -> None:
    """As with Flask's own interface, a subclass that overrides a ``get_cookie_*`` method is
    asked on every request (here, a cookie name per path)."""

    class PerPath(SessionKitInterface):
        def get_cookie_name(self, app: Flask) -> str:
            return "admin_session" if request.path.startswith("/admin") else "session"

    app = make_app()
    manager = app.extensions["sessionkit"]
    app.session_interface = PerPath(manager)

    @app.get("/admin/")
    def admin() -> str:
        session["admin"] = session.get("admin", 0) + 1
        return str(session["admin"])

    client = app.test_client()
    assert [client.get("/").text, client.get("/admin/").text] == ["1", "1"]
    assert [client.get("/").text, client.get("/admin/").text] == ["2", "2"]
    assert client.get_cookie("session") is not None
    assert client.get_cookie("admin_session") is not None
    app.config["SESSION_COOKIE_DOMAIN"] = "example.com"  # the rest is read from the settings
    response = client.get("/admin/", "http://example.com/admin/")
    assert "Domain=example.com" in response.headers["Set-Cookie"]


def test_a_rolling_refresh_of_an_unused_session_sends_flasks_cookie() -> None:
    manager = SessionManager(MemoryStore(), UNUSED_SECRET, rolling=True)
    app = make_app(manager=manager, SESSION_COOKIE_PATH="/", SESSION_COOKIE_SAMESITE="Strict")
    client = app.test_client()
    client.get("/")
    refreshed = session_cookie(client.get("/untouched"))  # never used: refreshed all the same
    assert "SameSite=Strict" in refreshed
    assert refreshed.split(";")[0] == f"session={client.get_cookie('session').value}"  # type: ignore[union-attr]


def test_bad_cookie_settings_fail_only_requests_that_send_a_cookie() -> None:
    manager = SessionManager(MemoryStore(), UNUSED_SECRET, rolling=True)
    app = make_app(manager=manager, SESSION_COOKIE_SAMESITE="sometimes")
    assert app.test_client().get("/untouched").status_code == 200  # no session, no cookie
    with pytest.raises(ValueError, match="samesite"):
        app.test_client().get("/")


def test_keys_rotate_while_the_app_runs() -> None:
    app = make_app()
    client = app.test_client()
    client.get("/")
    app.config.update(SECRET_KEY="newer", SECRET_KEY_FALLBACKS=["flask-secret"])
    assert client.get("/read").text == "1"
    response = client.get("/")  # re-sent signed with the newest key
    assert response.text == "2"
    app.config.update(SECRET_KEY_FALLBACKS=[])
    assert client.get("/read").text == "2"
    app.config.update(SECRET_KEY="newest")
    assert client.get("/read").text == "None"


def test_sessions_outlive_the_app_and_its_manager_holds_the_apps_key_from_the_start() -> None:
    store = f"memory://flask-restart-{uuid.uuid4().hex}"
    client = make_app(SESSIONKIT_STORE=store).test_client()
    client.get("/")
    cookie = client.get_cookie("session")
    assert cookie is not None
    restarted = make_app(SESSIONKIT_STORE=store)
    manager = restarted.extensions["sessionkit"]
    assert manager.signer.verify(cookie.value) is not None  # before any request
    again = restarted.test_client()
    again.set_cookie("session", cookie.value)
    assert again.get("/").text == "2"


def test_sessionkit_secret_takes_the_place_of_secret_key() -> None:
    app = make_app(SESSIONKIT_SECRET=["sk-new", "sk-old"])
    client = app.test_client()
    client.get("/")
    app.config["SECRET_KEY"] = "changed"
    assert client.get("/read").text == "1"


def test_without_a_secret_flask_null_session_reads_and_refuses_writes() -> None:
    app, store = counting_app(SECRET_KEY=None)
    client = app.test_client()
    assert client.get("/read").text == "None"
    with pytest.raises(RuntimeError, match="session is unavailable"):
        client.get("/")
    assert store.calls == []


# -- cost: one serialisation per changed session, none for an untouched one


class CountingSerializer(TaggedJSONSerializer):
    def __init__(self) -> None:
        super().__init__()
        self.dumped = self.loaded = 0

    def dumps(self, data: SessionData) -> bytes:
        self.dumped += 1
        return super().dumps(data)

    def loads(self, raw: bytes) -> SessionData:
        self.loaded += 1
        return super().loads(raw)

    def loads_trusted(self, raw: bytes) -> SessionData:
        self.loaded += 1
        return super().loads_trusted(raw)


@pytest.mark.parametrize("permanent", [False, True])
def test_a_changed_session_is_serialised_once_an_untouched_one_never(permanent: bool) -> None:
    serializer = CountingSerializer()
    client = make_app(SESSIONKIT_SERIALIZER=serializer).test_client()
    client.get("/")
    if permanent:
        client.post("/remember")
    serializer.dumped = serializer.loaded = 0
    client.get("/")
    assert (serializer.dumped, serializer.loaded) == (1, 1)
    client.get("/read")
    assert (serializer.dumped, serializer.loaded) == (1, 2)
    client.get("/untouched")
    assert (serializer.dumped, serializer.loaded) == (1, 2)


# -- failures


def test_a_5xx_response_saves_nothing() -> None:
    app, store = counting_app()
    app.config["TESTING"] = False
    response = app.test_client().get("/boom")
    assert response.status_code == 500
    assert session_cookies(response) == []
    assert store.count() == 0


def dead_redis_app(**options: Any) -> Flask:
    if "redis" not in available_backends():
        pytest.skip("sessionkit-redis is not installed")
    store = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there: a dead server
    app = Flask(__name__)
    app.config.update(TESTING=True, SECRET_KEY="flask-secret", SESSIONKIT_STORE=store)

    @app.get("/")
    def home() -> str:
        session["views"] = session.get("views", 0) + 1
        return "ok"

    @app.get("/untouched")
    def untouched() -> str:
        return "untouched"

    SessionKit(app, **options)
    return app


def test_a_dead_store_gets_503_with_retry_after() -> None:
    app = dead_redis_app()
    client = app.test_client()
    response = client.get("/")  # a new session: the store is met by the save
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.content_type == "text/plain; charset=utf-8"
    assert session_cookies(response) == []
    assert isinstance(app.session_interface, SessionKitInterface)
    signers = app.session_interface.signers(app)
    assert signers is not None
    sid = app.extensions["sessionkit"].new_id()
    client.set_cookie("session", signers.browser.sign(sid))
    assert client.get("/").status_code == 503  # met by the session's first use
    assert client.get("/untouched").status_code == 200


def test_a_permanent_session_is_not_refreshed_while_the_store_is_down(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = dead_redis_app()
    client = app.test_client()
    assert isinstance(app.session_interface, SessionKitInterface)
    signers = app.session_interface.signers(app)
    assert signers is not None
    sid = app.extensions["sessionkit"].new_id()
    client.set_cookie("session", PERMANENT + signers.permanent.sign(sid))
    response = client.get("/untouched")
    assert response.status_code == 200
    assert session_cookies(response) == []
    assert "GET /untouched answered 200" in caplog.text


def test_store_errors_can_be_left_to_flask() -> None:
    app = dead_redis_app(respond_to_errors=False)
    with pytest.raises(StoreUnavailableError):
        app.test_client().get("/")


def test_a_refused_merge_gets_409() -> None:
    store = MemoryStore()
    app = make_app(manager=SessionManager(store, UNUSED_SECRET, on_conflict="raise"))
    # The app's key, in another process of the app:
    other = SessionManager(store, "flask-secret", allow_short_secret=True)

    @app.get("/race")
    def race() -> str:
        session["views"] = 100
        meanwhile = Session(other, session.id, from_cookie=True)  # type: ignore[attr-defined]
        meanwhile["views"] = 50
        other.commit(meanwhile)
        return "done"

    client = app.test_client()
    client.get("/")
    response = client.get("/race")
    assert response.status_code == 409
    assert session_cookies(response) == []
    assert client.get("/").text == "51"
