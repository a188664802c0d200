"""memcached's pitfalls, each against a real server: expiry, keys, item size, touch, replies."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from sessionkit_memcached import MemcachedStore

import sessionkit
from sessionkit.errors import (
    SessionTooLargeError,
    StoreUnavailableError,
    UnsupportedOperationError,
)
from sessionkit.ids import MAX_ID_LENGTH, new_session_id
from sessionkit.netutil import TCPRelay, free_port
from sessionkit.store import (
    HasNativeAsync,
    SupportsClear,
    SupportsCount,
    SupportsUserIndex,
    SupportsVersions,
    ThreadedAsyncStore,
    as_async,
)

from .conftest import MemcachedServer

DAY = 24 * 3600
SECRET = "pitfall-test-secret-0123456789abcdefghijklmnopqrstuv"


@pytest.fixture
def node(memcached_pair: tuple[MemcachedServer, MemcachedServer]) -> MemcachedServer:
    return memcached_pair[0]


@pytest.fixture
def store(node: MemcachedServer, run_prefix: str) -> Iterator[MemcachedStore]:
    store = MemcachedStore.from_url(f"memcached://{node.address}", prefix=run_prefix)
    yield store
    store.close()


@pytest.mark.parametrize("ttl", [60, 30 * DAY - 1, 30 * DAY, 60 * DAY, 400 * DAY])
def test_ttl_reaches_memcached_as_the_same_lifetime(
    store: MemcachedStore, node: MemcachedServer, run_prefix: str, ttl: int
) -> None:
    sid = new_session_id()
    store.set(sid, b"data", ttl)
    assert store.get(sid) == b"data"
    remaining = node.remaining_ttl(run_prefix + sid)
    assert remaining is not None
    # The store asks for one second more (memcached's clock ticks once a second).
    assert ttl - 1 <= remaining <= ttl + 2
    store.delete(sid)


def test_session_with_a_60_day_max_age_is_readable_and_expires(
    store: MemcachedStore, node: MemcachedServer, run_prefix: str
) -> None:
    manager = sessionkit.SessionManager(store=store, secret=SECRET, max_age=60 * DAY)
    session = manager.open(None)
    session["user"] = "zoë"
    set_cookie = manager.commit(session)
    assert set_cookie is not None
    sid = session.id

    again = manager.open(set_cookie.split(";", 1)[0])
    assert again["user"] == "zoë"
    assert again.id == sid
    remaining = node.remaining_ttl(run_prefix + sid)
    assert remaining is not None
    assert remaining != -1, "the session was stored without an expiry"
    assert 60 * DAY - 5 <= remaining <= 60 * DAY + 5
    store.delete(sid)


def test_touch_is_memcacheds_touch_not_a_rewrite(
    store: MemcachedStore, node: MemcachedServer, run_prefix: str
) -> None:
    sid = new_session_id()
    store.set(sid, b"data", 60)
    before = node.stats()
    assert store.touch(sid, 3 * DAY) is True
    after = node.stats()
    assert int(after["cmd_touch"]) == int(before["cmd_touch"]) + 1
    assert after["cmd_set"] == before["cmd_set"]
    assert after["cmd_get"] == before["cmd_get"]
    remaining = node.remaining_ttl(run_prefix + sid)
    assert remaining is not None
    assert 3 * DAY - 1 <= remaining <= 3 * DAY + 2
    store.delete(sid)


def test_a_2_mib_session_raises_the_typed_error(store: MemcachedStore) -> None:
    sid = new_session_id()
    payload = b"x" * (2 * 1024 * 1024)
    for write in (store.set, store.add, store.replace):
        with pytest.raises(SessionTooLargeError) as caught:
            write(sid, payload, 60)
        assert caught.value.size == len(payload)
        assert caught.value.limit == store.data_limit
    assert store.get(sid) is None


def test_the_size_check_happens_before_anything_is_sent() -> None:
    store = MemcachedStore.from_url(f"memcached://127.0.0.1:{_closed_port()}")
    with pytest.raises(SessionTooLargeError):
        store.set(new_session_id(), b"x" * (2 * 1024 * 1024), 60)
    with pytest.raises(StoreUnavailableError):
        store.set(new_session_id(), b"x", 60)


def test_the_largest_session_that_fits_is_stored(store: MemcachedStore) -> None:
    sid = new_session_id()
    payload = bytes(i % 251 for i in range(store.data_limit))
    store.set(sid, payload, 60)
    assert store.get(sid) == payload
    with pytest.raises(SessionTooLargeError):
        store.set(sid, payload + b"x", 60)
    store.delete(sid)


def test_a_server_with_a_smaller_item_size_refuses_with_the_typed_error(
    node: MemcachedServer, run_prefix: str
) -> None:
    store = MemcachedStore.from_url(
        f"memcached://{node.address}", prefix=run_prefix, max_item_size=4 * 1024 * 1024
    )
    sid = new_session_id()
    try:
        with pytest.raises(SessionTooLargeError):
            store.set(sid, b"x" * (2 * 1024 * 1024), 60)
        store.set(sid, b"still usable", 60)
        assert store.get(sid) == b"still usable"
        store.delete(sid)
    finally:
        store.close()


def test_the_longest_prefix_and_id_make_a_250_byte_key(node: MemcachedServer) -> None:
    prefix = "p" * (250 - MAX_ID_LENGTH)
    store = MemcachedStore.from_url(f"memcached://{node.address}?prefix={prefix}")
    sid = "i" * MAX_ID_LENGTH
    try:
        store.set(sid, b"long key", 60)
        assert store.get(sid) == b"long key"
        assert node.has(prefix + sid)
        store.delete(sid)
    finally:
        store.close()


def test_keys_are_prefix_and_id(
    store: MemcachedStore, node: MemcachedServer, run_prefix: str
) -> None:
    sid = new_session_id()
    store.set(sid, b"x", 60)
    assert node.has(run_prefix + sid)
    assert not node.has(sid)
    store.delete(sid)
    assert not node.has(run_prefix + sid)


def test_memoryview_data_is_stored_as_its_bytes(store: MemcachedStore) -> None:
    sid = new_session_id()
    store.set(sid, memoryview(b"viewed"), 60)  # type: ignore[arg-type]
    assert store.get(sid) == b"viewed"
    store.delete(sid)


def test_connections_have_nagle_off(store: MemcachedStore) -> None:
    store.get(new_session_id())
    connections = store.nodes.pools[0].idle
    assert connections
    for connection in connections:
        assert connection.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


def test_writes_wait_for_the_reply(node: MemcachedServer, run_prefix: str) -> None:
    """With ``noreply`` a write to a frozen server would return at once; here each times out."""
    with TCPRelay(("127.0.0.1", node.port)) as relay:
        host, port = relay.address
        store = MemcachedStore.from_url(
            f"memcached://{host}:{port}", prefix=run_prefix, timeout=0.2
        )
        try:
            sid = new_session_id()
            store.set(sid, b"x", 60)
            relay.hang()
            for write in (
                lambda: store.set(sid, b"y", 60),
                lambda: store.add(new_session_id(), b"y", 60),
                lambda: store.replace(sid, b"y", 60),
                lambda: store.touch(sid, 60),
                lambda: store.delete(sid),
            ):
                with pytest.raises(StoreUnavailableError, match="TimeoutError"):
                    write()
            relay.restore()
            # What was sent to the frozen server may still land, in any order, so the store is
            # shown working again on an id the timed-out writes never named.
            fresh = new_session_id()
            store.set(fresh, b"z", 60)
            assert store.get(fresh) == b"z"
            store.delete(fresh)
            store.delete(sid)
        finally:
            store.close()


def test_unreachable_node_is_named_and_passwords_never_shown() -> None:
    port = _closed_port()
    store = sessionkit.open_store(f"memcached://127.0.0.1:{port}?prefix={quote('app:')}")
    with pytest.raises(StoreUnavailableError) as caught:
        store.get(new_session_id())
    assert caught.value.url == f"memcached://127.0.0.1:{port}?prefix=app%3A"
    assert f"memcached node 127.0.0.1:{port}" in str(caught.value)


def test_optional_capabilities_are_declared_missing(store: MemcachedStore) -> None:
    assert isinstance(store, SupportsVersions)
    assert not isinstance(store, SupportsUserIndex)
    assert not isinstance(store, SupportsClear)
    assert not isinstance(store, SupportsCount)
    assert not isinstance(store, HasNativeAsync)
    assert isinstance(as_async(store), ThreadedAsyncStore)


def test_log_out_everywhere_is_unsupported_and_says_why(store: MemcachedStore) -> None:
    manager = sessionkit.SessionManager(store=store, secret=SECRET)
    assert manager.user_index is False
    for call in (
        lambda: manager.user_sessions("alice"),
        lambda: manager.destroy_user_sessions("alice"),
        lambda: asyncio.run(manager.auser_sessions("alice")),
        lambda: asyncio.run(manager.adestroy_user_sessions("alice")),
    ):
        with pytest.raises(UnsupportedOperationError, match="keeps no per-user index"):
            call()


def test_unix_socket(tmp_path_factory: pytest.TempPathFactory) -> None:
    path = tmp_path_factory.mktemp("memcached") / "memcached.sock"
    server = MemcachedServer(socket_path=path).start()
    store = sessionkit.open_store(f"memcached+unix://{path}")
    try:
        sid = new_session_id()
        assert store.add(sid, b"over a socket", 60) is True
        assert store.get(sid) == b"over a socket"
        assert server.has("session:" + sid)
    finally:
        store.close()
        server.stop()


def _closed_port() -> int:
    """A loopback port that refuses connections."""
    return free_port()
