"""Building a redis-py client, sync or async, from the store's settings.

One builder serves both: redis-py's sync and asyncio clients take the same arguments, so
only the classes differ (a :class:`Flavour`). The async twin of one server (TCP, TLS or a
Unix socket) gets the lean client of :mod:`sessionkit_redis.wire` instead, built from the
same arguments. A client holds its own connection pool; the
async twin always gets a new client, since a ``redis.asyncio`` client belongs to the event
loop it first ran on. redis-py never retries a command itself (:mod:`sessionkit_redis.policy`
does, within the operation's ``timeout``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import redis
import redis.asyncio
import redis.asyncio.cluster
import redis.asyncio.retry
import redis.asyncio.sentinel
import redis.cluster
import redis.retry
import redis.sentinel
from redis.backoff import NoBackoff

from .settings import RedisSettings
from .wire import LeanRedis

SyncClient = redis.Redis | redis.cluster.RedisCluster
AsyncClient = Any  # redis.asyncio.Redis, its RedisCluster, or a LeanRedis
_UNBOUNDED = 2**31


@dataclass(frozen=True)
class Flavour:
    """redis-py's classes for one kind of I/O."""

    redis: Any
    cluster: Any
    node: Any
    sentinel: Any
    retry: Any


SYNC = Flavour(
    redis.Redis,
    redis.cluster.RedisCluster,
    redis.cluster.ClusterNode,
    redis.sentinel.Sentinel,
    redis.retry.Retry,
)
ASYNC = Flavour(
    redis.asyncio.Redis,
    redis.asyncio.cluster.RedisCluster,
    redis.asyncio.cluster.ClusterNode,
    redis.asyncio.sentinel.Sentinel,
    redis.asyncio.retry.Retry,
)


def is_lean(settings: RedisSettings) -> bool:
    """Whether the async twin talks to the server through
    :class:`~sessionkit_redis.wire.LeanRedis`: one server, over TCP, TLS or a Unix socket.
    Sentinel and Cluster keep redis.asyncio, which knows them (with the client's
    ``socket_timeout`` bounding each try: a Sentinel client must see a frozen Sentinel's own
    timeout to ask the next one, and a Cluster client a node's to move away from it)."""
    return settings.topology == "single"


def build(settings: RedisSettings, flavour: Flavour) -> tuple[Any, Any | None]:
    """A client of ``flavour`` for ``settings``, and the Sentinel object behind it (to close)."""
    kwargs = dict(settings.connection)
    if flavour is ASYNC and is_lean(settings):
        if "unix_socket_path" not in kwargs:
            kwargs["host"], kwargs["port"] = settings.nodes[0]
        return LeanRedis(**kwargs), None
    no_retry = flavour.retry(NoBackoff(), 0)
    if settings.topology == "cluster":
        nodes = [flavour.node(host, port) for host, port in settings.nodes]
        cluster = flavour.cluster(
            startup_nodes=nodes,
            retry=no_retry,
            max_connections=settings.max_connections or _UNBOUNDED,
            **kwargs,
        )
        return cluster, None
    if settings.max_connections:
        kwargs["max_connections"] = settings.max_connections
    if settings.topology == "sentinel":
        assert settings.service_name is not None
        sentinel = flavour.sentinel(
            list(settings.nodes),
            sentinel_kwargs={**settings.sentinel, "retry": no_retry},
            retry=no_retry,
            **kwargs,
        )
        return sentinel.master_for(settings.service_name), sentinel
    if "unix_socket_path" not in kwargs:
        kwargs["host"], kwargs["port"] = settings.nodes[0]
    return flavour.redis(retry=no_retry, **kwargs), None


def sync_client(settings: RedisSettings) -> tuple[SyncClient, redis.sentinel.Sentinel | None]:
    return cast(tuple[SyncClient, "redis.sentinel.Sentinel | None"], build(settings, SYNC))


def async_client(
    settings: RedisSettings,
) -> tuple[AsyncClient, redis.asyncio.sentinel.Sentinel | None]:
    return cast(
        tuple[AsyncClient, "redis.asyncio.sentinel.Sentinel | None"], build(settings, ASYNC)
    )
