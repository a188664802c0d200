"""A dead or frozen server costs at most the operation's ``timeout``, retries included, and a
StoreUnavailableError; the store works again once the server is back. Through a TCP relay
(the shipped FaultContract, plain and over TLS), and by stopping throwaway servers' processes
(SIGSTOP) where a relay cannot stand between client and server: a Sentinel's master, whose
address the Sentinels hand out, and a Cluster node, whose address the slot map hands out."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any, ClassVar
from urllib.parse import urlsplit

import pytest
from sessionkit_redis import RedisStore

from sessionkit.errors import StoreUnavailableError
from sessionkit.ids import new_session_id
from sessionkit.netutil import TCPRelay
from sessionkit.store import Store
from sessionkit.testing import FaultContract
from sessionkit.testing.drivers import facade_for

from .conftest import RedisServer, start_cluster, watched_master
from .helpers import once_available

SLACK = 1.0  # seconds a failing call may take beyond its timeout on this busy machine


class RelayedFaults(FaultContract):
    server: ClassVar[str]  # the fixture giving the server's URL
    # Two tries of about half a second each: on this busy machine a quarter of a second (the
    # default 0.5 s halved) is sometimes too short for a TLS handshake or a busy server.
    timeout = 1.0

    @pytest.fixture(autouse=True)
    def _server(self, request: pytest.FixtureRequest, run_prefix: str) -> None:
        parts = urlsplit(request.getfixturevalue(self.server))
        assert parts.hostname is not None
        assert parts.port is not None
        self.address = (parts.hostname, parts.port)
        self.url = f"{parts.scheme}://{{host}}:{{port}}{parts.path}?prefix={run_prefix}"
        self.url += f"&timeout={self.timeout}&connect_timeout={self.timeout}"
        if parts.query:
            self.url += "&" + parts.query

    def server_address(self) -> tuple[str, int]:
        return self.address

    def create_store_via(self, host: str, port: int) -> Store:
        return RedisStore.from_url(self.url.format(host=host, port=port))


class TestSingleNode(RelayedFaults):
    server = "shared_redis_url"


class TestTLS(RelayedFaults):
    server = "tls_url"


@pytest.fixture(params=["sync", "async"])
def face(request: pytest.FixtureRequest) -> Iterator[Callable[[RedisStore], Any]]:
    """The store itself, or its async twin driven from this thread."""
    made: list[Any] = []

    def of(store: RedisStore) -> Any:
        if request.param == "sync":
            return store
        made.append(facade_for(store.async_store))
        return made[-1]

    yield of
    for facade in made:
        facade.close()


def fails_within(timeout: float, call: Callable[[], object]) -> StoreUnavailableError:
    started = time.monotonic()
    with pytest.raises(StoreUnavailableError) as raised:
        call()
    elapsed = time.monotonic() - started
    assert elapsed <= timeout + SLACK, f"took {elapsed:.2f} s"
    return raised.value


def test_the_default_timeout_bounds_a_call_to_a_frozen_server(
    shared_redis_url: str, face: Callable[[RedisStore], Any]
) -> None:
    """Two tries of 0.99 s each (with retries=1): 2 s in all, where redis-py alone waited 10."""
    with TCPRelay(("127.0.0.1", urlsplit(shared_redis_url).port or 6379)) as relay:
        store = RedisStore.from_url(f"redis://127.0.0.1:{relay.port}/0")
        try:
            target = face(store)
            target.get(new_session_id())
            relay.hang()
            started = time.monotonic()
            error = fails_within(2.0, lambda: target.get(new_session_id()))
            assert time.monotonic() - started >= 1.9, "both tries waited their share"
            assert "TimeoutError" in str(error)
        finally:
            relay.restore()
            store.close()


def test_a_connection_the_server_dropped_costs_no_error(
    make_server: Callable[..., RedisServer], face: Callable[[RedisStore], Any]
) -> None:
    server = make_server()
    store = RedisStore.from_url(f"{server.url}?prefix=dropped:")
    target = face(store)
    sid = new_session_id()
    try:
        target.set(sid, b"before", 60)
        with server.client() as client:
            assert client.client_kill_filter(_type="normal", skipme=True) >= 1
        assert target.get(sid) == b"before"
    finally:
        store.close()


@pytest.fixture
def sentinels(make_server: Callable[..., RedisServer]) -> tuple[str, list[RedisServer]]:
    """A master watched by two Sentinels: the URL naming both, and the servers in the order
    they were started (the master, its replica, then the Sentinels in the URL's order)."""
    started: list[RedisServer] = []

    def recorded(*extra: str, **options: Any) -> RedisServer:
        started.append(make_server(*extra, **options))
        return started[-1]

    return watched_master(recorded), started


def test_a_frozen_sentinel_master(
    sentinels: tuple[str, list[RedisServer]], face: Callable[[RedisStore], Any]
) -> None:
    url, started = sentinels
    store = RedisStore.from_url(f"{url}?prefix=frozen:&timeout=0.5")
    target = face(store)
    sid = new_session_id()
    try:
        target.set(sid, b"kept", 60)
        started[0].freeze()  # for less than the Sentinels' down-after-milliseconds
        try:
            for call in (lambda: target.get_versioned(sid), lambda: target.set(sid, b"x", 60)):
                assert "TimeoutError" in str(fails_within(0.5, call))
        finally:
            started[0].thaw()
        assert target.get(sid) == b"kept"
    finally:
        store.close()


@pytest.fixture
def cluster(make_server: Callable[..., RedisServer]) -> Any:
    # Nodes mark a silent node failed after node_timeout_ms, which stops the cluster.
    return start_cluster(make_server, node_timeout_ms=30_000)


def test_a_frozen_cluster_node(cluster: Any, face: Callable[[RedisStore], Any]) -> None:
    store = RedisStore.from_url(f"{cluster.url}?prefix=frozen:&timeout=0.5")
    target = face(store)
    with cluster.nodes[0].client() as client:  # it owns the first third of the slots
        sids = [new_session_id() for _ in range(6)]
        while client.execute_command("CLUSTER KEYSLOT", f"frozen:{sids[0]}") >= 16384 // 3:
            sids[0] = new_session_id()
    try:
        for sid in sids:
            target.set(sid, b"kept", 60)
        cluster.nodes[0].freeze()
        try:
            assert "TimeoutError" in str(fails_within(0.5, lambda: target.get(sids[0])))
        finally:
            cluster.nodes[0].thaw()
        kept = once_available(lambda: [target.get(sid) for sid in sids], "recovered")
        assert kept == [b"kept"] * len(sids)
    finally:
        store.close()


def test_a_reply_that_came_too_late_is_never_read_as_the_next_ones(
    shared_redis_url: str, face: Callable[[RedisStore], Any]
) -> None:
    """A try given up on drops its connection: the late reply cannot answer a later call."""
    with TCPRelay(("127.0.0.1", urlsplit(shared_redis_url).port or 6379)) as relay:
        store = RedisStore.from_url(
            f"redis://127.0.0.1:{relay.port}/0?prefix=late-{uuid.uuid4().hex}:"
            "&timeout=0.5&retries=0"
        )
        first, second = new_session_id(), new_session_id()
        try:
            target = face(store)
            target.set(first, b"first", 60)
            target.set(second, b"second", 60)
            relay.hang()
            fails_within(0.5, lambda: target.get(first))
            relay.restore()  # the frozen reply to that get arrives now
            assert target.get(second) == b"second"
            assert target.get(first) == b"first"
        finally:
            relay.restore()
            store.close()


def test_a_frozen_first_sentinel_leaves_the_next_one_to_answer(
    sentinels: tuple[str, list[RedisServer]], face: Callable[[RedisStore], Any]
) -> None:
    url, started = sentinels
    store = RedisStore.from_url(f"{url}?prefix=first-frozen:")
    target = face(store)
    sid = new_session_id()
    started[2].freeze()
    try:
        target.set(sid, b"kept", 60)
        assert target.get(sid) == b"kept"
    finally:
        started[2].thaw()
        store.close()
