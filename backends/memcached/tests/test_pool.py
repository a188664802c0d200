"""The connections of one node: reused, bounded by ``pool_size``, dropped after a failure."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from pymemcache.client.base import Client
from sessionkit_memcached import MemcachedStore
from sessionkit_memcached.pool import NodePool
from sessionkit_memcached.wire import Connection

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


def test_a_server_that_does_not_speak_memcached_is_unavailable_not_misread() -> None:
    """Redis answers a memcached ``gets`` in its own protocol: a reply out of protocol fails
    the call and its connection, and nothing of it is taken for a session."""
    store = MemcachedStore.from_url("memcached://127.0.0.1:6379", timeout=2)
    try:
        with pytest.raises(StoreUnavailableError, match="ProtocolError") as raised:
            store.get_versioned(new_session_id())
        assert "<session id>" not in str(raised.value)  # the reply named no key
        assert store.nodes.pools[0].idle == ()
    finally:
        store.close()


@pytest.mark.parametrize("size", [0, 300, 70_000, 900_000])
def test_items_read_and_written_as_pymemcache_does(server: MemcachedServer, size: int) -> None:
    """Values of every size cross in both directions between the store and pymemcache's
    client (as earlier releases stored them: bytes under flags 0), split over many reads."""
    store = MemcachedStore.from_url(f"memcached://{server.address}", prefix="compat:")
    client = Client(("127.0.0.1", server.port), default_noreply=False)
    value = bytes(range(256)) * (size // 256) + b"\r\nEND\r\n"[: size % 256]
    theirs, ours = new_session_id(), new_session_id()
    try:
        client.set(f"compat:{theirs}", value, expire=60)
        assert store.get(theirs) == value
        assert store.get_versioned(theirs) is not None
        store.set(ours, value, 60)
        assert client.get(f"compat:{ours}") == value
    finally:
        client.delete_many([f"compat:{theirs}", f"compat:{ours}"])
        client.close()
        store.close()
