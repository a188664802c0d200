"""The demo's routes in process, through its ASGI and its WSGI app, and its configuration."""

from __future__ import annotations

import argparse
import stat
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from sessionkit import SessionManager
from sessionkit.demo import add_arguments, main
from sessionkit.demo.asgi import create_app
from sessionkit.demo.config import default_store_url, manager_options, secret
from sessionkit.demo.wsgi import create_wsgi_app
from sessionkit.stores.memory import MemoryStore
from sessionkit.testing import free_port


@pytest.fixture(params=["asgi", "wsgi"])
def client(request: pytest.FixtureRequest) -> Iterator[httpx.Client]:
    manager = SessionManager(MemoryStore(), "demo-secret")
    if request.param == "asgi":
        with TestClient(create_app(manager)) as asgi_client:
            yield asgi_client
    else:
        transport = httpx.WSGITransport(app=create_wsgi_app(manager))
        with httpx.Client(transport=transport, base_url="http://testserver") as wsgi_client:
            yield wsgi_client


def test_visits(client: httpx.Client) -> None:
    texts = [client.get("/").text for _ in range(3)]
    assert texts == [
        "Welcome! This is your first visit.",
        "Number of visits: 2",
        "Number of visits: 3",
    ]
    assert client.get("/").headers["content-type"].startswith("text/plain")


def test_login_from_a_form_or_json_regenerates(client: httpx.Client) -> None:
    client.get("/")
    before = client.cookies["session"]
    assert client.post("/login", data={"user": "ann"}).json() == {"user": "ann"}
    assert client.cookies["session"] != before
    assert client.get("/me").json() == {"views": 1, "user": "ann"}
    assert client.post("/login", json={"user": "bob"}).json() == {"user": "bob"}
    assert client.post("/login").json() == {"user": "demo"}


def test_logout_destroys_the_session(client: httpx.Client) -> None:
    client.get("/")
    client.post("/logout")
    assert "session" not in client.cookies
    assert client.get("/").text == "Welcome! This is your first visit."


def test_cart(client: httpx.Client) -> None:
    assert client.post("/cart", json={"add": "apple"}).json() == ["apple"]
    assert client.post("/cart", json={"add": "pear"}).json() == ["apple", "pear"]
    assert client.post("/cart", json={"remove": "apple"}).json() == ["pear"]
    assert client.get("/me").json() == {"cart": ["pear"]}


@pytest.mark.parametrize(
    ("path", "body"),
    [("/cart", {"take": "x"}), ("/cart", {"add": 3}), ("/login", {"user": ""}), ("/cart", [1])],
)
def test_bad_bodies_are_400(client: httpx.Client, path: str, body: object) -> None:
    assert client.post(path, json=body).status_code == 400


def test_health_does_not_touch_the_session(client: httpx.Client) -> None:
    response = client.get("/health")
    assert response.text == "ok"
    assert "set-cookie" not in response.headers
    assert "vary" not in response.headers


def test_unknown_routes_and_methods(client: httpx.Client) -> None:
    assert client.get("/nowhere").status_code == 404
    assert client.get("/cart").status_code == 405


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
    assert err.startswith("sessionkit demo: $SESSIONKIT_DEMO_CONCURRENCY: ")
    assert "'merge' or 'last_write_wins'" in err
    assert err.count("\n") == 1
    monkeypatch.setenv("SESSIONKIT_DEMO_CONCURRENCY", "last_write_wins")
    assert manager_options() == {"concurrency": "last_write_wins"}
