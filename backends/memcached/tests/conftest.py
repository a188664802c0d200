"""Throwaway memcached servers for the tests.

Each :class:`MemcachedServer` runs ``memcached`` (``MEMCACHED`` or the one on ``PATH``) on a
free loopback port and is stopped afterwards. Without the binary the tests skip locally and
fail when ``CI`` is set.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from sessionkit.netutil import free_port, wait_for_port

BIND_ATTEMPTS = 5  # first starts, with fresh ports when another process took the chosen one
STARTUP_DEADLINE = 10.0


def memcached_binary() -> str:
    found = os.environ.get("MEMCACHED") or shutil.which("memcached")
    if found:
        return found
    reason = "the memcached binary is not installed (apt-get install memcached)"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{reason}; CI expects it", pytrace=False)
    pytest.skip(reason)


class MemcachedServer:
    """One ``memcached`` process on 127.0.0.1 (or a Unix socket); :meth:`stop` kills it."""

    def __init__(self, *extra: str, socket_path: Path | None = None) -> None:
        self.port = free_port()
        self.socket_path = socket_path
        self.extra = extra
        self.process: subprocess.Popen[bytes] | None = None
        self._started = False

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> MemcachedServer:
        """Start memcached. On a first start whose port another process took in the meantime
        (free_port's port is free when chosen, not when bound), try again on fresh ports."""
        first_start, attempt = not self._started, 1
        while True:
            try:
                self._start_once()
            except RuntimeError:  # it exited at once: with a TCP port, most likely taken
                if not first_start or self.socket_path is not None or attempt == BIND_ATTEMPTS:
                    raise
                attempt += 1
                self.port = free_port()
                continue
            self._started = True
            return self

    def _start_once(self) -> None:
        command = [memcached_binary()]
        if os.geteuid() == 0:
            command += ["-u", "root"]  # memcached refuses to run as root without -u
        if self.socket_path is not None:
            command += ["-s", str(self.socket_path)]
        else:
            command += ["-l", "127.0.0.1", "-p", str(self.port), "-U", "0"]
        self.process = subprocess.Popen([*command, *self.extra])
        try:
            if self.socket_path is None:
                wait_for_port("127.0.0.1", self.port, STARTUP_DEADLINE, process=self.process)
            else:
                self._wait_for_unix_socket()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None

    def command(self, line: str) -> bytes:
        """Send one text-protocol command line and return the first reply line."""
        with self._connect() as sock:
            sock.sendall(line.encode("ascii") + b"\r\n")
            reply = b""
            while not reply.endswith(b"\r\n"):
                chunk = sock.recv(4096)
                if not chunk:
                    break
                reply += chunk
        return reply.split(b"\r\n", 1)[0]

    def has(self, key: str) -> bool:
        return self.command(f"mg {key}") == b"HD"

    def remaining_ttl(self, key: str) -> int | None:
        """The item's remaining TTL as memcached reports it (-1: never expires), or None."""
        reply = self.command(f"mg {key} t")
        if not reply.startswith(b"HD"):
            return None
        return int(reply.split()[1][1:])

    def stats(self) -> dict[str, str]:
        with self._connect() as sock:
            sock.sendall(b"stats\r\n")
            data = b""
            while not data.endswith(b"END\r\n"):
                data += sock.recv(65536)
        return {
            parts[1]: parts[2]
            for parts in (line.split(" ", 2) for line in data.decode().splitlines())
            if parts[0] == "STAT"
        }

    def _connect(self) -> socket.socket:
        if self.socket_path is not None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(5)
            sock.connect(str(self.socket_path))
            return sock
        return socket.create_connection(("127.0.0.1", self.port), timeout=5)

    def _wait_for_unix_socket(self) -> None:
        """Wait until memcached answers on its Unix socket (wait_for_port speaks TCP only)."""
        assert self.process is not None
        end = time.monotonic() + STARTUP_DEADLINE
        while not self._answers():
            if self.process.poll() is not None or time.monotonic() > end:
                raise RuntimeError(f"memcached did not answer on {self.socket_path}")
            time.sleep(0.02)

    def _answers(self) -> bool:
        try:
            return self.command("version").startswith(b"VERSION")
        except OSError:
            return False


@pytest.fixture(scope="session")
def memcached_pair() -> Iterator[tuple[MemcachedServer, MemcachedServer]]:
    """Two memcached nodes shared by the whole run (tests use unique prefixes or ids)."""
    first = MemcachedServer().start()
    try:
        second = MemcachedServer().start()
    except BaseException:
        first.stop()
        raise
    yield first, second
    first.stop()
    second.stop()


@pytest.fixture
def fresh_pair() -> Iterator[tuple[MemcachedServer, MemcachedServer]]:
    """Two memcached nodes of this test's own, which it may kill."""
    servers = [MemcachedServer(), MemcachedServer()]
    try:
        for server in servers:
            server.start()
        yield servers[0], servers[1]
    finally:
        for server in servers:
            server.stop()


@pytest.fixture
def run_prefix() -> str:
    return f"sk-test-{uuid.uuid4().hex[:12]}:"
