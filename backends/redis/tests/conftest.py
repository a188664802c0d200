"""Redis servers for the tests: the shared one on 127.0.0.1:6379, and throwaway ones.

Throwaway servers run ``redis-server`` (``REDIS_SERVER`` or /usr/bin/redis-server) on free
loopback ports with their files in a temporary directory, and are stopped afterwards: a
single node, a three-master Cluster, and a master watched by two Sentinels.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import redis

from sessionkit.testing import free_port, require_server

SHARED_URL = os.environ.get("SESSIONKIT_REDIS_URL", "redis://127.0.0.1:6379/0")
REDIS_SERVER = os.environ.get("REDIS_SERVER", "/usr/bin/redis-server")
STARTUP_DEADLINE = 10.0
CLUSTER_SLOTS = 16384


def wait_for(predicate: Callable[[], bool], what: str) -> None:
    end = time.monotonic() + STARTUP_DEADLINE
    while True:
        try:
            if predicate():
                return
        except (redis.RedisError, OSError):
            pass
        if time.monotonic() > end:
            raise RuntimeError(f"{what} did not come up within {STARTUP_DEADLINE} s")
        time.sleep(0.05)


class RedisServer:
    """One ``redis-server`` process on 127.0.0.1; :meth:`stop` and :meth:`start` again at will."""

    def __init__(self, directory: Path, *extra: str, sentinel: bool = False) -> None:
        self.port = free_port()
        self.directory = directory
        directory.mkdir(parents=True)
        self.config = directory / "redis.conf"
        lines = [
            f"port {self.port}",
            "bind 127.0.0.1",
            f'dir "{directory}"',
            'save ""',
            "appendonly no",
            *extra,
        ]
        self.config.write_text("\n".join(lines) + "\n")
        self.sentinel = sentinel
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis("127.0.0.1", self.port, socket_timeout=5)

    def start(self) -> RedisServer:
        command = [REDIS_SERVER, str(self.config)]
        if self.sentinel:
            command.append("--sentinel")
        log = open(self.directory / "server.log", "ab")  # noqa: SIM115 - handed to the process
        with log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        with self.client() as client:
            wait_for(lambda: bool(client.ping()), f"redis-server on port {self.port}")
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


@pytest.fixture(scope="session")
def redis_server_binary() -> str:
    if not (os.path.isfile(REDIS_SERVER) and os.access(REDIS_SERVER, os.X_OK)):
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"{REDIS_SERVER} is missing; CI expects it", pytrace=False)
        pytest.skip(f"{REDIS_SERVER} is missing")
    return REDIS_SERVER


@pytest.fixture(scope="session")
def servers_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    directory = tmp_path_factory.mktemp("redis-servers")
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


@contextmanager
def _server_factory(servers_dir: Path) -> Iterator[Callable[..., RedisServer]]:
    """A function starting throwaway servers; on exit all are stopped, newest first."""
    started: list[RedisServer] = []

    def make(*extra: str, sentinel: bool = False) -> RedisServer:
        server = RedisServer(servers_dir / uuid.uuid4().hex, *extra, sentinel=sentinel)
        started.append(server)
        return server.start()

    try:
        yield make
    finally:
        for server in reversed(started):
            server.stop()


@pytest.fixture
def make_server(
    redis_server_binary: str, servers_dir: Path
) -> Iterator[Callable[..., RedisServer]]:
    """Start throwaway servers for one test; all are stopped when it ends."""
    with _server_factory(servers_dir) as make:
        yield make


@pytest.fixture(scope="session")
def session_servers(
    redis_server_binary: str, servers_dir: Path
) -> Iterator[Callable[..., RedisServer]]:
    """Like :func:`make_server`, for servers shared by the whole test session."""
    with _server_factory(servers_dir) as make:
        yield make


@pytest.fixture(scope="session")
def shared_redis_url() -> str:
    """The long-running Redis server (``SESSIONKIT_REDIS_URL``, default 127.0.0.1:6379/0)."""
    parts = urlsplit(SHARED_URL)
    require_server(parts.hostname or "127.0.0.1", parts.port or 6379, "Redis")
    return SHARED_URL


@pytest.fixture(scope="session")
def single_url(session_servers: Callable[..., RedisServer]) -> str:
    """A throwaway single node, for tests that may touch every key of a database."""
    return session_servers().url


@pytest.fixture(scope="session")
def cluster_url(session_servers: Callable[..., RedisServer]) -> str:
    """A three-master Redis Cluster (no replicas) on throwaway servers."""
    bus_ports = [free_port() for _ in range(3)]
    nodes = [
        session_servers(
            "cluster-enabled yes",
            f"cluster-port {bus_port}",
            "cluster-config-file nodes.conf",
            "cluster-node-timeout 2000",
        )
        for bus_port in bus_ports
    ]
    clients = [node.client() for node in nodes]
    share = CLUSTER_SLOTS // len(nodes)
    for index, client in enumerate(clients):
        last = CLUSTER_SLOTS - 1 if index == len(nodes) - 1 else (index + 1) * share - 1
        client.execute_command("CLUSTER ADDSLOTSRANGE", index * share, last)
        client.execute_command("CLUSTER SET-CONFIG-EPOCH", index + 1)
    for node, bus_port in zip(nodes[1:], bus_ports[1:], strict=True):
        clients[0].execute_command("CLUSTER MEET", "127.0.0.1", node.port, bus_port)

    def ready() -> bool:
        for client in clients:
            info = client.execute_command("CLUSTER INFO")
            if info["cluster_state"] != "ok" or info["cluster_known_nodes"] != str(len(nodes)):
                return False
        return True

    wait_for(ready, "the Redis Cluster")
    for client in clients:
        client.close()
    return "redis+cluster://" + ",".join(f"127.0.0.1:{node.port}" for node in nodes)


SENTINEL_SERVICE = "sessionkit"


@pytest.fixture(scope="session")
def sentinel_url(session_servers: Callable[..., RedisServer]) -> str:
    """A master and a replica watched by two Sentinels; the URL names both Sentinels."""
    master = session_servers()
    session_servers(f"replicaof 127.0.0.1 {master.port}")
    sentinels = [
        session_servers(
            f"sentinel monitor {SENTINEL_SERVICE} 127.0.0.1 {master.port} 1",
            f"sentinel down-after-milliseconds {SENTINEL_SERVICE} 5000",
            sentinel=True,
        )
        for _ in range(2)
    ]
    for sentinel in sentinels:
        with sentinel.client() as client:
            wait_for(
                lambda client=client: client.execute_command(
                    "SENTINEL GET-MASTER-ADDR-BY-NAME", SENTINEL_SERVICE
                )
                is not None,
                "Redis Sentinel",
            )
    hosts = ",".join(f"127.0.0.1:{sentinel.port}" for sentinel in sentinels)
    return f"redis+sentinel://{hosts}/{SENTINEL_SERVICE}/0"


@pytest.fixture(scope="session")
def run_prefix() -> str:
    """A key prefix unique to this test run."""
    return f"sessionkit-test-{uuid.uuid4().hex[:12]}:"
