"""The demo's routes in process, through its ASGI and its WSGI app, and its configuration."""

from __future__ import annotations

import argparse
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from sessionkit import SessionManager
from sessionkit.demo import add_arguments, address, config, main
from sessionkit.demo.asgi import create_app
from sessionkit.demo.config import default_store_url, manager_options, secret
from sessionkit.demo.device import describe
from sessionkit.demo.pages import span
from sessionkit.demo.wsgi import create_wsgi_app
from sessionkit.errors import ConfigurationError
from sessionkit.stores.memory import MemoryStore
from sessionkit.testing import FrozenClock, free_port

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:130.0) Gecko/20100101 Firefox/130.0"
CHROME_ON_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/156.0.0.0 Safari/537.36"
)
HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
TOKEN = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class Demo:
    """The app under one server interface, its manager, and a way to open more browsers."""

    kind: str
    manager: SessionManager
    clients: list[httpx.Client]

    def browser(self, user_agent: str = FIREFOX) -> httpx.Client:
        headers = {"User-Agent": user_agent}
        if self.kind == "asgi":
            client: httpx.Client = TestClient(
                create_app(self.manager), headers=headers, follow_redirects=False
            )
        else:
            transport = httpx.WSGITransport(app=create_wsgi_app(self.manager))
            client = httpx.Client(
                transport=transport, base_url="http://testserver", headers=headers
            )
        self.clients.append(client)
        return client


@pytest.fixture(params=["asgi", "wsgi"])
def demo(request: pytest.FixtureRequest) -> Iterator[Demo]:
    made = Demo(
        request.param,
        SessionManager(MemoryStore(), "demo-secret-0123456789abcdefghijklmnopqrstuv"),
        [],
    )
    yield made
    for client in made.clients:
        client.close()


@pytest.fixture
def client(demo: Demo) -> httpx.Client:
    return demo.browser()


def token_on(client: httpx.Client, path: str) -> str:
    """The CSRF token in the forms of the page at ``path``."""
    page = client.get(path, headers=HTML)
    assert page.status_code == 200
    found = TOKEN.search(page.text)
    assert found is not None, f"no form on {path}"
    return found.group(1)


def post_form(client: httpx.Client, path: str, token: str, **fields: str) -> httpx.Response:
    return client.post(path, data={"csrf": token, **fields}, headers=HTML)


def session_id(client: httpx.Client) -> str:
    return client.cookies["session"].rpartition(".")[0]


# -- the JSON and plain-text API (the load harness's)


def test_visits(client: httpx.Client) -> None:
    texts = [client.get("/").text for _ in range(3)]
    assert texts == [
        "Welcome! This is your first visit.",
        "Number of visits: 2",
        "Number of visits: 3",
    ]
    answer = client.get("/")
    assert answer.headers["content-type"].startswith("text/plain")
    assert "Accept" in answer.headers["vary"]


def test_json_login_regenerates_and_binds_the_user(demo: Demo, client: httpx.Client) -> None:
    client.get("/")
    before = client.cookies["session"]
    assert client.post("/login", json={"user": "ann"}).json() == {"user": "ann"}
    assert client.cookies["session"] != before
    assert client.get("/me").json() == {"views": 1, "user": "ann"}
    [listed] = demo.manager.user_sessions("ann")
    assert listed.id == session_id(client)
    assert listed.info == {"device": "Firefox on Linux"}
    assert client.post("/login", json={"user": "bob"}).json() == {"user": "bob"}
    assert demo.manager.user_sessions("ann") == []
    assert client.post("/login").json() == {"user": "demo"}  # no body, no Content-Type


def test_logout_destroys_the_session(client: httpx.Client) -> None:
    client.get("/")
    assert client.post("/logout").json() == {"logged_out": True}
    assert "session" not in client.cookies
    assert client.get("/").text == "Welcome! This is your first visit."


