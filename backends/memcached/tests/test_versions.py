"""Versioned reads and writes against a server of this module's own, each command counted in
the server's ``stats``: a lookup is one ``gets``, a save one ``cas``, a delete one ``delete``."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator

import pytest
from sessionkit_memcached import MemcachedStore

import sessionkit
from sessionkit.ids import new_session_id
from sessionkit.store import GONE, Entry, Swap
from sessionkit.testing.drivers import run_threads

from .conftest import MemcachedServer

# The server's counters of commands and their outcomes.
COUNTERS = (
    "cmd_get",
    "get_hits",
    "get_misses",
    "cmd_set",
    "cas_hits",
    "cas_badval",
    "cas_misses",
    "cmd_touch",
    "delete_hits",
    "delete_misses",
)


@pytest.fixture(scope="module")
def server() -> Iterator[MemcachedServer]:
    server = MemcachedServer().start()
    yield server
    server.stop()


@pytest.fixture
def store(server: MemcachedServer, run_prefix: str) -> Iterator[MemcachedStore]:
    store = MemcachedStore.from_url(f"memcached://{server.address}", prefix=run_prefix)
    yield store
    store.close()


class Commands:
    """What the server counted between two readings of its ``stats``."""

    def __init__(self, server: MemcachedServer) -> None:
        self.server = server
        self.last = self.read()

    def read(self) -> Counter[str]:
        stats = self.server.stats()
        return Counter({name: int(stats[name]) for name in COUNTERS})

    def since(self) -> dict[str, int]:
        now = self.read()
        counted = {name: count for name, count in (now - self.last).items() if count}
        self.last = now
        return counted


def stored(store: MemcachedStore, data: bytes) -> tuple[str, Entry]:
    """A new session holding ``data``, and its entry as read back."""
    sid = new_session_id()
    store.set(sid, data, 60)
    entry = store.get_versioned(sid)
    assert entry is not None
    assert entry.data == data
    return sid, entry


def test_a_lookup_is_one_gets(store: MemcachedStore, server: MemcachedServer) -> None:
    sid = new_session_id()
    store.set(sid, b"stored", 60)
    commands = Commands(server)
    entry = store.get_versioned(sid)
    assert entry is not None
    assert entry.data == b"stored"
    assert commands.since() == {"cmd_get": 1, "get_hits": 1}
    assert store.get_versioned(new_session_id()) is None
    assert commands.since() == {"cmd_get": 1, "get_misses": 1}


def test_a_save_nobody_raced_is_one_cas(store: MemcachedStore, server: MemcachedServer) -> None:
    sid, entry = stored(store, b"base")
    commands = Commands(server)
    swap = store.replace_versioned(sid, b"mine", 60, entry.version)
    assert swap == Swap(True, Entry(b"mine", None)), "memcached does not say the new token"
    assert commands.since() == {"cmd_set": 1, "cas_hits": 1}
    assert store.get(sid) == b"mine"


def test_a_conflict_costs_one_gets_more_and_hands_back_the_current_entry(
    store: MemcachedStore, server: MemcachedServer
) -> None:
    sid, entry = stored(store, b"base")
    store.replace(sid, b"theirs", 60)
    commands = Commands(server)
    swap = store.replace_versioned(sid, b"mine", 60, entry.version)
    assert swap.stored is False
    assert swap.entry is not None
    assert swap.entry.data == b"theirs"
    assert commands.since() == {"cmd_set": 1, "cas_badval": 1, "cmd_get": 1, "get_hits": 1}
    # The entry handed back carries a current version: the retry is one cas again.
    assert store.replace_versioned(sid, b"merged", 60, swap.entry.version).stored is True
    assert commands.since() == {"cmd_set": 1, "cas_hits": 1}
    assert store.get(sid) == b"merged"


def test_a_save_of_a_deleted_session_is_gone_in_one_cas(
    store: MemcachedStore, server: MemcachedServer
) -> None:
    sid, entry = stored(store, b"base")
    store.delete(sid)
    commands = Commands(server)
    assert store.replace_versioned(sid, b"back", 60, entry.version) == GONE
    assert commands.since() == {"cmd_set": 1, "cas_misses": 1}
    assert store.get(sid) is None


def test_delete_is_one_command_that_says_what_it_did(
    store: MemcachedStore, server: MemcachedServer
) -> None:
    sid = new_session_id()
    store.set(sid, b"x", 60)
    commands = Commands(server)
    assert store.delete(sid) is True
    assert commands.since() == {"delete_hits": 1}
    assert store.delete(sid) is False
    assert commands.since() == {"delete_misses": 1}


def test_touch_keeps_the_cas_token(store: MemcachedStore, server: MemcachedServer) -> None:
    """A rolling session is touched between its lookup and its save: that must not look like
    another writer."""
    sid, entry = stored(store, b"base")
    assert store.touch(sid, 120) is True
    again = store.get_versioned(sid)
    assert again == entry
    commands = Commands(server)
    assert store.replace_versioned(sid, b"mine", 60, entry.version).stored is True
    assert commands.since() == {"cmd_set": 1, "cas_hits": 1}


@pytest.mark.parametrize("version", [None, "1", ("elsewhere:11211", b"1"), (1, 2, 3)])
def test_a_version_of_another_shape_or_node_is_a_conflict(
    store: MemcachedStore, server: MemcachedServer, version: object
) -> None:
    sid = new_session_id()
    store.set(sid, b"base", 60)
    commands = Commands(server)
    swap = store.replace_versioned(sid, b"mine", 60, version)
    assert swap.stored is False
    assert swap.entry is not None
    assert swap.entry.data == b"base"
    assert commands.since() == {"cmd_get": 1, "get_hits": 1}, "no cas was sent"
    assert store.get(sid) == b"base"


def test_a_server_without_cas_saves_last_write_wins_and_says_so(
    run_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    server = MemcachedServer("-C").start()
    store = MemcachedStore.from_url(f"memcached://{server.address}", prefix=run_prefix)
    try:
        sid = new_session_id()
        store.set(sid, b"base", 60)
        entry = store.get_versioned(sid)
        assert entry is not None
        with caplog.at_level(logging.WARNING, logger="sessionkit.memcached"):
            assert store.replace_versioned(sid, b"one", 60, entry.version).stored is True
            assert store.replace_versioned(sid, b"two", 60, entry.version).stored is True
        assert store.get(sid) == b"two"
        warnings = [record.getMessage() for record in caplog.records]
        assert len(warnings) == 1
        assert "CAS disabled" in warnings[0]
        assert server.address in warnings[0]
        store.delete(sid)
        assert store.replace_versioned(sid, b"back", 60, entry.version) == GONE
        assert store.get(sid) is None
    finally:
        store.close()
        server.stop()


def test_parallel_requests_on_one_session_lose_no_update(store: MemcachedStore) -> None:
    """Through the manager: each request adds its own cart item; the conflicts that the
    cas answers are merged, not overwritten."""
    manager = sessionkit.SessionManager(store=store, secret="versions-test-secret-0123456789ab")
    session = manager.open(None)
    session["cart"] = []
    set_cookie = manager.commit(session)
    assert set_cookie is not None
    cookie = set_cookie.split(";", 1)[0]

    def add_item(index: int) -> None:
        for round_ in range(5):
            request = manager.open(cookie)
            request["cart"].append(f"item-{index}-{round_}")
            manager.commit(request)

    run_threads(8, add_item)
    cart = manager.open(cookie)["cart"]
    assert sorted(cart) == sorted(f"item-{i}-{r}" for i in range(8) for r in range(5))
