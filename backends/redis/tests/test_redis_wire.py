"""The lean asyncio client of one Redis server (:mod:`sessionkit_redis.wire`): what it
does beyond what the contract, error and fault tests show through the async twin."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import hiredis
import pytest
import redis
from redis import exceptions
from sessionkit_redis.clients import is_lean
from sessionkit_redis.settings import RedisSettings
from sessionkit_redis.wire import LeanRedis, reply_error

from sessionkit.ids import new_session_id


@pytest.mark.parametrize(
    ("url", "lean"),
    [
        ("redis://127.0.0.1:6379/0", True),
        ("redis+unix:///run/redis.sock?db=2", True),
        ("rediss://127.0.0.1:6379/0", True),
        ("redis://127.0.0.1:6379/0?ssl=true", True),
        ("redis+sentinel://127.0.0.1:26379/mymaster", False),
        ("redis+cluster://127.0.0.1:7000", False),
    ],
)
def test_one_server_gets_the_lean_client(url: str, lean: bool) -> None:
    assert is_lean(RedisSettings.from_url(url)) is lean


@pytest.mark.parametrize(
    ("reply", "kind", "message"),
    [
        ("NOSCRIPT No matching script.", exceptions.NoScriptError, "No matching script."),
        ("READONLY You can't write", exceptions.ReadOnlyError, "You can't write"),
        ("LOADING Redis is loading", exceptions.BusyLoadingError, "Redis is loading"),
        ("MASTERDOWN Link is down", exceptions.MasterDownError, "Link is down"),
        ("WRONGPASS invalid username", exceptions.AuthenticationError, "invalid username"),
        ("NOAUTH Authentication required.", exceptions.AuthenticationError, "Authentication"),
        ("NOPERM no permissions", exceptions.NoPermissionError, "no permissions"),
        ("OOM command not allowed", exceptions.OutOfMemoryError, "command not allowed"),
        ("ERR max number of clients reached", exceptions.ConnectionError, "max number"),
        ("ERR invalid password", exceptions.AuthenticationError, "invalid password"),
        ("ERR unknown command 'X'", exceptions.ResponseError, "unknown command 'X'"),
        ("ERR DB index is out of range", exceptions.ResponseError, "DB index is out of range"),
        ("WRONGTYPE Operation against a key", exceptions.ResponseError, "WRONGTYPE Operation"),
    ],
)
def test_error_replies_become_redis_pys_exceptions_with_its_messages(
    reply: str, kind: type[Exception], message: str
) -> None:
    error = reply_error(hiredis.ReplyError(reply))
    assert type(error) is kind
    assert str(error).startswith(message)


def run(test: Callable[[], Any]) -> Any:
    return asyncio.run(test())


def test_parallel_requests_share_one_connection_in_order(shared_redis_url: str) -> None:
    prefix = f"wire-{new_session_id()[:8]}:"
    client = LeanRedis(host="127.0.0.1", port=6379, socket_timeout=5)
    opened: list[object] = []
    connect = client._open

    async def counted_open() -> Any:
        opened.append(await connect())
        return opened[-1]

    client._open = counted_open  # type: ignore[method-assign]

    async def test() -> list[Any]:
        try:
            keys = [f"{prefix}{n}" for n in range(100)]
            await asyncio.gather(
                *(client.execute_command("SET", key, key.encode(), "EX", 60) for key in keys)
            )
            pipeline = client.pipeline().execute_command("GET", keys[0])
            pipeline.execute_command("GET", keys[1])
            batch, *singles = await asyncio.gather(
                pipeline.execute(), *(client.execute_command("GET", key) for key in keys)
            )
            await client.execute_command("DEL", *keys)
            return [batch, singles]
        finally:
            await client.aclose()

    batch, singles = run(test)
    assert batch == [f"{prefix}0".encode(), f"{prefix}1".encode()]
    assert singles == [f"{prefix}{n}".encode() for n in range(100)]
    assert len(opened) == 1


def test_a_cancelled_request_leaves_its_reply_to_no_one_else(shared_redis_url: str) -> None:
    first, second = (f"wire-{new_session_id()}" for _ in range(2))
    raw = redis.Redis.from_url(shared_redis_url)
    raw.set(first, b"first", ex=60)
    raw.set(second, b"second", ex=60)
    client = LeanRedis(host="127.0.0.1", port=6379, socket_timeout=5)

    async def test() -> tuple[Any, Any]:
        try:
            await client.execute_command("PING")  # connected: the next request is written at once
            cancelled = asyncio.ensure_future(client.execute_command("GET", first))
            await asyncio.sleep(0)  # it runs up to its wait for the reply
            cancelled.cancel()
            return await client.execute_command("GET", second), cancelled.cancelled()
        finally:
            await client.aclose()

    try:
        assert run(test) == (b"second", True)
    finally:
        raw.delete(first, second)
        raw.close()


def test_an_idle_connection_is_checked_before_use(make_server: Callable[..., Any]) -> None:
    server = make_server()
    raw = redis.Redis(port=server.port)
    client = LeanRedis(host="127.0.0.1", port=server.port, health_check_interval=30)

    def pings() -> int:
        return int(raw.info("commandstats").get("cmdstat_ping", {}).get("calls", 0))

    async def test() -> list[int]:
        try:
            await client.execute_command("SET", "k", b"v")
            counts = [pings()]
            await client.execute_command("GET", "k")  # used just now: no check
            counts.append(pings())
            connection = client._connection
            assert connection is not None
            connection.last_used -= 31  # idle past the interval, without waiting for it
            assert await client.execute_command("GET", "k") == b"v"
            counts.append(pings())
            assert client._connection is connection  # it answered: kept
            return counts
        finally:
            await client.aclose()

    try:
        before, unchecked, checked = run(test)
        assert (unchecked, checked) == (before, before + 1)
    finally:
        raw.close()


def test_credentials_and_database_are_sent_when_connecting(
    make_server: Callable[..., Any],
) -> None:
    server = make_server(password="right")
    raw = redis.Redis(port=server.port, password="right", db=5)
    client = LeanRedis(host="127.0.0.1", port=server.port, password="right", db=5)

    async def test() -> None:
        try:
            await client.execute_command("SET", "in-five", b"yes")
        finally:
            await client.aclose()

    try:
        run(test)
        assert raw.get("in-five") == b"yes"
    finally:
        raw.close()


def test_a_closed_connection_fails_its_waiting_requests_and_the_next_one_reconnects(
    shared_redis_url: str,
) -> None:
    client = LeanRedis(host="127.0.0.1", port=6379, socket_timeout=5)

    async def test() -> tuple[type[BaseException], bytes]:
        try:
            await client.execute_command("PING")
            connection = client._connection
            assert connection is not None
            assert connection.transport is not None
            blocked = asyncio.ensure_future(client.execute_command("BLPOP", new_session_id(), 5))
            await asyncio.sleep(0)
            connection.transport.abort()  # as a server or a network would drop it
            with pytest.raises(exceptions.ConnectionError) as raised:
                await blocked
            return raised.type, await client.execute_command("ECHO", b"again")
        finally:
            await client.aclose()

    assert run(test) == (exceptions.ConnectionError, b"again")
