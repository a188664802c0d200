"""Behaviour beyond the contract: unreachable servers, recovery, key ownership, Unix sockets
and the async twin's clients."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
import redis
from sessionkit_redis import AsyncRedisStore

import sessionkit
from sessionkit.errors import StoreUnavailableError
from sessionkit.ids import new_session_id
from sessionkit.testing import free_port

from .helpers import FAST, open_redis


def test_unreachable_server_raises_with_the_masked_url() -> None:
    store = open_redis(f"redis://app:hunter2@127.0.0.1:{free_port()}/0?{FAST}")
    try:
        for call in (
            lambda: store.get(new_session_id()),
            lambda: store.set(new_session_id(), b"x", 60),
            lambda: store.touch(new_session_id(), 60),
            store.count,
        ):
            with pytest.raises(StoreUnavailableError) as info:
                call()
            assert info.value.url == store.settings.masked_url
            assert "app:***@127.0.0.1" in str(info.value)
            assert "hunter2" not in str(info.value)
    finally:
        store.close()


def test_async_twin_raises_store_unavailable_too() -> None:
    store = open_redis(f"redis://127.0.0.1:{free_port()}/0?{FAST}")

    async def scenario() -> None:
        astore = store.async_store()
        try:
            with pytest.raises(StoreUnavailableError):
                await astore.get(new_session_id())
            with pytest.raises(StoreUnavailableError):
                await astore.add(new_session_id(), b"x", 60)
        finally:
            await astore.close()

    asyncio.run(scenario())
    store.close()


def test_the_same_store_recovers_when_the_server_restarts(
    make_server: Callable[..., Any],
) -> None:
    server = make_server()
    store = open_redis(f"{server.url}?prefix=restart:&{FAST}")
    sid = new_session_id()
    try:
        store.set(sid, b"before", 60)
        server.stop()
        with pytest.raises(StoreUnavailableError):
            store.get(sid)
        with pytest.raises(StoreUnavailableError):
            store.replace(sid, b"while-down", 60)
        server.start()
        assert store.get(sid) is None, "the throwaway server keeps nothing across restarts"
        assert store.add(sid, b"after", 60) is True
        server.stop()
        server.start()  # the pooled connection is now stale; no call failed in between
        assert store.get(sid) is None
        assert store.add(sid, b"again", 60) is True
        assert store.get(sid) == b"again"
    finally:
        store.close()


def test_count_and_clear_touch_only_this_stores_keys(single_url: str) -> None:
    prefix = "glob*[?]:"  # SCAN pattern characters must match literally
    store = open_redis(f"{single_url}?prefix={prefix.replace('?', '%3F')}")
    raw = redis.Redis.from_url(single_url)
    sid, short = new_session_id(), "abcdefgh"
    bystanders = {
        b"globX[?]:" + new_session_id().encode(): b"other prefix, same pattern",
        b"globX[?]::user:ada": b"another prefix's index, same pattern",
        prefix.encode() + b"not-a-session-id".ljust(43, b"-") + b"!": b"wrong shape",
        prefix.encode() + b"short": b"too short for an id",
        prefix.encode() + b"\xff" * 43: b"not ascii",
        new_session_id().encode(): b"no prefix",
        b":user:ada": b"no prefix, an index's shape",
    }
    try:
        raw.mset(bystanders)
        store.set(sid, b"mine", 60)
        store.set(short, b"the shortest id", 60)
        store.bind_user("ada", sid, 60)
        assert raw.exists(prefix + ":user:ada") == 1
        assert store.count() == 2, "sessions only, not the index"
        store.clear()
        assert store.get(sid) is None
        assert store.count() == 0
        assert raw.exists(prefix + ":user:ada") == 0
        assert raw.mget(list(bystanders)) == list(bystanders.values())
    finally:
        raw.delete(*bystanders)
        raw.close()
        store.close()


def test_unix_socket(make_server: Callable[..., Any], tmp_path: Any) -> None:
    socket_path = tmp_path / "redis.sock"
    make_server(f"unixsocket {socket_path}", "unixsocketperm 700")
    store = open_redis(f"redis+unix://{socket_path}?db=3&prefix=unix:")
    sid = new_session_id()
    try:
        store.set(sid, b"over a socket", 60)
        assert store.get(sid) == b"over a socket"
        assert store.client.connection_pool.connection_kwargs["db"] == 3  # type: ignore[union-attr]
    finally:
        store.delete(sid)
        store.close()


def test_each_async_twin_has_its_own_client_for_its_own_event_loop(
    shared_redis_url: str, run_prefix: str
) -> None:
    store = open_redis(f"{shared_redis_url}?prefix={run_prefix}")
    sid = new_session_id()
    store.set(sid, b"shared", 60)

    async def read() -> tuple[AsyncRedisStore, bytes | None]:
        astore = sessionkit.as_async(store)
        assert isinstance(astore, AsyncRedisStore)
        try:
            return astore, await astore.get(sid)
        finally:
            await astore.close()

    try:
        first, first_data = asyncio.run(read())
        second, second_data = asyncio.run(read())  # a new loop: the twin must not be reused
        assert first_data == second_data == b"shared"
        assert first is not second
        assert first.client is not second.client
    finally:
        store.delete(sid)
        store.close()
