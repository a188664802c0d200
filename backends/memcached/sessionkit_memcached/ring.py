"""Several memcached nodes as one store: pymemcache's HashClient, made strict and thread-safe.

Sessions are spread by rendezvous hashing, so losing a node moves only the keys it held. The
ring runs with ``retry_attempts=0``: the call that finds a node down raises (as
:class:`NodeFailure`) and the node leaves the ring at once for ``dead_timeout`` seconds. A
retry window, where HashClient answers "not found" or "not stored" for a failing node
without asking it, would make ``add``, ``replace`` and ``touch`` lie, so there is none. A
connection that closes mid-command counts as a failure too, so that every stale pooled
connection of a dead node does not fail one request each.

HashClient keeps its failure bookkeeping in plain dicts and a list; the overrides below take
a lock around it and make marking a node dead idempotent, so that many threads failing on the
same node at once agree.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from pymemcache.client.hash import HashClient  # type: ignore[import-untyped]
from pymemcache.exceptions import (  # type: ignore[import-untyped]
    MemcacheError,
    MemcacheUnexpectedCloseError,
)

from .settings import Server, node_name

log = logging.getLogger("sessionkit.memcached")


class NodeFailure(Exception):
    """A command to one node failed; ``cause`` is pymemcache's or the socket's error."""

    def __init__(self, node: str, cause: BaseException) -> None:
        super().__init__(f"{node}: {type(cause).__name__}: {cause}")
        self.node = node
        self.cause = cause


class NodeRing(HashClient):  # type: ignore[misc]
    """A :class:`HashClient` over pooled connections; see the module docstring."""

    def __init__(self, servers: tuple[Server, ...], **client_options: Any) -> None:
        self._ring_lock = threading.RLock()
        super().__init__(
            list(servers), use_pooling=True, retry_attempts=0, ignore_exc=False, **client_options
        )

    def add_server(self, server: Server, port: int | None = None) -> None:
        """Add (or bring back) a node, closing the connections of its previous client."""
        with self._ring_lock:
            key = self._make_client_key(server if port is None else (server, port))
            previous = self.clients.get(key)
            super().add_server(server, port)
            if previous is not None:
                previous.close()

    def remove_server(self, server: Server, port: int | None = None) -> None:
        with self._ring_lock:
            if (server if port is None else (server, port)) not in self._dead_clients:
                super().remove_server(server, port)

    def _retry_dead(self) -> None:
        with self._ring_lock:
            super()._retry_dead()

    def _mark_failed_server(self, server: Server) -> None:
        with self._ring_lock:
            if server in self._dead_clients:
                return
            super()._mark_failed_server(server)
        log.warning(
            "memcached node %s is down; its sessions are lost and it is left out for %s s",
            node_name(server),
            self.dead_timeout,
        )

    def _safely_run_func(
        self, client: Any, func: Any, default_val: Any, *args: Any, **kwargs: Any
    ) -> Any:
        try:
            return super()._safely_run_func(client, func, default_val, *args, **kwargs)
        except MemcacheUnexpectedCloseError as exc:
            self._mark_failed_server(client.server)
            raise NodeFailure(node_name(client.server), exc) from exc
        except (OSError, MemcacheError, RuntimeError) as exc:
            raise NodeFailure(node_name(client.server), exc) from exc
