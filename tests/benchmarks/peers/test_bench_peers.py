"""Per-request session overhead: sessionkit beside Flask-Session, Beaker and starsessions.

Run: pytest tests/benchmarks/peers --benchmarks
Each framework's app counts visits in its session, driven by the framework's test client
with a cookie jar (so every request reads and rewrites an existing session). The bare app
serves the same route with no session; a library's overhead is its median minus the bare
median, and ``scripts/bench_table.py`` prints sessionkit's overhead as a fraction of each
peer's. Per backend and framework the three apps alternate (bare, sessionkit, peer, ...)
``--bench-reps`` times. Redis keys go under a unique prefix and are removed afterwards.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from sessionkit.testing import require_server

from ..conftest import Targets
from .apps import FRAMEWORKS, PEERS, Request


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    reps = metafunc.config.getoption("--bench-reps")
    points = [
        (framework, backend, rep, impl)
        for framework, (peer, backends) in PEERS.items()
        for backend in backends
        for rep in range(reps)
        for impl in ("bare", "sessionkit", peer)
    ]
    ids = [f"{f}-{b}-r{r}-{i}" for f, b, r, i in points]
    metafunc.parametrize(("framework", "backend", "rep", "impl"), points, ids=ids)


class Clients:
    """Each app and its test client, made once; ``close`` removes what they stored."""

    def __init__(self, workdir: Path, targets: Targets) -> None:
        self.workdir = workdir
        self.targets = targets
        self.prefix = f"skpeer-{uuid.uuid4().hex[:10]}:"
        self.made: dict[tuple[str, str, str], tuple[Request, Callable[[], None]]] = {}

    def get(self, framework: str, backend: str, impl: str) -> Request:
        key = (framework, backend, impl)
        if key not in self.made:
            if backend == "redis":
                require_server("127.0.0.1", 6379, "Redis")
            memcached = self.targets.start_memcached() if backend == "memcached" else ("", 0)
            prefix = f"{self.prefix}{framework}-{impl}:"
            url = _url(backend, self.prefix, self.workdir, memcached)
            self.made[key] = FRAMEWORKS[framework](
                impl, backend, url, prefix, self.workdir, memcached
            )
        return self.made[key][0]

    def close(self) -> None:
        for _, close in self.made.values():
            close()
        if any(backend == "redis" for _, backend, _ in self.made):
            import redis

            client = redis.Redis(host="127.0.0.1", port=6379)
            for key in client.scan_iter(match=f"{self.prefix}*"):
                client.unlink(key)
            client.close()


def _url(backend: str, prefix: str, workdir: Path, memcached: tuple[str, int]) -> str:
    from .apps import sessionkit_url

    return sessionkit_url(backend, prefix, workdir, memcached)


@pytest.fixture(scope="session")
def clients(tmp_path_factory: pytest.TempPathFactory, targets: Targets) -> Iterator[Clients]:
    pool = Clients(tmp_path_factory.mktemp("skpeers"), targets)
    yield pool
    pool.close()


def test_request(
    benchmark: Any, clients: Clients, framework: str, backend: str, rep: int, impl: str
) -> None:
    request = clients.get(framework, backend, impl)
    benchmark.group = f"peers-{framework}-{backend}"
    benchmark.extra_info.update(framework=framework, backend=backend, impl=impl, rep=rep)
    response = benchmark(request)
    assert response.status_code == 200
    if impl != "bare":  # the counter went up request after request: the session persisted
        assert int(response.text) > 1
