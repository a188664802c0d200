"""The connections of one node: reused, bounded by ``pool_size``, dropped after a failure."""

from __future__ import annotations

import inspect
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from pymemcache.client.base import Client
from sessionkit_memcached import MemcachedStore
from sessionkit_memcached.pool import Connection, NodePool

from sessionkit.errors import StoreUnavailableError
from sessionkit.ids import new_session_id
from sessionkit.testing.contract import run_threads

from .conftest import MemcachedServer


@pytest.fixture
def server() -> Iterator[MemcachedServer]:
    server = MemcachedServer().start()
    yield server
    server.stop()


def open_idle_connections(store: MemcachedStore, count: int) -> None:
    """Leave ``count`` idle connections in the store's pool: as many calls at once."""
    barrier = threading.Barrier(count)
    pool = store.nodes.pools[0]

    def together(connection: Connection) -> None:
        barrier.wait(5)
        connection.get("warm-up")

    run_threads(count, lambda _: pool.run(together))
    assert len(pool.idle) == count


@contextmanager
def holding_a_connection(pool: NodePool) -> Iterator[None]:
    """Keep one of ``pool``'s connections busy in another thread until the block ends."""
    busy, release = threading.Event(), threading.Event()

    def hold(connection: Connection) -> None:
        connection.get("held")
        busy.set()
        release.wait(5)

    holder = threading.Thread(target=pool.run, args=(hold,))
    holder.start()
    try:
        assert busy.wait(5)
        yield
    finally:
        release.set()
        holder.join()


def test_connections_are_reused(server: MemcachedServer) -> None:
    store = MemcachedStore.from_url(f"memcached://{server.address}")
    try:
        store.get(new_session_id())
        (first,) = store.nodes.pools[0].idle
        for _ in range(20):
            store.get(new_session_id())
        # The same connection each time. (Counting the server's total_connections instead is
        # racy: memcached counts a connection when a worker thread takes it up, and on a busy
        # machine the start-up probe's may be counted late.)
        assert store.nodes.pools[0].idle == (first,)
    finally:
        store.close()


def test_a_server_that_went_away_costs_one_failed_call_not_one_per_connection(
    server: MemcachedServer,
) -> None:
    store = MemcachedStore.from_url(f"memcached://{server.address}")
    try:
        open_idle_connections(store, 4)
        server.stop()
        server.start()  # same port, every pooled connection is now dead
        with pytest.raises(StoreUnavailableError, match=server.address):
            store.get(new_session_id())
        assert store.nodes.pools[0].idle == ()
        sid = new_session_id()
        store.set(sid, b"after", 60)
        assert store.get(sid) == b"after"
    finally:
        store.close()


def test_a_full_pool_waits_for_a_connection_then_gives_up(server: MemcachedServer) -> None:
    store = MemcachedStore.from_url(f"memcached://{server.address}", pool_size=1, timeout=0.1)
    pool = store.nodes.pools[0]
    busy = r"all 1 connections stayed busy for 0\.1 s"
    with holding_a_connection(pool), pytest.raises(StoreUnavailableError, match=busy):
        store.get(new_session_id())
    sid = new_session_id()
    store.set(sid, b"free again", 60)
    assert store.get(sid) == b"free again"
    assert len(pool.idle) == 1
    store.close()


def test_close_closes_idle_connections_and_those_that_come_back(server: MemcachedServer) -> None:
    store = MemcachedStore.from_url(f"memcached://{server.address}")
    pool = store.nodes.pools[0]
    open_idle_connections(store, 2)
    with holding_a_connection(pool):
        store.close()
        assert pool.idle == ()
    assert pool.idle == ()


@pytest.mark.parametrize(
    "command", ["get", "gets", "set", "add", "replace", "cas", "delete", "touch", "close"]
)
def test_pymemcache_client_takes_the_arguments_the_store_passes(command: str) -> None:
    """The store calls pymemcache's Client through the typed ``Connection``, by position:
    a release that reorders or renames them must fail here, not in production."""
    ours = list(inspect.signature(getattr(Connection, command)).parameters)
    theirs = list(inspect.signature(getattr(Client, command)).parameters)
    assert theirs[: len(ours)] == ours
