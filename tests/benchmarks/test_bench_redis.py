"""SessionManager on Redis beside raw redis-py doing the same round trips with the same bytes.

Run: pytest tests/benchmarks/test_bench_redis.py --benchmarks
(Redis at SESSIONKIT_REDIS_URL, default redis://127.0.0.1:6379/0; keys under a unique prefix.)

- ``redis-lookup``: ``manager.open(cookie)`` + reading one key of an existing ~300-byte session,
  beside a raw GET of the same key.
- ``redis-save``: open, modify, commit (GET + SET XX EX) beside a raw GET + SET EX of bytes of
  the same size.
- ``redis-store-get`` and ``redis-store-replace``: the store alone beside the raw command, to
  tell the store's share of the cost from the core's (cookie, serialising).

The raw client is built from the store's own settings (timeouts, retry, pool), so the two
differ only by what sessionkit does around the commands.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from sessionkit import SessionManager
from sessionkit.ids import new_session_id
from sessionkit.testing import require_server

sessionkit_redis = pytest.importorskip("sessionkit_redis")
from sessionkit_redis.clients import sync_client  # noqa: E402

from .targets import SMALL as SESSION  # noqa: E402
from .targets import stored_cookie  # noqa: E402

URL = os.environ.get("SESSIONKIT_REDIS_URL", "redis://127.0.0.1:6379/0")
TTL = 3600


class Setup:
    """A manager with one stored session, and a raw client holding the same bytes."""

    def __init__(self) -> None:
        self.prefix = f"bench-{uuid.uuid4().hex[:12]}:"
        store = sessionkit_redis.RedisStore.from_url(f"{URL}?prefix={self.prefix}")
        self.manager = SessionManager(
            store, secret="benchmark-secret-0123456789abcdefghijklmnopqrstuv", ttl=TTL, max_age=None
        )
        self.cookie, self.sid = stored_cookie(self.manager, SESSION)
        self.raw, _ = sync_client(store.settings)
        self.key = self.prefix + "raw-" + self.sid
        self.payload: bytes = store.get(self.sid)
        assert 280 <= len(self.payload) <= 340, len(self.payload)
        self.raw.set(self.key, self.payload, ex=TTL)
        self.store_sid = new_session_id()  # for the store-only groups: the save group changes sid
        store.set(self.store_sid, self.payload, TTL)

    def close(self) -> None:
        self.manager.store.clear()  # type: ignore[attr-defined]
        self.manager.store.close()
        self.raw.delete(self.key)
        self.raw.close()


@pytest.fixture(scope="module")
def setup() -> Iterator[Setup]:
    parts = urlsplit(URL)
    require_server(parts.hostname or "127.0.0.1", parts.port or 6379, "Redis")
    setup = Setup()
    yield setup
    setup.close()


@pytest.mark.benchmark(group="redis-lookup")
def test_lookup_sessionkit(benchmark: Any, setup: Setup) -> None:
    manager, cookie = setup.manager, setup.cookie

    def lookup() -> Any:
        return manager.open(cookie)["user"]

    assert benchmark(lookup) == SESSION["user"]


@pytest.mark.benchmark(group="redis-lookup")
def test_lookup_raw(benchmark: Any, setup: Setup) -> None:
    raw, key = setup.raw, setup.key
    assert benchmark(raw.get, key) == setup.payload


@pytest.mark.benchmark(group="redis-save")
def test_save_sessionkit(benchmark: Any, setup: Setup) -> None:
    manager, cookie = setup.manager, setup.cookie

    def save() -> str | None:
        session = manager.open(cookie)
        session["views"] += 1
        return manager.commit(session)

    benchmark(save)
    assert manager.open(cookie)["views"] > SESSION["views"]


@pytest.mark.benchmark(group="redis-save")
def test_save_raw(benchmark: Any, setup: Setup) -> None:
    raw, key, payload = setup.raw, setup.key, setup.payload

    def save() -> None:
        raw.get(key)
        raw.set(key, payload, ex=TTL)

    benchmark(save)


# The store alone (no cookie, no serialising): what sessionkit-redis adds to a command.


@pytest.mark.benchmark(group="redis-store-get")
def test_store_get(benchmark: Any, setup: Setup) -> None:
    assert benchmark(setup.manager.store.get, setup.store_sid) == setup.payload


@pytest.mark.benchmark(group="redis-store-get")
def test_store_get_raw(benchmark: Any, setup: Setup) -> None:
    assert benchmark(setup.raw.get, setup.key) == setup.payload


@pytest.mark.benchmark(group="redis-store-replace")
def test_store_replace(benchmark: Any, setup: Setup) -> None:
    assert benchmark(setup.manager.store.replace, setup.store_sid, setup.payload, TTL) is True


@pytest.mark.benchmark(group="redis-store-replace")
def test_store_replace_raw(benchmark: Any, setup: Setup) -> None:
    assert benchmark(setup.raw.set, setup.key, setup.payload, ex=TTL) is True
