"""Starting and stopping the demo server (``sessionkit demo``) for a load run."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from types import TracebackType

from sessionkit.demo.config import CONCURRENCY_ENV, SECRET_ENV, STORE_ENV
from sessionkit.netutil import free_port, wait_for_port
from sessionkit.url import mask_url

HOST = "127.0.0.1"
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0

# Straight to the loopback address, whatever proxy the environment names.
_direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class ServerError(RuntimeError):
    """The demo server did not come up."""


class DemoServer:
    """``sessionkit demo`` on a free loopback port, its output in ``log``; a context manager.

    The store URL reaches the server through its environment, never its command line, so
    that no password shows in a process list. ``concurrency`` sets the demo manager's option
    of that name (left to its default when None).
    """

    def __init__(
        self,
        store_url: str,
        log: Path,
        *,
        workers: int = 1,
        server: str = "uvicorn",
        concurrency: str | None = None,
    ) -> None:
        self.store_url, self.log, self.workers, self.server = store_url, log, workers, server
        self.concurrency = concurrency
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [
            sys.executable, "-m", "sessionkit", "demo", "--host", HOST, "--port", str(self.port),
            "--workers", str(self.workers), "--server", self.server,
        ]  # fmt: skip
        # A secret of its own, so the run never writes one into the user's data directory.
        env = {**os.environ, STORE_ENV: self.store_url, SECRET_ENV: secrets.token_urlsafe(32)}
        env.pop(CONCURRENCY_ENV, None)
        if self.concurrency is not None:
            env[CONCURRENCY_ENV] = self.concurrency
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("wb") as log:
            self._process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
            )
        try:
            self._wait_healthy(self._process)
        except (OSError, RuntimeError) as exc:  # TimeoutError is an OSError
            self.stop()
            raise ServerError(
                f"the demo server on {mask_url(self.store_url)} did not start ({exc}): "
                f"{self._tail()}"
            ) from None

    def _wait_healthy(self, process: subprocess.Popen[bytes]) -> None:
        """Wait for the port, then for ``GET /health`` (a server may listen before its
        workers are ready)."""
        deadline = time.monotonic() + START_TIMEOUT
        wait_for_port(HOST, self.port, START_TIMEOUT, process=process)
        remaining = max(deadline - time.monotonic(), 1.0)
        with _direct.open(f"{self.url}/health", timeout=remaining) as answer:
            if answer.read() != b"ok":
                raise RuntimeError("GET /health did not answer ok")

    def _tail(self) -> str:
        lines = self.log.read_text(errors="replace").strip().splitlines()
        return " | ".join(lines[-3:]) or "no output"

    def stop(self) -> None:
        """Stop the server and its workers as Ctrl+C would; kill them if they linger."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def __enter__(self) -> DemoServer:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()
