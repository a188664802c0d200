"""What every framework's small app must show, through an httpx client that keeps cookies.

Each framework's test module subclasses :class:`FrameworkChecks` and gives its ``client``: a
client of an app with these routes, the session taken from where that framework's users
find it:

- ``GET /``: ``views`` += 1, answered as text;
- ``GET /user``: the ``user`` value (or nothing), read only;
- ``POST /login``: ``regenerate(keep=True)``, then ``user = "ann"``; answers ``in``;
- ``POST /logout``: ``destroy()``; answers ``out``;
- ``GET /untouched``: never touches the session; answers ``untouched``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager

import httpx
import pytest

from sessionkit import SessionManager, available_backends
from sessionkit.ids import new_session_id
from sessionkit.stores.memory import MemoryStore
from sessionkit.testing import free_port
from tests.helpers import CountingStore, attributes_of

SECRET = "a-secret-for-the-framework-tests-0123456789"


def session_cookies(response: httpx.Response) -> list[str]:
    return [v for v in response.headers.get_list("set-cookie") if v.startswith("session=")]


def check_counter_login_and_logout(client: httpx.Client) -> None:
    """Visits are counted; login gives a new id and keeps the data; logout clears it all."""
    assert [client.get("/").text for _ in range(3)] == ["1", "2", "3"]
    before = client.cookies.get("session")
    assert before is not None
    assert client.post("/login").text == "in"
    after = client.cookies.get("session")
    assert after is not None
    assert after != before
    assert client.get("/user").text == "ann"
    assert client.get("/").text == "4"  # regenerate(keep=True) carried the data over
    response = client.post("/logout")
    assert response.text == "out"
    assert attributes_of(session_cookies(response)[0])["max-age"] == "0"
    assert client.cookies.get("session") is None
    assert client.get("/user").text == ""
    assert client.get("/").text == "1"


def check_untouched_costs_no_store_call(client: httpx.Client, store: CountingStore) -> None:
    """A request that never touches its session meets the store not once, even with a
    cookie, and gets no session header; a lookup is one store call."""
    client.get("/")  # a stored session, whose cookie the client sends from now on
    store.calls.clear()
    response = client.get("/untouched")
    assert response.text == "untouched"
    assert store.calls == []
    assert session_cookies(response) == []
    assert response.headers.get("vary") is None
    assert client.get("/user").text == ""
    assert len(store.calls) == 1


def check_store_down_answers_503(client: httpx.Client, manager: SessionManager) -> None:
    """A dead store: 503 with Retry-After when the handler first uses a stored session and
    when a new session is saved at the commit; a request that does not use it succeeds."""
    cookie = {"Cookie": f"session={manager.signer.sign(new_session_id())}"}
    for path, headers in [("/user", cookie), ("/", {})]:
        response = client.get(path, headers=headers)
        assert response.status_code == 503, (path, response.text)
        assert response.headers.get("retry-after") == "5"
        assert session_cookies(response) == []
    assert client.get("/untouched", headers=cookie).status_code == 200
    assert client.get("/user").status_code == 200  # a new session, only read: no store call


def dead_store_manager() -> SessionManager:
    """A manager on a Redis URL where nothing listens: a dead server."""
    if "redis" not in available_backends():
        pytest.skip("sessionkit-redis is not installed")
    return SessionManager(f"redis://127.0.0.1:{free_port()}/0", SECRET)


class FrameworkChecks:
    """The checks above as tests; a subclass named ``Test...`` gives :meth:`client`."""

    def client(self, manager: SessionManager) -> AbstractContextManager[httpx.Client]:
        """A cookie-keeping client of the framework's app on ``manager``."""
        raise NotImplementedError

    @pytest.fixture(params=["memory", "redis"])
    def manager(self, request: pytest.FixtureRequest) -> Iterator[SessionManager]:
        if request.param == "memory":
            yield SessionManager(MemoryStore(), SECRET)
        else:
            yield request.getfixturevalue("redis_manager")

    def test_counter_login_and_logout(self, manager: SessionManager) -> None:
        with self.client(manager) as client:
            check_counter_login_and_logout(client)

    def test_an_untouched_session_costs_no_store_call(self) -> None:
        store = CountingStore()
        with self.client(SessionManager(store, SECRET)) as client:
            check_untouched_costs_no_store_call(client, store)

    def test_a_dead_store_is_answered_503(self) -> None:
        manager = dead_store_manager()
        with self.client(manager) as client:
            check_store_down_answers_503(client, manager)
