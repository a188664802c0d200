"""Which node holds a session: one node, or a ring of several spread by rendezvous hashing.

A ring splits session ids into :data:`BUCKETS` buckets (CRC-32 of the id; ids are random,
so the buckets fill evenly) and ranks the nodes for each bucket once, when it is made, by
rendezvous (highest random weight) hashing of the node's name and the bucket's number. A
session lives on the first node of its bucket's ranking that is up. So:

- each node holds an even share, and a node that is down moves only the sessions it held
  (to the next node of each of its buckets), never anyone else's;
- the ranking depends on the nodes' names, not on the order they are listed in, and adding a
  node takes over only the buckets it now ranks first in;
- finding the node costs a CRC-32 and a list index per call, not a hash per node.

A call that fails on a node's connection (refused, reset, closed, timed out) takes the node
out of the ring for ``dead_retry`` seconds: that call raises, and meanwhile the node's
sessions read as missing while every other session is served as before. After
``dead_retry`` seconds the node is tried again by the next call that maps to it. There is no
retry on another node within a call, so a call to a node that stopped answering takes at most
``connect_timeout + timeout``.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
import zlib
from collections.abc import Callable, Sequence
from typing import Protocol

from sessionkit.errors import StoreUnavailableError

from .pool import NodePool

log = logging.getLogger("sessionkit.memcached")

#: How many buckets session ids are split into; the share of each node is even to ~1.5%
#: (one standard deviation, two nodes).
BUCKETS = 4096


class Nodes(Protocol):
    """The nodes of a store and which one serves a session."""

    pools: tuple[NodePool, ...]

    def pool_for(self, sid: str) -> NodePool:
        """The node that holds ``sid``'s session."""

    def failed(self, pool: NodePool) -> None:
        """A call on ``pool`` failed on its connection."""


class OneNode:
    """A store of one node: every session is there."""

    def __init__(self, pool: NodePool) -> None:
        self.pools: tuple[NodePool, ...] = (pool,)
        self._pool = pool

    def pool_for(self, sid: str) -> NodePool:
        return self._pool

    def failed(self, pool: NodePool) -> None:
        """Nothing to do: the pool has closed its idle connections, the call raises."""


class NodeRing:
    """Several nodes, each holding its share of sessions; see the module docstring.

    :param pools: the nodes.
    :param dead_retry: seconds a node that failed stays out.
    :param url: the store's masked URL, for the error when every node is out.
    :param clock: monotonic seconds (tests may pass a frozen clock).
    """

    def __init__(
        self,
        pools: Sequence[NodePool],
        dead_retry: float,
        url: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.pools = tuple(pools)
        self.dead_retry = dead_retry
        self._url = url
        self._clock = clock
        self._rankings = [_ranking(self.pools, bucket) for bucket in range(BUCKETS)]
        # Nodes out of the ring, with the time to try each again. Replaced, never changed
        # in place, so that calls read it without the lock.
        self._out: dict[NodePool, float] = {}
        self._next_retry = 0.0
        self._lock = threading.Lock()

    def pool_for(self, sid: str) -> NodePool:
        out = self._out
        if out and self._clock() >= self._next_retry:
            out = self._bring_back_due()
        for pool in self._rankings[zlib.crc32(sid.encode()) % BUCKETS]:
            if pool not in out:
                return pool
        names = ", ".join(pool.name for pool in self.pools)
        raise StoreUnavailableError(
            self._url,
            f"every memcached node is down ({names}); each is tried again "
            f"{self.dead_retry:g} s after it failed",
        )

    def failed(self, pool: NodePool) -> None:
        with self._lock:
            if pool in self._out:
                return
            retry_at = self._clock() + self.dead_retry
            self._out = {**self._out, pool: retry_at}
            self._next_retry = min(self._out.values())
        log.warning(
            "memcached node %s is down; its sessions read as missing while it is left out for %g s",
            pool.name,
            self.dead_retry,
        )

    def is_out(self, pool: NodePool) -> bool:
        """Whether ``pool`` is out of the ring now."""
        return pool in self._out

    def _bring_back_due(self) -> dict[NodePool, float]:
        with self._lock:
            now = self._clock()
            back = [pool for pool, retry_at in self._out.items() if retry_at <= now]
            if back:
                self._out = {pool: at for pool, at in self._out.items() if pool not in back}
                self._next_retry = min(self._out.values(), default=0.0)
            out = self._out
        for pool in back:
            log.info("memcached node %s is tried again", pool.name)
        return out


def _ranking(pools: tuple[NodePool, ...], bucket: int) -> tuple[NodePool, ...]:
    """The nodes in the order a bucket prefers them: by a hash of name and bucket number."""

    def weight(pool: NodePool) -> bytes:
        seed = f"{pool.name}\0{bucket}".encode()
        return hashlib.blake2s(seed, digest_size=8).digest()

    return tuple(sorted(pools, key=weight, reverse=True))
