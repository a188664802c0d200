"""End to end: ``sessionkit demo`` as a subprocess on a free port, driven by a cookie-keeping
client, on the default file store (under uvicorn and under gunicorn with two workers) and on
Redis."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from sessionkit import open_store
from sessionkit.store import SupportsClear
from sessionkit.testing import free_port

from .conftest import redis_url
from .test_demo import HTML, TOKEN

START_TIMEOUT = 15.0


class Demo:
    """Starts and stops ``sessionkit demo`` with fixed options."""

    def __init__(self, tmp_path: Path, options: list[str]) -> None:
        self.port = free_port()
        self.options = options
        self.log = tmp_path / "demo.log"
        self.env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "data")}
        self.env.pop("SESSIONKIT_SECRET", None)  # the demo makes and keeps its own
        self.base_url = f"http://127.0.0.1:{self.port}"

    @contextmanager
    def running(self) -> Iterator[str]:
        command = [sys.executable, "-m", "sessionkit", "demo", "--port", str(self.port)]
        with self.log.open("ab") as log:
            process = subprocess.Popen(
                [*command, *self.options], stdout=log, stderr=subprocess.STDOUT, env=self.env
            )
        try:
            self._wait_ready(process)
            yield self.base_url
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def _wait_ready(self, process: subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"the demo exited with {process.returncode}:\n{self.log.read_text()}")
            try:
                if httpx.get(f"{self.base_url}/health", timeout=1).text == "ok":
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        pytest.fail(f"the demo did not answer within {START_TIMEOUT}s:\n{self.log.read_text()}")


def drive(demo: Demo) -> None:
    """Visits 1, 2, 3; a restart keeps the count; login changes the id; logout clears it;
    the login form works."""
    with httpx.Client(timeout=5) as client:
        with demo.running() as base:
            texts = [client.get(f"{base}/").text for _ in range(3)]
            assert texts == [
                "Welcome! This is your first visit.",
                "Number of visits: 2",
                "Number of visits: 3",
            ]
        with demo.running() as base:
            assert client.get(f"{base}/").text == "Number of visits: 4"
            before = client.cookies["session"]
            assert client.post(f"{base}/login", json={"user": "ann"}).json() == {"user": "ann"}
            assert client.cookies["session"] != before
            assert client.get(f"{base}/me").json() == {"views": 4, "user": "ann"}
            client.post(f"{base}/logout")
            assert "session" not in client.cookies
            assert client.get(f"{base}/").text == "Welcome! This is your first visit."
            login_page = client.get(f"{base}/login", headers=HTML)
            token = TOKEN.search(login_page.text)
            assert token is not None
            fields = {"csrf": token.group(1), "user": "bob"}
            answer = client.post(f"{base}/login", data=fields, headers=HTML)
            assert (answer.status_code, answer.headers["location"]) == (303, "/")
            assert '<span id="current-user">bob</span>' in client.get(f"{base}/session").text
    banner = demo.log.read_text()
    assert f"sessionkit demo on http://127.0.0.1:{demo.port}/" in banner


def test_default_file_store_under_uvicorn(tmp_path: Path) -> None:
    demo = Demo(tmp_path, [])
    drive(demo)
    assert f"store: file://{tmp_path}/data/sessionkit-demo/sessions" in demo.log.read_text()


def test_default_file_store_under_gunicorn_with_two_workers(tmp_path: Path) -> None:
    drive(Demo(tmp_path, ["--server", "gunicorn", "--workers", "2"]))


def test_redis_store(tmp_path: Path) -> None:
    url = redis_url()
    try:
        drive(Demo(tmp_path, ["--store", url]))
    finally:
        store = open_store(url)
        assert isinstance(store, SupportsClear)
        store.clear()
        store.close()


def test_an_unreachable_store_exits_with_one_line(tmp_path: Path) -> None:
    url = f"redis://:hunter2@127.0.0.1:{free_port()}/0"
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "sessionkit", "demo", "--store", url, "--port", str(free_port())],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
        check=False,
    )
    assert done.returncode != 0
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1
    assert "Traceback" not in done.stderr
    assert "hunter2" not in done.stderr
