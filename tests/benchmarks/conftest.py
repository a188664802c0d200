"""Options and shared fixtures of the benchmark suite.

``--bench-backend NAME`` (repeatable, or comma-separated) limits the store matrix to some
backends; ``--bench-reps N`` sets how many times each sessionkit/raw pair is measured, the
two alternating (sk, raw, sk, raw, ...) so that a noisy machine hits both alike.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from sessionkit.netutil import wait_for_port
from sessionkit.testing import free_port, require_server

from .targets import BACKENDS, SERVERS, Target

CASES = ("lookup", "save", "touch", "create")
SIZES = ("300B", "10KB")
IMPLS = ("sessionkit", "raw")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("sessionkit benchmarks")
    group.addoption(
        "--bench-backend",
        action="append",
        default=[],
        help=f"benchmark only these backends ({', '.join(BACKENDS)}); repeatable",
    )
    group.addoption(
        "--bench-reps",
        type=int,
        default=5,
        help="alternating repetitions of each sessionkit/raw pair (default 5)",
    )


def selected_backends(config: pytest.Config) -> list[str]:
    chosen = [name for value in config.getoption("--bench-backend") for name in value.split(",")]
    unknown = sorted(set(chosen) - set(BACKENDS))
    if unknown:
        raise pytest.UsageError(f"unknown backend(s) {unknown}; choose from {BACKENDS}")
    return [name for name in BACKENDS if name in chosen] if chosen else list(BACKENDS)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """The store matrix, ordered backend > case > size > repetition > implementation."""
    names = ("backend", "case", "size", "rep", "impl")
    if not set(names) <= set(metafunc.fixturenames):
        return
    reps = metafunc.config.getoption("--bench-reps")
    points = [
        (backend, case, size, rep, impl)
        for backend in selected_backends(metafunc.config)
        for case in CASES
        for size in SIZES
        for rep in range(reps)
        for impl in IMPLS
    ]
    ids = [f"{b}-{c}-{s}-r{r}-{i}" for b, c, s, r, i in points]
    metafunc.parametrize(names, points, ids=ids)


class Targets:
    """Backends made on first use and kept for the whole run; ``close`` cleans them all."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.made: dict[str, Target] = {}
        self.memcached: subprocess.Popen[bytes] | None = None
        self.memcached_address: tuple[str, int] | None = None

    def get(self, backend: str) -> Target:
        if backend not in self.made:
            if backend in SERVERS:
                require_server(*SERVERS[backend])
            address = self.start_memcached() if backend == "memcached" else None
            self.made[backend] = Target(backend, self.workdir, address)
        return self.made[backend]

    def start_memcached(self) -> tuple[str, int]:
        if self.memcached_address is not None:
            return self.memcached_address
        binary = os.environ.get("MEMCACHED") or shutil.which("memcached")
        if binary is None:
            pytest.skip("the memcached binary is not installed")
        port = free_port()
        user = ["-u", "root"] if os.geteuid() == 0 else []
        command = [binary, *user, "-l", "127.0.0.1", "-p", str(port), "-U", "0", "-m", "256"]
        self.memcached = subprocess.Popen(command)
        wait_for_port("127.0.0.1", port, 10, process=self.memcached)
        self.memcached_address = ("127.0.0.1", port)
        return self.memcached_address

    def close(self) -> None:
        for target in self.made.values():
            target.close()
        if self.memcached is not None:
            self.memcached.kill()
            self.memcached.wait(timeout=10)


@pytest.fixture(scope="session")
def targets(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Targets]:
    pool = Targets(tmp_path_factory.mktemp("skbench"))
    yield pool
    pool.close()
