"""Store round trips per aiohttp request, counted by the Redis server itself on a throwaway
``redis-server``: the requests it read (INFO ``total_reads_processed``), so that the GET and
SET a compare-and-set script runs inside the server are not taken for round trips: lookup 1,
save 1, untouched 0."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from aiohttp.test_utils import TestClient, TestServer

from sessionkit import SessionManager, available_backends
from sessionkit.netutil import free_port, wait_for_port

from .aiohttp_app import make_app

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def redis_port(tmp_path: Path) -> Iterator[int]:
    binary = shutil.which("redis-server")
    if binary is None or "redis" not in available_backends():
        pytest.skip("needs redis-server and sessionkit-redis")
    port = free_port()
    command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    command += ["--appendonly", "no", "--dir", str(tmp_path)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port("127.0.0.1", port, 10, process=process)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


def reads(observer: redis.Redis) -> int:
    """Requests the server has read from its clients so far, this INFO's own included."""
    return int(observer.info("stats")["total_reads_processed"])


async def test_lookup_one_save_one_untouched_none(redis_port: int) -> None:
    manager = SessionManager(
        f"redis://127.0.0.1:{redis_port}/0?prefix=trips:", "secret-0123456789abcdefghijklmnopqrstuv"
    )
    observer = redis.Redis("127.0.0.1", redis_port)
    seen = {}
    async with TestClient(TestServer(make_app(manager))) as client:
        await client.get("/")  # a new session, and the client's connection set up
        await client.get("/")  # the compare-and-set script loaded into the server
        for name, path in [("read", "/me"), ("modify", "/"), ("untouched", "/untouched")]:
            before = reads(observer)
            assert (await client.get(path)).status == 200
            seen[name] = reads(observer) - before - 1
        before = reads(observer)
        client.session.cookie_jar.clear()
        await client.get("/")
        seen["new"] = reads(observer) - before - 1
    await manager.aclose()
    observer.close()
    assert seen == {"read": 1, "modify": 2, "untouched": 0, "new": 1}
