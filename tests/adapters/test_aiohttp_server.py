"""The aiohttp adapter over a real ``aiohttp.web`` server: ``python -m aiohttp.web`` serving
tests/adapters/aiohttp_app.py in its own process on a loopback port, driven by a
cookie-keeping HTTP client, on the memory store and on Redis."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from sessionkit import open_store
from sessionkit.netutil import wait_for_port
from sessionkit.store import SupportsClear
from sessionkit.testing import free_port

from .conftest import redis_url

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def serving(store_url: str, log: Path) -> Iterator[str]:
    port = free_port()
    command = [sys.executable, "-m", "aiohttp.web", "-H", "127.0.0.1", "-P", str(port)]
    command += ["tests.adapters.aiohttp_app:main", store_url]
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "SESSIONKIT_SECRET": "e2e-secret-0123456789abcdefghijklmnop",
    }
    with log.open("ab") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=out)
    try:
        wait_for_port("127.0.0.1", port, 15, process=process)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.send_signal(signal.SIGINT)  # aiohttp's run_app shuts down cleanly on it
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def drive(base: str) -> None:
    with httpx.Client(base_url=base, timeout=5) as client:
        assert [client.get("/").text for _ in range(3)] == ["1", "2", "3"]
        before = client.cookies["session"]
        response = client.post("/login", follow_redirects=True)
        assert response.json() == {"views": 3, "user": "ann"}
        assert client.cookies["session"] != before
        assert client.get("/stream").text == "streamed 1"
        assert client.get("/me").json() == {"views": 3, "user": "ann", "streamed": 1}
        assert client.post("/logout").text == "out"
        assert "session" not in client.cookies
        assert client.get("/untouched").headers.get("set-cookie") is None
        assert client.get("/me").json() == {}


@pytest.fixture
def log(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "server.log"
    yield path
    assert "Traceback" not in (path.read_text() if path.exists() else "")


def test_on_the_memory_store(log: Path) -> None:
    with serving("memory://", log) as base:
        drive(base)


def test_on_redis(log: Path) -> None:
    url = redis_url()
    try:
        with serving(url, log) as base:
            drive(base)
    finally:
        store = open_store(url)
        assert isinstance(store, SupportsClear)
        store.clear()
        store.close()
