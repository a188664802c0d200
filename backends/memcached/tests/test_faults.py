"""Dead and frozen servers, through a TCP relay: one node (the shipped fault contract) and a
ring of two, where a node that fails loses only its own sessions. Sync and async twin alike;
the time a failed node stays out runs on a frozen clock."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from sessionkit_memcached import MemcachedStore

from sessionkit.errors import StoreUnavailableError
from sessionkit.ids import new_session_id
from sessionkit.netutil import TCPRelay
from sessionkit.store import Store, as_async
from sessionkit.testing import FaultContract, FrozenClock
from sessionkit.testing.drivers import facade_for

from .conftest import MemcachedServer

DEAD_RETRY = 30
SESSIONS = 20


class TestOneNodeFaults(FaultContract):
    @pytest.fixture(autouse=True)
    def _server(
        self, memcached_pair: tuple[MemcachedServer, MemcachedServer], run_prefix: str
    ) -> None:
        self.server = memcached_pair[0]
        self.prefix = run_prefix

    def server_address(self) -> tuple[str, int]:
        return "127.0.0.1", self.server.port

    def create_store_via(self, host: str, port: int) -> Store:
        return MemcachedStore.from_url(
            f"memcached://{host}:{port}",
            prefix=self.prefix,
            timeout=self.timeout,
            connect_timeout=self.timeout,
        )


@dataclass
class Ring:
    """A store over two nodes, each behind its own relay, and the sessions each node holds."""

    store: Store
    relays: tuple[TCPRelay, TCPRelay]
    held: tuple[list[str], list[str]]
    clock: FrozenClock

    def fails_within_the_timeout(self, call: Callable[[], object]) -> None:
        started = time.monotonic()
        with pytest.raises(StoreUnavailableError, match=r"memcached node 127\.0\.0\.1:\d+"):
            call()
        limit = FaultContract.timeout + FaultContract.slack
        assert time.monotonic() - started <= limit

    def assert_served(self, node: int) -> None:
        """Every session of ``node`` reads and writes as usual."""
        for sid in self.held[node]:
            assert self.store.get(sid) == sid.encode()
            assert self.store.touch(sid, 600) is True

    def assert_missing(self, node: int) -> None:
        """``node``'s sessions read as gone, without waiting on the node."""
        started = time.monotonic()
        for sid in self.held[node]:
            assert self.store.get(sid) is None
            assert self.store.replace(sid, b"changed", 600) is False
        assert time.monotonic() - started < FaultContract.timeout


@pytest.fixture(params=["sync", "async"])
def ring(
    request: pytest.FixtureRequest,
    memcached_pair: tuple[MemcachedServer, MemcachedServer],
    run_prefix: str,
) -> Iterator[Ring]:
    relays = (
        TCPRelay(("127.0.0.1", memcached_pair[0].port)),
        TCPRelay(("127.0.0.1", memcached_pair[1].port)),
    )
    clock = FrozenClock()
    timeout = FaultContract.timeout
    hosts = ",".join(f"{host}:{port}" for host, port in (relay.address for relay in relays))
    store = MemcachedStore.from_url(
        f"memcached://{hosts}",
        prefix=run_prefix,
        timeout=timeout,
        connect_timeout=timeout,
        dead_retry=DEAD_RETRY,
        clock=clock,
    )
    face = store if request.param == "sync" else facade_for(lambda: as_async(store))
    held: tuple[list[str], list[str]] = ([], [])
    names = [f"127.0.0.1:{relay.port}" for relay in relays]
    while min(map(len, held)) < SESSIONS:
        sid = new_session_id()
        held[names.index(store.nodes.pool_for(sid).name)].append(sid)
    for sid in held[0] + held[1]:
        face.set(sid, sid.encode(), 600)
    try:
        yield Ring(face, relays, held, clock)
    finally:
        for relay in relays:
            relay.restore()
        clock.now += DEAD_RETRY  # every node back in the ring
        for sid in held[0] + held[1]:
            face.delete(sid)
        if face is not store:
            face.close()
        store.close()
        for relay in relays:
            relay.close()


@pytest.mark.parametrize("fault", ["cut", "hang"])
def test_a_node_down_loses_only_its_own_sessions_for_dead_retry(ring: Ring, fault: str) -> None:
    getattr(ring.relays[1], fault)()
    ring.assert_served(0)
    ring.fails_within_the_timeout(lambda: ring.store.get(ring.held[1][0]))
    ring.assert_missing(1)
    ring.assert_served(0)
    sid = new_session_id()
    ring.store.add(sid, b"new while a node is down", 600)
    assert ring.store.get(sid) == b"new while a node is down"
    ring.store.delete(sid)

    ring.relays[1].restore()
    ring.clock.now += DEAD_RETRY - 1
    ring.assert_missing(1)
    ring.clock.now += 1
    ring.assert_served(1)  # the server kept them: only the way to it was down
    ring.assert_served(0)


def test_a_node_still_down_after_dead_retry_costs_one_call_more(ring: Ring) -> None:
    ring.relays[1].hang()
    ring.fails_within_the_timeout(lambda: ring.store.get(ring.held[1][0]))
    ring.clock.now += DEAD_RETRY
    ring.fails_within_the_timeout(lambda: ring.store.touch(ring.held[1][0], 600))
    ring.assert_missing(1)
    ring.assert_served(0)


def test_every_node_down_makes_every_call_unavailable(ring: Ring) -> None:
    for relay in ring.relays:
        relay.cut()
    for node in (0, 1):
        ring.fails_within_the_timeout(lambda node=node: ring.store.get(ring.held[node][0]))
    for sid in (ring.held[0][1], ring.held[1][1], new_session_id()):
        with pytest.raises(StoreUnavailableError, match="every memcached node is down"):
            ring.store.get(sid)
