"""memcached's pitfalls, each against a real server: expiry, keys, item size, touch, replies."""

from __future__ import annotations

import os
import signal
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from sessionkit_memcached import MemcachedStore

import sessionkit
from sessionkit.errors import SessionTooLargeError, StoreUnavailableError
from sessionkit.ids import MAX_ID_LENGTH, new_session_id
from sessionkit.store import (
    HasNativeAsync,
    SupportsClear,
    SupportsCount,
    ThreadedAsyncStore,
    as_async,
)
from sessionkit.testing import free_port

from .conftest import MemcachedServer

DAY = 24 * 3600
SECRET = "pitfall-test-secret"


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


def _writes(store: MemcachedStore, sid: str) -> list[Callable[[], object]]:
    return [
        lambda: store.set(sid, b"y", 60),
        lambda: store.add(new_session_id(), b"y", 60),
        lambda: store.replace(sid, b"y", 60),
        lambda: store.touch(sid, 60),
        lambda: store.delete(sid),
    ]


def freeze(pid: int) -> None:
    """SIGSTOP the process and wait until every one of its threads has stopped: a thread
    that was running when the signal was sent could otherwise still answer one request."""
    os.kill(pid, signal.SIGSTOP)
    tasks = Path(f"/proc/{pid}/task")
    deadline = time.monotonic() + 5
    while any(
        (task / "stat").read_text().rpartition(")")[2].split()[0] != "T" for task in tasks.iterdir()
    ):
        assert time.monotonic() < deadline, "the server did not stop"
        time.sleep(0.001)


def test_writes_wait_for_the_reply(run_prefix: str) -> None:
    """With ``noreply`` a write to a frozen server would return at once; here each times out."""
    server = MemcachedServer().start()
    url = f"memcached://{server.address}"
    store = MemcachedStore.from_url(url, prefix=run_prefix, timeout=0.2)
    assert server.process is not None
    try:
        sid = new_session_id()
        store.set(sid, b"x", 60)
        freeze(server.process.pid)
        for write in _writes(store, sid):
            with pytest.raises(StoreUnavailableError, match="TimeoutError"):
                write()
    finally:
        server.process.send_signal(signal.SIGCONT)
        store.close()
        server.stop()


def test_writes_to_a_killed_server_raise(run_prefix: str) -> None:
    server = MemcachedServer().start()
    store = MemcachedStore.from_url(f"memcached://{server.address}", prefix=run_prefix)
    try:
        sid = new_session_id()
        store.set(sid, b"x", 60)  # a pooled connection is now open
        server.stop()
        for write in _writes(store, sid):
            with pytest.raises(StoreUnavailableError, match=server.address):
                write()
    finally:
        store.close()
        server.stop()


def test_unreachable_node_is_named_and_passwords_never_shown() -> None:
    port = _closed_port()
    store = sessionkit.open_store(f"memcached://127.0.0.1:{port}?prefix={quote('app:')}")
    with pytest.raises(StoreUnavailableError) as caught:
        store.get(new_session_id())
    assert caught.value.url == f"memcached://127.0.0.1:{port}?prefix=app%3A"
    assert f"memcached node 127.0.0.1:{port}" in str(caught.value)


def test_optional_capabilities_are_declared_missing(store: MemcachedStore) -> None:
    assert not isinstance(store, SupportsClear)
    assert not isinstance(store, SupportsCount)
    assert not isinstance(store, HasNativeAsync)
    assert isinstance(as_async(store), ThreadedAsyncStore)


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
