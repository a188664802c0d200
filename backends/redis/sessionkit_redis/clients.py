"""Building redis-py clients, sync or async, from :class:`~sessionkit_redis.settings.RedisSettings`.

A client holds its own connection pool. The async twin always gets a new client: a
``redis.asyncio`` client belongs to the event loop it first ran on.
"""

from __future__ import annotations

import redis
import redis.asyncio
import redis.asyncio.cluster
import redis.asyncio.retry
import redis.asyncio.sentinel
import redis.cluster
import redis.retry
import redis.sentinel
from redis.backoff import ExponentialWithJitterBackoff

from .settings import RedisSettings

SyncClient = redis.Redis | redis.cluster.RedisCluster
AsyncClient = redis.asyncio.Redis | redis.asyncio.cluster.RedisCluster

# Retries after a dropped connection should be quick: the usual cause is a server restart,
# and a server that stays down must be reported while the request can still be answered.
_BACKOFF_BASE = 0.01
_BACKOFF_CAP = 0.1
_UNBOUNDED = 2**31


def _backoff() -> ExponentialWithJitterBackoff:
    return ExponentialWithJitterBackoff(base=_BACKOFF_BASE, cap=_BACKOFF_CAP)


def sync_client(settings: RedisSettings) -> tuple[SyncClient, redis.sentinel.Sentinel | None]:
    """A client for ``settings``, and the Sentinel object behind it (to close) if any."""
    kwargs = dict(settings.connection)
    retry = redis.retry.Retry(_backoff(), settings.retries)
    if settings.topology == "cluster":
        nodes = [
            redis.cluster.ClusterNode(host, port)  # type: ignore[no-untyped-call]
            for host, port in settings.nodes
        ]
        cluster = redis.cluster.RedisCluster(
            startup_nodes=nodes,
            retry=retry,
            max_connections=settings.max_connections or _UNBOUNDED,
            **kwargs,
        )
        return cluster, None
    if settings.max_connections:
        kwargs["max_connections"] = settings.max_connections
    if settings.topology == "sentinel":
        assert settings.service_name is not None
        sentinel = redis.sentinel.Sentinel(  # type: ignore[no-untyped-call]
            list(settings.nodes),
            sentinel_kwargs={**settings.sentinel, "retry": retry},
            retry=retry,
            **kwargs,
        )
        master: redis.Redis = sentinel.master_for(  # type: ignore[no-untyped-call]
            settings.service_name
        )
        return master, sentinel
    if "unix_socket_path" not in kwargs:
        kwargs["host"], kwargs["port"] = settings.nodes[0]
    return redis.Redis(retry=retry, **kwargs), None


def async_client(
    settings: RedisSettings,
) -> tuple[AsyncClient, redis.asyncio.sentinel.Sentinel | None]:
    """A new ``redis.asyncio`` client for ``settings``, and its Sentinel object if any."""
    kwargs = dict(settings.connection)
    retry = redis.asyncio.retry.Retry(_backoff(), settings.retries)
    if settings.topology == "cluster":
        nodes = [redis.asyncio.cluster.ClusterNode(host, port) for host, port in settings.nodes]
        cluster = redis.asyncio.cluster.RedisCluster(
            startup_nodes=nodes,
            retry=retry,
            max_connections=settings.max_connections or _UNBOUNDED,
            **kwargs,
        )
        return cluster, None
    if settings.max_connections:
        kwargs["max_connections"] = settings.max_connections
    if settings.topology == "sentinel":
        assert settings.service_name is not None
        sentinel = redis.asyncio.sentinel.Sentinel(  # type: ignore[no-untyped-call]
            list(settings.nodes),
            sentinel_kwargs={**settings.sentinel, "retry": retry},
            retry=retry,
            **kwargs,
        )
        return sentinel.master_for(settings.service_name), sentinel
    if "unix_socket_path" not in kwargs:
        kwargs["host"], kwargs["port"] = settings.nodes[0]
    return redis.asyncio.Redis(retry=retry, **kwargs), None