def test_cart(client: httpx.Client) -> None:
    assert client.post("/cart", json={"add": "apple"}).json() == ["apple"]
    assert client.post("/cart", json={"add": "pear"}).json() == ["apple", "pear"]
    assert client.post("/cart", json={"remove": "apple"}).json() == ["pear"]
    assert client.get("/me").json() == {"cart": ["pear"]}


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/cart", {"take": "x"}),
        ("/cart", {"add": 3}),
        ("/cart", {"add": "tab\there"}),
        ("/login", {"user": ""}),
        ("/cart", [1]),
        ("/session/end-others", {}),  # nobody is logged in
    ],
)
def test_bad_bodies_are_400(client: httpx.Client, path: str, body: object) -> None:
    answer = client.post(path, json=body)
    assert answer.status_code == 400
    assert answer.headers["content-type"].startswith("text/plain")


def test_health_and_favicon_do_not_touch_the_session(client: httpx.Client) -> None:
    for path, content_type in (("/health", "text/plain"), ("/favicon.ico", "image/svg+xml")):
        response = client.get(path, headers=HTML)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith(content_type)
        assert "set-cookie" not in response.headers
        assert "vary" not in response.headers
    assert client.get("/health").text == "ok"


def test_unknown_routes_and_methods(client: httpx.Client) -> None:
    assert client.get("/nowhere").status_code == 404
    assert client.get("/nowhere", headers=HTML).headers["content-type"].startswith("text/html")
    refused = client.put("/cart")
    assert refused.status_code == 405
    assert refused.headers["allow"] == "GET, HEAD, POST"
    assert client.get("/session/end-others").headers["allow"] == "POST"


def test_head_answers_headers_only(client: httpx.Client) -> None:
    response = client.head("/cart")
    assert response.status_code == 200
    assert int(response.headers["content-length"]) > 0
    assert response.content == b""


# -- the pages


def test_pages_for_browsers(demo: Demo, client: httpx.Client) -> None:
    first = client.get("/", headers=HTML)
    assert first.headers["content-type"] == "text/html; charset=utf-8"
    assert "Welcome! This is your first visit." in first.text
    assert "Number of visits: 2" in client.get("/", headers=HTML).text
    assert f'<code id="store">{demo.manager.store_name}</code>' in first.text
    assert '<link rel="icon" href="/favicon.ico"' in first.text
    assert first.headers["cache-control"] == "no-store"
    assert "frame-ancestors 'none'" in first.headers["content-security-policy"]
    for path in ("/login", "/cart", "/session"):
        page = client.get(path)  # these are pages whatever the client accepts
        assert page.status_code == 200
        assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "Firefox on Linux" in client.get("/login").text
    assert client.get("/me").json() == {"views": 2}  # the CSRF token is not data


def test_a_form_without_the_session_token_is_refused(client: httpx.Client) -> None:
    token = token_on(client, "/login")
    for fields in ({"user": "mallory"}, {"user": "mallory", "csrf": "forged"}):
        refused = client.post("/login", data=fields, headers=HTML)
        assert refused.status_code == 403
        assert "nothing was done" in refused.text
    stranger = client.post(
        "/login", content=b"user=mallory", headers={"Content-Type": "text/plain"}
    )
    assert stranger.status_code == 403
    assert client.get("/me").json() == {}
    assert post_form(client, "/login", token, user="ann").status_code == 303


def test_login_form_regenerates_and_renews_the_token(demo: Demo, client: httpx.Client) -> None:
    token = token_on(client, "/login")
    before = session_id(client)
    answer = post_form(client, "/login", token, user="ann")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/"
    assert session_id(client) != before
    assert client.get("/me").json() == {"user": "ann"}
    assert post_form(client, "/cart", token, add="x").status_code == 403  # the old token
    home = client.get("/", headers=HTML).text
    assert '<span id="current-user">ann</span>' in home
    assert 'action="/logout"' in home


