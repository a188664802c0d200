"""The known suspects of sessionkit's cost, measured alone, to confirm or refute each one.

``instruction_parts`` are zero-argument calls (or coroutine functions, run on one event loop)
whose instructions per call the comparison counts under callgrind, like its request loops:
a thread hop against a plain await, each serializer and Django's ``SessionBase.encode`` at
every size, pymemcache's pooled and base clients and sessionkit's memcached store, and a
Redis GET through redis-py's blocking client, redis.asyncio and the async twin's lean client.
``serializer_calls`` counts, without callgrind, how many times each adapter serialises and
parses a session per request, through a counting serializer (the public ``Serializer``
protocol) on the memory store.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from typing import Any

from sessionkit import JSONSerializer, SessionManager, open_store

from .apps import Store
from .drive import Marker
from .measure import payload, seed
from .servers import Servers
from .sessions import SECRET, SIZES, TTL, contents

Part = Callable[[], Any]
CALLS = {"300B": 200, "4KB": 50, "60KB": 10}  # calls per measured loop of a part of that size


async def _nothing() -> None:
    return None


def _noop() -> None:
    return None


def _django_session_base() -> Any:
    from django.conf import settings

    if not settings.configured:
        settings.configure(SECRET_KEY=SECRET)
    from django.contrib.sessions.backends.base import SessionBase

    return SessionBase()


def instruction_parts(servers: Servers) -> dict[str, tuple[Part, bool]]:
    """name -> (call, is a coroutine function); a name ends with the size it works on."""
    parts: dict[str, tuple[Part, bool]] = {
        "await of a coroutine 300B": (_nothing, True),
        "await asyncio.to_thread(no-op) 300B": (lambda: asyncio.to_thread(_noop), True),
    }
    orjson = SessionManager(secret=SECRET, serializer="orjson").serializer
    stdlib = JSONSerializer()
    django = _django_session_base()
    for size in SIZES:
        data, raw = contents(size), payload(size)
        encoded = django.encode(data)
        parts.update({
            f"json dumps {size}": (lambda d=data: stdlib.dumps(d), False),
            f"json loads {size}": (lambda r=raw: stdlib.loads(r), False),
            f"orjson dumps {size}": (lambda d=data: orjson.dumps(d), False),
            f"orjson loads {size}": (lambda r=raw: orjson.loads(r), False),
            f"Django SessionBase.encode {size}": (lambda d=data: django.encode(d), False),
            f"Django SessionBase.decode {size}": (lambda e=encoded: django.decode(e), False),
        })  # fmt: skip
    parts.update(memcached_parts(servers))
    parts.update(redis_parts(servers))
    return parts


def memcached_parts(servers: Servers) -> dict[str, tuple[Part, bool]]:
    from pymemcache.client.base import Client, PooledClient  # type: ignore[import-untyped]

    address, raw = servers.memcached_address, payload("300B")
    base = Client(address, no_delay=True, default_noreply=False)
    pooled = PooledClient(address, no_delay=True, default_noreply=False)
    key = secrets.token_urlsafe(32)
    base.set(key, raw, TTL)
    store = open_store(f"memcached://{address[0]}:{address[1]}?prefix=probe:")
    store.set(key, raw, TTL)
    return {
        "pymemcache Client.get 300B": (lambda: base.get(key), False),
        "pymemcache PooledClient.get 300B": (lambda: pooled.get(key), False),
        "sessionkit memcached store get 300B": (lambda: store.get(key), False),
        "pymemcache Client.set, replies on, 300B": (lambda: base.set(key, raw, TTL), False),
        "sessionkit memcached store replace 300B": (lambda: store.replace(key, raw, TTL), False),
    }


def redis_parts(servers: Servers) -> dict[str, tuple[Part, bool]]:
    import redis
    import redis.asyncio

    raw, key = payload("300B"), f"probe:{secrets.token_urlsafe(32)}"
    blocking = redis.Redis.from_url(servers.redis_url)
    blocking.set(key, raw, ex=TTL)
    asyncio_client = redis.asyncio.Redis.from_url(servers.redis_url)  # connects on first use
    twin: Any = open_store(servers.redis_url).async_store()  # sessionkit's lean client
    return {
        "redis-py Redis GET 300B": (lambda: blocking.execute_command("GET", key), False),
        "redis.asyncio Redis GET 300B": (lambda: asyncio_client.execute_command("GET", key), True),
        "sessionkit Redis async twin GET 300B": (
            lambda: twin.client.execute_command("GET", key),
            True,
        ),
    }


def calls_of(name: str) -> int:
    return CALLS[name.rsplit(" ", 1)[1]]


def run_parts(parts: dict[str, tuple[Part, bool]], before: Marker, after: Marker) -> list[str]:
    """Each part: a warm-up, then :func:`calls_of` it between ``before`` and ``after``."""
    loop = asyncio.new_event_loop()
    for name, (call, is_async) in parts.items():
        n = calls_of(name)
        if is_async:

            async def calls(count: int, mark: bool, call: Part = call) -> None:
                if mark:
                    before()
                for _ in range(count):
                    await call()
                if mark:
                    after()

            loop.run_until_complete(calls(5, False))
            loop.run_until_complete(calls(n, True))
        else:
            for _ in range(5):
                call()
            before()
            for _ in range(n):
                call()
            after()
    loop.run_until_complete(loop.shutdown_default_executor())
    loop.close()
    return list(parts)


class CountingSerializer:
    """sessionkit's JSON serializer, counting its calls."""

    def __init__(self) -> None:
        self.inner = JSONSerializer()
        self.dumps_calls = 0
        self.loads_calls = 0

    def dumps(self, data: dict[str, Any]) -> bytes:
        self.dumps_calls += 1
        return self.inner.dumps(data)

    def loads(self, raw: bytes) -> dict[str, Any]:
        self.loads_calls += 1
        return self.inner.loads(raw)


def serializer_calls(servers: Servers) -> dict[str, dict[str, tuple[float, float]]]:
    """adapter -> operation -> (dumps, loads) per request, on the memory store."""
    from . import app_asgi, app_flask, app_wsgi

    out: dict[str, dict[str, tuple[float, float]]] = {}
    for name in ("wsgi", "flask", "starlette"):
        counting = CountingSerializer()
        manager = SessionManager("memory://", secret=SECRET, max_age=TTL, serializer=counting)
        store = Store("memory", servers)
        if name == "wsgi":
            built = app_wsgi.build_with(manager)
        elif name == "flask":
            built = app_flask.build_with(manager)
        else:
            built = app_asgi.build_starlette_with(manager, store)
        out[name] = {}
        for op in ("read", "modify"):
            cookie = seed(built, "300B")
            built.driver.request(f"/{op}", cookie)
            before = (counting.dumps_calls, counting.loads_calls)
            for _ in range(10):
                built.driver.request(f"/{op}", cookie)
            out[name][op] = (
                (counting.dumps_calls - before[0]) / 10,
                (counting.loads_calls - before[1]) / 10,
            )
        built.close()
    return out
