"""Throwaway Redis and memcached servers on free loopback ports, and where the other stores go.

The comparison starts its own ``redis-server`` and ``memcached`` so that ``INFO commandstats``
and ``stats`` count only its own commands (the round trips per request) and nothing it writes
can touch another user's keys; both are stopped, by their process ids, when it ends.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sessionkit.netutil import free_port, wait_for_port


@dataclass(frozen=True)
class Servers:
    """Where every backend of one run lives."""

    redis_port: int
    memcached_port: int
    workdir: Path  # file stores and SQLite databases, one subdirectory per app

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.redis_port}/0"

    @property
    def memcached_address(self) -> tuple[str, int]:
        return ("127.0.0.1", self.memcached_port)


def _binary(name: str) -> str:
    path = os.environ.get(name.upper().replace("-", "_")) or shutil.which(name)
    if path is None:
        raise RuntimeError(f"{name} is not installed (apt-get install {name.split('-')[0]})")
    return path


class ServerProcesses:
    """Starts the two servers; ``stop`` ends exactly those processes."""

    def __init__(self, workdir: Path) -> None:
        self.processes: list[subprocess.Popen[bytes]] = []
        redis_port, memcached_port = free_port(), free_port()
        try:
            self.start_both(workdir, redis_port, memcached_port)
        except BaseException:
            self.stop()
            raise
        self.servers = Servers(redis_port, memcached_port, workdir)

    def start_both(self, workdir: Path, redis_port: int, memcached_port: int) -> None:
        self.start(
            [_binary("redis-server"), "--port", str(redis_port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", str(workdir)],
            redis_port,
        )  # fmt: skip
        user = ["-u", "root"] if os.geteuid() == 0 else []
        self.start(
            [_binary("memcached"), *user, "-l", "127.0.0.1", "-p", str(memcached_port),
             "-U", "0", "-m", "256", "-I", "2m"],
            memcached_port,
        )  # fmt: skip

    def start(self, command: list[str], port: int) -> None:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        self.processes.append(process)
        wait_for_port("127.0.0.1", port, 10, process=process)

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            process.wait(timeout=10)
