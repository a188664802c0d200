"""Round trips and commands of each store operation, and of a request through SessionManager,
as a throwaway server sees them: the round trips are the read events it processed (INFO
``total_reads_processed``), the commands what MONITOR shows clients sent (a script's own
GET and SET run inside the server and are left out)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import redis
from sessionkit_redis import RedisStore

from sessionkit import SessionManager
from sessionkit.ids import new_session_id
from sessionkit.store import Store, SupportsUserIndex, SupportsVersions
from sessionkit.testing.drivers import facade_for

MARKER = "sessionkit-round-trips-end"


@dataclass(frozen=True)
class Seen:
    round_trips: int
    commands: list[str]


class Observer:
    """Watches a server that nothing else uses, from :meth:`start` to :meth:`stop`."""

    def __init__(self, server: Any) -> None:
        self.client: redis.Redis = server.client()  # INFO, ECHO, SCRIPT FLUSH
        self.client.ping()  # connected before MONITOR starts, so its handshake is not seen
        self._watcher: redis.Redis = server.client()

    def close(self) -> None:
        self.client.close()
        self._watcher.close()

    def during(self, action: Callable[[], object]) -> Seen:
        self.start()
        action()
        return self.stop()

    def start(self) -> None:
        self._monitor = self._watcher.monitor()
        self._monitor.__enter__()
        self._before = self._reads()

    def stop(self) -> Seen:
        round_trips = self._reads() - self._before - 1  # the second INFO's own read
        self.client.echo(MARKER)
        commands = []
        try:
            while (entry := self._monitor.next_command())["command"] != f"ECHO {MARKER}":
                name = entry["command"].split(" ", 1)[0].upper()
                if entry["client_type"] != "lua" and name != "INFO":
                    commands.append(name)
        finally:
            self._monitor.__exit__()
        return Seen(round_trips, commands)

    def _reads(self) -> int:
        return int(self.client.info("stats")["total_reads_processed"])


@pytest.fixture
def server(make_server: Callable[..., Any]) -> Iterator[tuple[str, Observer]]:
    started = make_server()
    observer = Observer(started)
    yield f"{started.url}?prefix=trips:", observer
    observer.close()


@pytest.fixture(params=["sync", "async"])
def store(server: tuple[str, Observer], request: pytest.FixtureRequest) -> Iterator[Store]:
    redis_store = RedisStore.from_url(server[0])
    face: Any = redis_store
    if request.param == "async":
        face = facade_for(redis_store.async_store)
    warm_up(face)
    yield face
    if face is not redis_store:
        face.close()
    redis_store.close()


def warm_up(store: Any) -> None:
    """Connect and load the script, so that neither is counted."""
    sid = new_session_id()
    store.set(sid, b"x", 60)
    store.replace_versioned(sid, b"y", 60, b"x")
    store.delete(sid)


def test_a_versioned_lookup_is_one_get(store: Store, server: Any) -> None:
    versioned: SupportsVersions = store  # type: ignore[assignment]
    sid = new_session_id()
    store.set(sid, b"data", 60)
    seen = server[1].during(lambda: versioned.get_versioned(sid))
    assert seen == Seen(1, ["GET"])


@pytest.mark.parametrize(("version", "stored"), [(b"read", True), (b"stale", False)])
def test_a_save_is_one_evalsha_raced_or_not(
    store: Store, server: Any, version: bytes, stored: bool
) -> None:
    """Nobody raced: written. A lost race: the current entry comes back in the same trip."""
    versioned: SupportsVersions = store  # type: ignore[assignment]
    sid = new_session_id()
    store.set(sid, b"read", 60)
    swaps = []
    seen = server[1].during(
        lambda: swaps.append(versioned.replace_versioned(sid, b"w", 60, version))
    )
    assert seen == Seen(1, ["EVALSHA"])
    assert swaps[0].stored is stored
    assert swaps[0].entry is not None
    assert swaps[0].entry.data == (b"w" if stored else b"read")


def test_a_script_the_server_lost_is_sent_whole_once(store: Store, server: Any) -> None:
    versioned: SupportsVersions = store  # type: ignore[assignment]
    sid = new_session_id()
    store.set(sid, b"read", 60)
    server[1].client.script_flush()  # what a restart or a failover to a fresh replica does
    seen = server[1].during(lambda: versioned.replace_versioned(sid, b"w", 60, b"read"))
    assert seen == Seen(2, ["EVALSHA", "EVAL"])  # NOSCRIPT, then the script itself
    assert store.get(sid) == b"w"
    seen = server[1].during(lambda: versioned.replace_versioned(sid, b"v", 60, b"w"))
    assert seen == Seen(1, ["EVALSHA"])  # EVAL cached it again
    assert store.get(sid) == b"v"


def test_delete_is_one_del(store: Store, server: Any) -> None:
    sid = new_session_id()
    store.set(sid, b"data", 60)
    assert server[1].during(lambda: store.delete(sid)) == Seen(1, ["DEL"])


def test_malformed_ids_cost_no_round_trip(store: Store, server: Any) -> None:
    versioned: SupportsVersions = store  # type: ignore[assignment]

    def calls() -> None:
        assert versioned.get_versioned("../etc") is None
        assert store.delete("../etc") is False
        assert store.touch("../etc", 60) is False

    assert server[1].during(calls) == Seen(0, [])


def test_the_user_index_round_trips(store: Store, server: Any) -> None:
    index: SupportsUserIndex = store  # type: ignore[assignment]
    user = f"ada-{new_session_id()}"
    sids = [new_session_id() for _ in range(3)]
    for sid in sids:
        store.set(sid, b"x", 60)

    first = server[1].during(lambda: index.bind_user(user, sids[0], 60))
    assert first == Seen(1, ["SADD", "SCARD"])  # one pipeline
    index.bind_user(user, sids[1], 60)
    store.delete(sids[0])
    third = server[1].during(lambda: index.bind_user(user, sids[2], 60))
    assert third == Seen(1, ["SADD", "SCARD"])  # however many sessions the user has

    listing = server[1].during(lambda: index.user_sessions(user))
    assert listing == Seen(3, ["SMEMBERS", "GET", "GET", "GET", "SREM"])  # the ended one dropped
    ending = server[1].during(lambda: index.delete_user_sessions(user, keep=sids[2]))
    assert ending == Seen(2, ["SMEMBERS", "DEL", "SREM"])


def test_logins_prune_the_index_once_per_doubling(store: Store, server: Any) -> None:
    index: SupportsUserIndex = store  # type: ignore[assignment]
    user = f"many-{new_session_id()}"
    sids = [new_session_id() for _ in range(64)]
    for sid in sids:
        store.set(sid, b"x", 60)
    for sid in sids[:31]:
        index.bind_user(user, sid, 60)
    for sid in sids[:20]:
        store.delete(sid)  # ended without the index hearing of it
    pruning = server[1].during(lambda: index.bind_user(user, sids[31], 60))
    assert pruning.round_trips == 4  # the 32nd id: add, read, check 31 others, drop 20
    assert pruning.commands[:3] == ["SADD", "SCARD", "SMEMBERS"]
    assert pruning.commands[-1] == "SREM"
    after = server[1].during(lambda: index.bind_user(user, sids[32], 60))
    assert after == Seen(1, ["SADD", "SCARD"])  # 13 ids now: the next pruning is at 32
    assert sorted(index.user_sessions(user)) == sorted(sids[20:33])
    index.delete_user_sessions(user)


# -- through SessionManager


@pytest.fixture
def manager(server: tuple[str, Observer]) -> Iterator[SessionManager]:
    redis_store = RedisStore.from_url(server[0])
    warm_up(redis_store)
    manager = SessionManager(redis_store, secret="test-secret-" * 3, rolling=False)
    yield manager
    redis_store.close()


def stored_session(manager: SessionManager) -> str:
    session = manager.open(None)
    session["user"] = "ada"
    session["cart"] = [1, 2, 3]
    set_cookie = manager.commit(session)
    assert set_cookie is not None
    return set_cookie.split(";", 1)[0]


def test_a_request_reading_its_session_makes_one_round_trip(
    manager: SessionManager, server: Any
) -> None:
    cookie = stored_session(manager)

    def request() -> None:
        session = manager.open(cookie)
        assert session["user"] == "ada"
        assert manager.commit(session) is None  # unmodified: not written

    assert server[1].during(request) == Seen(1, ["GET"])


def test_a_request_changing_its_session_makes_two(manager: SessionManager, server: Any) -> None:
    cookie = stored_session(manager)

    def request() -> None:
        session = manager.open(cookie)
        session["cart"].append(4)  # a nested change
        assert manager.commit(session) is not None

    assert server[1].during(request) == Seen(2, ["GET", "EVALSHA"])
    assert manager.open(cookie)["cart"] == [1, 2, 3, 4]


def test_a_request_that_never_touches_its_session_costs_nothing(
    manager: SessionManager, server: Any
) -> None:
    cookie = stored_session(manager)

    def requests() -> None:
        for header in (cookie, None):
            manager.commit(manager.open(header))

    assert server[1].during(requests) == Seen(0, [])


def test_a_new_session_is_one_create_only_set(manager: SessionManager, server: Any) -> None:
    assert server[1].during(lambda: stored_session(manager)) == Seen(1, ["SET"])


def test_an_async_request_reading_its_session_makes_one_round_trip(
    manager: SessionManager, server: Any
) -> None:
    cookie = stored_session(manager)

    async def request() -> Seen:
        astore = manager.async_store
        try:
            await astore.replace_versioned(new_session_id(), b"y", 60, b"x")  # connect first
            server[1].start()
            session = await manager.aopen(cookie)
            assert session["user"] == "ada"
            assert await manager.acommit(session) is None
            return server[1].stop()
        finally:
            await astore.close()

    assert asyncio.run(request()) == Seen(1, ["GET"])
