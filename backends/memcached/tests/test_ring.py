"""Which node holds a session: the ring's rankings, without servers (no call is made)."""

from __future__ import annotations

from collections import Counter

import pytest
from sessionkit_memcached.pool import NodePool
from sessionkit_memcached.ring import NodeRing

from sessionkit.errors import StoreUnavailableError
from sessionkit.ids import new_session_id
from sessionkit.testing import FrozenClock

URL = "memcached://a:11211,b:11211,c:11211"
IDS = [new_session_id() for _ in range(3000)]


def pools(*names: str) -> list[NodePool]:
    return [NodePool((name, 11211), None, 1.0, failure=unexpected) for name in names]


def unexpected(pool: NodePool, exc: Exception, args: tuple[object, ...]) -> Exception:
    raise AssertionError(f"no call is made, but {pool.name} failed: {exc!r}")


def holders(ring: NodeRing) -> dict[str, str]:
    return {sid: ring.pool_for(sid).name for sid in IDS}


def test_each_node_holds_an_even_share() -> None:
    shares = Counter(holders(NodeRing(pools("a", "b", "c"), 30, URL)).values())
    assert set(shares) == {"a:11211", "b:11211", "c:11211"}
    assert all(800 < share < 1200 for share in shares.values()), shares


def test_the_order_the_nodes_are_listed_in_changes_nothing() -> None:
    listed = holders(NodeRing(pools("a", "b", "c"), 30, URL))
    assert holders(NodeRing(pools("c", "a", "b"), 30, URL)) == listed


def test_a_node_out_moves_only_its_own_sessions_and_they_come_back() -> None:
    clock = FrozenClock()
    nodes = pools("a", "b", "c")
    ring = NodeRing(nodes, 30, URL, clock)
    before = holders(ring)
    ring.failed(nodes[1])
    ring.failed(nodes[1])  # threads failing on one node at once agree
    during = holders(ring)
    moved = {sid for sid in IDS if during[sid] != before[sid]}
    assert moved == {sid for sid in IDS if before[sid] == "b:11211"}
    assert "b:11211" not in during.values()
    clock.now += 29.9
    assert holders(ring) == during
    clock.now += 0.1
    assert holders(ring) == before


def test_a_node_added_takes_only_sessions_it_now_ranks_first_for() -> None:
    two = holders(NodeRing(pools("a", "b"), 30, URL))
    three = holders(NodeRing(pools("a", "b", "c"), 30, URL))
    assert all(three[sid] in (two[sid], "c:11211") for sid in IDS)


def test_every_node_out_is_an_unavailable_store_until_dead_retry() -> None:
    clock = FrozenClock()
    nodes = pools("a", "b")
    ring = NodeRing(nodes, 30, URL, clock)
    for pool in nodes:
        ring.failed(pool)
    with pytest.raises(StoreUnavailableError, match="a:11211, b:11211") as caught:
        ring.pool_for(IDS[0])
    assert caught.value.url == URL
    clock.now += 30
    assert ring.pool_for(IDS[0]) in nodes
