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

from sessionkit.testing import free_port
from sessionkit.url import mask_url

HOST = "127.0.0.1"
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0

# Straight to the loopback address, whatever proxy the environment names.
_direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class ServerError(RuntimeError):
    """The demo server did not come up."""


class DemoServer:
    """``sessionkit demo`` on a free loopback port, its output in ``log``; a context manager."""

    def __init__(self, store_url: str, log: Path, *, workers: int = 1, server: str = "uvicorn"):
        self.store_url, self.log, self.workers, self.server = store_url, log, workers, server
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [
            sys.executable, "-m", "sessionkit", "demo", "--store", self.store_url,
            "--host", HOST, "--port", str(self.port),
            "--workers", str(self.workers), "--server", self.server,
        ]  # fmt: skip
        # A secret of its own, so the run never writes one into the user's data directory.
        env = {**os.environ, "SESSIONKIT_SECRET": secrets.token_urlsafe(32)}
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("wb") as log:
            self._process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
            )
        self._wait_healthy()

    def _wait_healthy(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise ServerError(f"the demo server exited: {self._tail()}")
            try:
                with _direct.open(f"{self.url}/health", timeout=1) as answer:
                    if answer.read() == b"ok":
                        return
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()
        raise ServerError(
            f"the demo server on {mask_url(self.store_url)} did not answer /health "
            f"within {START_TIMEOUT:.0f} s: {self._tail()}"
        )

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
