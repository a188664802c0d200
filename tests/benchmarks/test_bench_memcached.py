"""memcached through SessionManager beside raw pymemcache with the same client settings.

Run: pytest tests/benchmarks/test_bench_memcached.py --benchmarks
Needs the memcached binary; a throwaway server is started on a free loopback port.

Groups, each with sessionkit and the raw client side by side:
- ``memcached-lookup``: open a request's session from its cookie and read a key
  (one get) beside a raw ``get``.
- ``memcached-save``: open, modify and commit (get + replace, Set-Cookie rendered) beside a
  raw ``get`` + ``set`` of the same bytes.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
from pymemcache.client.base import PooledClient
from sessionkit_memcached import MemcachedStore

from sessionkit import SessionManager
from sessionkit.ids import new_session_id
from sessionkit.netutil import wait_for_port
from sessionkit.testing import free_port

from .targets import SMALL as SESSION
from .targets import stored_cookie

PAYLOAD = json.dumps(SESSION, separators=(",", ":")).encode()
TTL = 14 * 24 * 3600


@pytest.fixture(scope="module")
def address() -> Iterator[tuple[str, int]]:
    binary = os.environ.get("MEMCACHED") or shutil.which("memcached")
    if binary is None:
        pytest.skip("the memcached binary is not installed")
    port = free_port()
    user = ["-u", "root"] if os.geteuid() == 0 else []
    process = subprocess.Popen([binary, *user, "-l", "127.0.0.1", "-p", str(port), "-U", "0"])
    try:
        wait_for_port("127.0.0.1", port, 10, process=process)
        yield "127.0.0.1", port
    finally:
        process.kill()
        process.wait(timeout=10)


@pytest.fixture
def store(address: tuple[str, int]) -> Iterator[MemcachedStore]:
    store = MemcachedStore.from_url(f"memcached://{address[0]}:{address[1]}")
    yield store
    store.close()


@pytest.fixture
def raw(store: MemcachedStore) -> Iterator[Any]:
    """A PooledClient configured exactly as the store's own."""
    settings = store.settings
    client = PooledClient(
        settings.servers[0],
        connect_timeout=settings.connect_timeout,
        timeout=settings.timeout,
        no_delay=True,
        default_noreply=False,
        key_prefix=settings.prefix.encode("ascii"),
    )
    yield client
    client.close()


def stored_session(store: MemcachedStore) -> tuple[SessionManager, str]:
    manager = SessionManager(
        store=store, secret="benchmark-secret-0123456789abcdefghijklmnopqrstuv", max_age=TTL
    )
    cookie, sid = stored_cookie(manager, SESSION)
    assert (store.get(sid) or b"").endswith(PAYLOAD)  # behind the metadata header and seal
    return manager, cookie


@pytest.mark.benchmark(group="memcached-lookup")
def test_sessionkit_lookup(benchmark: Any, store: MemcachedStore) -> None:
    manager, cookie = stored_session(store)

    def lookup() -> Any:
        return manager.open(cookie)["user"]

    assert benchmark(lookup) == SESSION["user"]


@pytest.mark.benchmark(group="memcached-lookup")
def test_raw_get(benchmark: Any, raw: Any) -> None:
    sid = new_session_id()
    raw.set(sid, PAYLOAD, TTL)

    assert benchmark(raw.get, sid) == PAYLOAD
    raw.delete(sid)


@pytest.mark.benchmark(group="memcached-save")
def test_sessionkit_save(benchmark: Any, store: MemcachedStore) -> None:
    manager, cookie = stored_session(store)

    def save() -> str | None:
        session = manager.open(cookie)
        session["views"] += 1
        return manager.commit(session)

    assert benchmark(save) is not None
    assert manager.open(cookie)["views"] > 1


@pytest.mark.benchmark(group="memcached-save")
def test_raw_get_and_set(benchmark: Any, raw: Any) -> None:
    sid = new_session_id()
    raw.set(sid, PAYLOAD, TTL)

    def save() -> bool:
        data = raw.get(sid)
        return bool(raw.set(sid, data, TTL))

    assert benchmark(save) is True
    raw.delete(sid)
