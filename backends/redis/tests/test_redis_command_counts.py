"""Commands per request through SessionManager, counted by the server (INFO commandstats)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from sessionkit_redis import RedisStore

from sessionkit import SessionManager

OBSERVER_COMMANDS = {"info", "config|resetstat"}


class CommandCounter:
    """Counts the commands a server executed since the last :meth:`reset`, by name."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client

    def reset(self) -> None:
        self.client.config_resetstat()

    def counts(self) -> dict[str, int]:
        counts = {}
        for stat, value in self.client.info("commandstats").items():
            name = stat.removeprefix("cmdstat_")
            if name not in OBSERVER_COMMANDS:
                counts[name] = int(value["calls"])
        return counts

    def during(self, action: Callable[[], Any]) -> dict[str, int]:
        self.reset()
        action()
        return self.counts()


@pytest.fixture
def setup(
    make_server: Callable[..., Any],
) -> Iterator[tuple[CommandCounter, Callable[..., SessionManager]]]:
    server = make_server()
    observer = server.client()
    managers: list[SessionManager] = []

    def manager(**options: Any) -> SessionManager:
        store = RedisStore.from_url(f"{server.url}?prefix=count:")
        store.client.ping()  # connect now, so the handshake is not counted
        managers.append(SessionManager(store, secret="test-secret", **options))
        return managers[-1]

    yield CommandCounter(observer), manager
    for each in managers:
        each.store.close()
    observer.close()


def cookie_of(set_cookie: str | None) -> str:
    assert set_cookie is not None
    return set_cookie.split(";", 1)[0]


def stored_session(manager: SessionManager) -> str:
    session = manager.open(None)
    session["user"] = "ada"
    session["cart"] = [1, 2, 3]
    return cookie_of(manager.commit(session))


def test_existing_session_lookup_is_one_get(setup: Any) -> None:
    counter, make = setup
    manager = make()
    cookie = stored_session(manager)

    def request() -> None:
        session = manager.open(cookie)
        assert session["user"] == "ada"
        assert manager.commit(session) is None

    assert counter.during(request) == {"get": 1}


def test_modified_save_is_one_set(setup: Any) -> None:
    counter, make = setup
    manager = make()
    cookie = stored_session(manager)
    session = manager.open(cookie)
    assert session["cart"] == [1, 2, 3]

    def save() -> None:
        session["cart"].append(4)  # a nested change
        assert manager.commit(session) is not None

    assert counter.during(save) == {"set": 1}
    assert manager.open(cookie)["cart"] == [1, 2, 3, 4]


def test_unmodified_session_without_rolling_is_not_written(setup: Any) -> None:
    counter, make = setup
    manager = make(rolling=False)
    session = manager.open(stored_session(manager))
    assert session["user"] == "ada"
    assert counter.during(lambda: manager.commit(session)) == {}


def test_never_accessed_session_costs_nothing(setup: Any) -> None:
    counter, make = setup
    manager = make()
    cookie = stored_session(manager)

    def request() -> None:
        for header in (cookie, None):
            manager.commit(manager.open(header))

    assert counter.during(request) == {}


def test_new_session_save_is_one_set_and_rolling_refresh_one_expire(setup: Any) -> None:
    counter, make = setup
    manager = make(rolling=True)
    cookies: list[str] = []
    assert counter.during(lambda: cookies.append(stored_session(manager))) == {"set": 1}
    session = manager.open(cookies[0])
    assert session["user"] == "ada"
    assert counter.during(lambda: manager.commit(session)) == {"expire": 1}


def test_async_lookup_is_one_get(setup: Any) -> None:
    counter, make = setup
    manager = make()
    cookie = stored_session(manager)

    async def request() -> dict[str, int]:
        astore = manager.async_store
        try:
            await astore.client.ping()  # type: ignore[attr-defined]  # connect first
            counter.reset()
            session = await manager.aopen(cookie)
            assert session["user"] == "ada"
            assert await manager.acommit(session) is None
            return counter.counts()
        finally:
            await astore.close()

    assert asyncio.run(request()) == {"get": 1}