def test_cart_forms_redirect_and_escape(client: httpx.Client) -> None:
    token = token_on(client, "/cart")
    for item in ("apples", "<b>pears</b>", "apples"):
        answer = post_form(client, "/cart", token, add=item)
        assert answer.status_code == 303
        assert answer.headers["location"] == "/cart"
    assert post_form(client, "/cart", token, remove="apples").status_code == 303
    page = client.get("/cart").text
    assert "&lt;b&gt;pears&lt;/b&gt;" in page
    assert "<b>pears</b>" not in page
    assert "Cart (2)" in page
    assert client.get("/me").json() == {"cart": ["<b>pears</b>", "apples"]}
    refused = post_form(client, "/cart", token, add="")
    assert refused.status_code == 400
    assert "add must be 1 to 100 printable characters" in refused.text


def test_logout_form(client: httpx.Client) -> None:
    post_form(client, "/login", token_on(client, "/login"), user="ann")
    answer = post_form(client, "/logout", token_on(client, "/"))
    assert (answer.status_code, answer.headers["location"]) == (303, "/")
    assert "session" not in client.cookies
    assert "Welcome! This is your first visit." in client.get("/", headers=HTML).text


def test_the_panel_shows_a_hint_of_the_id_never_the_id(demo: Demo, client: httpx.Client) -> None:
    post_form(client, "/login", token_on(client, "/login"), user="ann")
    page = client.get("/session").text
    sid = session_id(client)
    assert f'<code id="id-hint">{sid[:6]}</code>' in page
    assert sid not in page
    assert demo.manager.store_name in page
    assert "Firefox on Linux" in page
    assert "this session" in page
    assert "No other session of yours is active." in page


def test_log_out_other_devices(demo: Demo) -> None:
    laptop, phone = demo.browser(FIREFOX), demo.browser(CHROME_ON_WINDOWS)
    for browser in (laptop, phone):
        post_form(browser, "/login", token_on(browser, "/login"), user="ann")
        post_form(browser, "/cart", token_on(browser, "/cart"), add="tea")
    panel = phone.get("/session").text
    assert "Firefox on Linux" in panel
    assert "Chrome on Windows" in panel
    assert "Log out other devices (1)" in panel
    answer = post_form(phone, "/session/end-others", TOKEN.findall(panel)[0])
    assert (answer.status_code, answer.headers["location"]) == (303, "/session")
    [left] = demo.manager.user_sessions("ann")
    assert left.id == session_id(phone)
    assert laptop.get("/me").json() == {}
    assert phone.get("/me").json() == {"user": "ann", "cart": ["tea"]}
    assert phone.post("/session/end-others", json={}).json() == {"ended": 0}


def test_the_panel_says_when_the_store_keeps_no_user_index(redis_manager: SessionManager) -> None:
    with TestClient(create_app(redis_manager)) as client:
        post_form(client, "/login", token_on(client, "/login"), user="ann")
        page = client.get("/session").text
        refused = client.post("/session/end-others", json={})
    if redis_manager.user_index:
        assert "this session" in page
        assert refused.status_code == 200
    else:
        assert "keeps no per-user index" in page
        assert refused.status_code == 400


@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
def test_the_panel_shows_when_the_session_expires(kind: str) -> None:
    clock = FrozenClock(1_800_000_000.0)
    manager = SessionManager(
        MemoryStore(), "demo-secret-0123456789abcdefghijklmnopqrstuv", max_age=3600, clock=clock
    )
    written = datetime.fromtimestamp(clock.now, timezone.utc)
    client = Demo(kind, manager, []).browser()
    with client:
        client.get("/", headers=HTML)  # the visit writes the session
        clock.now += 600
        page = client.get("/session").text  # reading it does not (the session is not rolling)
    assert f"Last active</dt><dd>{written:%Y-%m-%d %H:%M:%S} UTC" in page
    expiry = written + timedelta(seconds=3600)
    assert f"Expires</dt><dd>{expiry:%Y-%m-%d %H:%M:%S} UTC (1 hour after" in page
    assert "kept by the browser for 1 hour" in page


