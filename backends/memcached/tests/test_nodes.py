"""Several nodes: sessions spread over them, and one node killed mid-test; the time a failed
node stays out runs on a frozen clock."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sessionkit_memcached import MemcachedStore

import sessionkit
from sessionkit.errors import StoreUnavailableError
from sessionkit.ids import new_session_id
from sessionkit.store import Entry, Swap
from sessionkit.testing import FrozenClock
from sessionkit.testing.contract import run_threads

from .conftest import MemcachedServer

PREFIX = "nodes:"
SESSIONS = 40
DEAD_RETRY = 30


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def ring(
    fresh_pair: tuple[MemcachedServer, MemcachedServer], clock: FrozenClock
) -> Iterator[tuple[MemcachedStore, MemcachedServer, MemcachedServer]]:
    first, second = fresh_pair
    store = MemcachedStore.from_url(
        f"memcached://{first.address},{second.address}?prefix={PREFIX}",
        dead_retry=DEAD_RETRY,
        clock=clock,
    )
    yield store, first, second
    store.close()


def held_by(store: MemcachedStore, server: MemcachedServer) -> str:
    """A fresh id whose session the ring puts on ``server``."""
    while True:
        sid = new_session_id()
        if store.nodes.pool_for(sid).name == server.address:
            return sid


def spread(
    store: MemcachedStore, first: MemcachedServer, second: MemcachedServer
) -> tuple[list[str], list[str]]:
    """Store SESSIONS sessions; return the ids held by each node, asked of the nodes directly."""
    on_first, on_second = [], []
    for _ in range(SESSIONS):
        sid = new_session_id()
        store.set(sid, sid.encode(), 600)
        holders = [first.has(PREFIX + sid), second.has(PREFIX + sid)]
        assert holders.count(True) == 1, "a session is on exactly one node"
        (on_first if holders[0] else on_second).append(sid)
    return on_first, on_second


def test_sessions_are_spread_over_both_nodes(
    ring: tuple[MemcachedStore, MemcachedServer, MemcachedServer],
) -> None:
    on_first, on_second = spread(*ring)
    assert on_first
    assert on_second


def test_a_killed_node_loses_only_its_own_sessions(
    ring: tuple[MemcachedStore, MemcachedServer, MemcachedServer],
) -> None:
    store, first, second = ring
    on_first, on_second = spread(store, first, second)
    second.stop()

    # Sessions on the surviving node are read without any exception, before the failure
    # is even noticed.
    assert [store.get(sid) for sid in on_first] == [sid.encode() for sid in on_first]

    # The call that finds the node down names it ...
    with pytest.raises(StoreUnavailableError, match=second.address):
        store.get(on_second[0])
    # ... and from then on its sessions are simply gone, with no exception.
    assert [store.get(sid) for sid in on_second] == [None] * len(on_second)
    assert store.replace(on_second[1], b"changed", 600) is False
    assert store.touch(on_second[1], 600) is False

    # The survivor keeps serving its own sessions, and now takes every new one.
    assert [store.get(sid) for sid in on_first] == [sid.encode() for sid in on_first]
    assert all(store.touch(sid, 600) for sid in on_first)
    newcomers = [new_session_id() for _ in range(10)]
    for sid in newcomers:
        assert store.add(sid, b"new", 600) is True
        assert first.has(PREFIX + sid)


def test_the_manager_sees_no_exception_for_sessions_on_the_survivor(
    ring: tuple[MemcachedStore, MemcachedServer, MemcachedServer],
) -> None:
    store, first, second = ring
    manager = sessionkit.SessionManager(
        store=store, secret="nodes-test-secret-0123456789abcdefghijklmnopqrstuv"
    )
    cookies = {}
    for index in range(SESSIONS // 2):
        session = manager.open(None)
        session["n"] = index
        set_cookie = manager.commit(session)
        assert set_cookie is not None
        cookies[session.id] = set_cookie.split(";", 1)[0]
    survivors = {sid: cookie for sid, cookie in cookies.items() if first.has(PREFIX + sid)}
    assert survivors
    assert len(survivors) < len(cookies)
    second.stop()
    for sid, cookie in survivors.items():
        session = manager.open(cookie)
        assert session.id == sid
        session["seen"] = True
        manager.commit(session)
    assert all(manager.open(cookie)["seen"] for cookie in survivors.values())


def test_threads_failing_on_the_same_node_all_get_the_typed_error(
    ring: tuple[MemcachedStore, MemcachedServer, MemcachedServer],
) -> None:
    store, first, second = ring
    on_first, on_second = spread(store, first, second)
    threads = 8
    run_threads(threads, lambda index: store.get(on_second[index % len(on_second)]))
    second.stop()  # several pooled connections to it are open now
    unexpected: list[BaseException] = []

    def read(index: int) -> None:
        for sid in on_second + on_first:
            try:
                value = store.get(sid)
            except StoreUnavailableError:
                continue
            except Exception as exc:
                unexpected.append(exc)
                return
            if sid in on_first and value != sid.encode():
                unexpected.append(AssertionError(f"lost a survivor's session in thread {index}"))

    run_threads(threads, read)
    assert unexpected == []
    assert [store.get(sid) for sid in on_second] == [None] * len(on_second)


def test_a_node_back_after_dead_retry_takes_its_share_again(
    ring: tuple[MemcachedStore, MemcachedServer, MemcachedServer], clock: FrozenClock
) -> None:
    store, first, second = ring
    _, on_second = spread(store, first, second)
    second.stop()
    with pytest.raises(StoreUnavailableError):
        store.get(on_second[0])
    second.start()  # same port, empty
    store.set(on_second[0], b"meanwhile", 600)
    clock.now += DEAD_RETRY - 1
    store.set(on_second[1], b"meanwhile", 600)
    assert not second.has(PREFIX + on_second[1]), "the node came back before dead_retry"

    clock.now += 1
    store.set(on_second[0], b"again", 600)
    assert second.has(PREFIX + on_second[0])
    assert store.get(on_second[0]) == b"again"
    assert first.has(PREFIX + on_second[0]), "the copy written meanwhile stays on the other node"


def test_a_node_still_down_after_dead_retry_is_left_out_again(
    ring: tuple[MemcachedStore, MemcachedServer, MemcachedServer], clock: FrozenClock
) -> None:
    store, _, second = ring
    sid = held_by(store, second)
    second.stop()
    with pytest.raises(StoreUnavailableError, match=second.address):
        store.get(sid)
    assert store.get(sid) is None
    clock.now += DEAD_RETRY
    with pytest.raises(StoreUnavailableError, match=second.address):
        store.get(sid)
    assert store.get(sid) is None


def test_a_version_from_a_node_that_left_is_never_used_on_another(
    ring: tuple[MemcachedStore, MemcachedServer, MemcachedServer],
) -> None:
    """Each server numbers its CAS tokens from 1, so a token read from one node can match an
    unrelated item on another: the version names its node, and a save whose session moved
    to another node is a conflict, not a cas there."""
    store, _, second = ring
    sid = held_by(store, second)
    store.set(sid, b"on the second node", 600)  # the fresh server's first item: token 1
    entry = store.get_versioned(sid)
    assert entry is not None
    second.stop()
    with pytest.raises(StoreUnavailableError):
        store.get(sid)
    store.set(sid, b"on the first node", 600)  # the first item there too: token 1 again
    current = store.get_versioned(sid)
    assert current is not None
    assert current.data == b"on the first node"
    assert current.version[1] == entry.version[1], "both nodes gave the same token"  # type: ignore[index]

    assert store.replace_versioned(sid, b"stale", 600, entry.version) == Swap(False, current)
    assert store.get(sid) == b"on the first node"
    assert store.replace_versioned(sid, b"mine", 600, current.version) == Swap(
        True, Entry(b"mine", None)
    )


def test_every_node_down_raises(
    ring: tuple[MemcachedStore, MemcachedServer, MemcachedServer],
) -> None:
    store, first, second = ring
    first.stop()
    second.stop()
    for _ in range(3):
        with pytest.raises(StoreUnavailableError):
            store.get(new_session_id())


def test_on_each_node_touch_keeps_the_cas_token(
    ring: tuple[MemcachedStore, MemcachedServer, MemcachedServer],
) -> None:
    store, first, second = ring
    for server in (first, second):
        sid = held_by(store, server)
        store.set(sid, b"base", 600)
        entry = store.get_versioned(sid)
        assert entry is not None
        assert store.touch(sid, 1200) is True
        assert store.get_versioned(sid) == entry
        assert store.replace_versioned(sid, b"mine", 600, entry.version).stored is True
        assert server.has(PREFIX + sid)