@pytest.mark.parametrize(
    ("user_agent", "described"),
    [
        (FIREFOX, "Firefox on Linux"),
        (CHROME_ON_WINDOWS, "Chrome on Windows"),
        (CHROME_ON_WINDOWS + " Edg/156.0.0.0", "Edge on Windows"),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) Version/18.0 Mobile/15E148 Safari/604.1",
            "Safari on iOS",
        ),
        ("curl/8.5.0", "curl"),
        ("", "unknown client"),
    ],
)
def test_devices_are_described_briefly(user_agent: str, described: str) -> None:
    assert describe(user_agent) == described


def test_spans_use_the_largest_whole_unit() -> None:
    assert [span(s) for s in (1209600, 3600, 5400, 60, 1)] == [
        "14 days",
        "1 hour",
        "90 minutes",
        "1 minute",
        "1 second",
    ]


# -- configuration


def test_the_address_to_open_reaches_a_wildcard_listener_through_loopback() -> None:
    assert address("127.0.0.1", 3000) == "http://127.0.0.1:3000/"
    assert address("0.0.0.0", 80) == "http://127.0.0.1:80/"
    assert address("::", 3000) == "http://[::1]:3000/"
    assert address("::1", 3000) == "http://[::1]:3000/"
    assert address("demo.local", 8080) == "http://demo.local:8080/"


def test_the_secret_is_generated_once_and_private(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    monkeypatch.delenv("SESSIONKIT_SECRET", raising=False)
    first = secret()
    assert secret() == first
    path = tmp_path / "sessionkit-demo" / "secret"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    monkeypatch.setenv("SESSIONKIT_SECRET", "from-env")
    assert secret() == "from-env"
    assert default_store_url() == f"file://{tmp_path}/sessionkit-demo/sessions"


def test_an_unreachable_store_is_one_line_on_stderr(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--store", f"memcached://user:pw@127.0.0.1:{free_port()}"])
    assert main(args) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1
    assert "pw" not in err
    assert "***" in err


def _demo_args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(argv)


def test_memory_with_several_workers_is_refused_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert main(_demo_args("--store", "memory://", "--workers", "2")) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1
    assert "one process" in err
    assert "--workers 1" in err


def test_the_store_can_come_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    monkeypatch.setenv("SESSIONKIT_DEMO_STORE", "memory://")
    assert main(_demo_args("--workers", "2")) == 1  # refused: so the environment's URL was used
    assert "memory://" in capsys.readouterr().err


def test_a_wrong_manager_option_is_one_line_on_stderr(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    monkeypatch.setenv("SESSIONKIT_DEMO_CONCURRENCY", "sometimes")
    assert main(_demo_args("--store", "memory://")) == 1
    err = capsys.readouterr().err
    assert err.startswith("sessionkit demo: $SESSIONKIT_DEMO_OPTIONS")
    assert "'merge' or 'last_write_wins'" in err
    assert err.count("\n") == 1
    monkeypatch.setenv("SESSIONKIT_DEMO_CONCURRENCY", "last_write_wins")
    assert manager_options() == {"concurrency": "last_write_wins"}


def test_any_manager_option_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SESSIONKIT_DEMO_OPTIONS", '{"rolling": true, "touch_after": 60}')
    assert config.manager_options() == {"rolling": True, "touch_after": 60}
    monkeypatch.setenv("SESSIONKIT_DEMO_OPTIONS", '{"rolling": true, "touch_afte": 60}')
    with pytest.raises(ConfigurationError, match="touch_afte"):
        config.check_manager_options()
    monkeypatch.setenv("SESSIONKIT_DEMO_OPTIONS", "[1]")
    with pytest.raises(ConfigurationError, match="JSON object"):
        config.manager_options()
