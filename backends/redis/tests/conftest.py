"""Redis servers for the tests: the shared one on 127.0.0.1:6379, and throwaway ones.

Throwaway servers run ``redis-server`` (``REDIS_SERVER`` or /usr/bin/redis-server) on free
loopback ports with their files in a temporary directory, and are stopped afterwards: a
single node, TLS-only nodes with and without client certificates (certificates made with
the ``openssl`` command), a three-master Cluster, and a master watched by two Sentinels, with
and without passwords, and all on TLS with client certificates.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
import redis

from sessionkit.netutil import free_port, wait_for_port
from sessionkit.testing import require_server

SHARED_URL = os.environ.get("SESSIONKIT_REDIS_URL", "redis://127.0.0.1:6379/0")
REDIS_SERVER = os.environ.get("REDIS_SERVER", "/usr/bin/redis-server")
OPENSSL = shutil.which("openssl")
STARTUP_DEADLINE = 10.0
BIND_ATTEMPTS = 5  # tries with fresh ports when another process took the chosen one
CLUSTER_SLOTS = 16384


def require_binary(path: str | None, what: str) -> str:
    """``path`` if it is an executable; else skip the test, or fail it when ``CI`` is set."""
    if path is not None and os.path.isfile(path) and os.access(path, os.X_OK):
        return path
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{what} is missing; CI expects it", pytrace=False)
    pytest.skip(f"{what} is missing")


def wait_until(predicate: Callable[[], bool], what: str) -> None:
    """Poll ``predicate`` (a state of servers that are up: a cluster's, a Sentinel's)."""
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


@dataclass(frozen=True)
class Certificates:
    """A throwaway CA, a server certificate it signed for 127.0.0.1, a client certificate it
    signed, and a CA that signed nothing used here."""

    ca: Path
    cert: Path
    key: Path
    client_cert: Path
    client_key: Path
    stranger_ca: Path


class RedisServer:
    """One ``redis-server`` process on 127.0.0.1; :meth:`stop` and :meth:`start` again at will.

    With ``password`` it requires that password (``requirepass``); with ``tls`` it listens
    for TLS only, on :attr:`port`, presenting ``tls.cert``, and replicates (or, as a Sentinel,
    watches) over TLS. With ``auth_clients`` too, it requires a client certificate that the
    CA signed, and presents ``tls.client_cert`` itself to the servers it connects to.
    """

    def __init__(
        self,
        directory: Path,
        *extra: str,
        sentinel: bool = False,
        password: str | None = None,
        tls: Certificates | None = None,
        auth_clients: bool = False,
    ) -> None:
        self.port = free_port()
        self.directory = directory
        directory.mkdir(parents=True)
        self.config = directory / "redis.conf"
        if tls is None:
            listen = [f"port {self.port}"]
        else:
            listen = [
                "port 0",
                f"tls-port {self.port}",
                f'tls-cert-file "{tls.cert}"',
                f'tls-key-file "{tls.key}"',
                f'tls-ca-cert-file "{tls.ca}"',
                f'tls-client-cert-file "{tls.client_cert}"',
                f'tls-client-key-file "{tls.client_key}"',
                f"tls-auth-clients {'yes' if auth_clients else 'no'}",
                "tls-replication yes",
            ]
        if password is not None:
            listen.append(f'requirepass "{password}"')
        lines = [
            *listen,
            "bind 127.0.0.1",
            f'dir "{directory}"',
            'save ""',
            "appendonly no",
            *extra,
        ]
        self.config.write_text("\n".join(lines) + "\n")
        #: The cluster bus port, when ``extra`` sets one.
        self.bus_port = next(
            (int(line.split()[1]) for line in extra if line.startswith("cluster-port ")), None
        )
        self.sentinel = sentinel
        self.password = password
        self.tls = tls
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The store URL of database 0 (without the password)."""
        if self.tls is None:
            return f"redis://127.0.0.1:{self.port}/0"
        return f"rediss://127.0.0.1:{self.port}/0?ssl_ca_certs={quote(str(self.tls.ca))}"

    def client(self) -> redis.Redis:
        if self.tls is None:
            return redis.Redis("127.0.0.1", self.port, password=self.password, socket_timeout=5)
        return redis.Redis(
            "127.0.0.1",
            self.port,
            password=self.password,
            socket_timeout=5,
            ssl=True,
            ssl_ca_certs=str(self.tls.ca),
            ssl_certfile=str(self.tls.client_cert),
            ssl_keyfile=str(self.tls.client_key),
        )

    def start(self) -> RedisServer:
        """Start the server and return once it accepts connections (it may still be loading
        its data)."""
        command = [REDIS_SERVER, str(self.config)]
        if self.sentinel:
            command.append("--sentinel")
        attempt = 1
        while True:
            log_path = self.directory / "server.log"
            log = open(log_path, "ab")  # noqa: SIM115 - handed to the process
            with log:
                self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
            try:
                wait_for_port("127.0.0.1", self.port, STARTUP_DEADLINE, process=self.process)
                return self
            except RuntimeError:
                # free_port's port is free when chosen, not when the server binds it: on a
                # busy machine an outgoing connection may take it first. Choose again.
                taken = b"Address already in use" in log_path.read_bytes()
                if not taken or attempt == BIND_ATTEMPTS:
                    raise
                attempt += 1
                self._choose_ports()

    def _choose_ports(self) -> None:
        """New free ports for the server (and its cluster bus), written into its config."""
        old_port, self.port = self.port, free_port()
        lines = []
        for line in self.config.read_text().splitlines():
            key, _, value = line.partition(" ")
            if key in ("port", "tls-port") and value == str(old_port):
                line = f"{key} {self.port}"
            elif key == "cluster-port":
                self.bus_port = free_port()
                line = f"cluster-port {self.bus_port}"
            lines.append(line)
        self.config.write_text("\n".join(lines) + "\n")

    def freeze(self) -> None:
        """Stop the process (SIGSTOP): connections stay open and nothing answers."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.thaw()
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


@pytest.fixture(scope="session")
def redis_server_binary() -> str:
    return require_binary(REDIS_SERVER, REDIS_SERVER)


@pytest.fixture(scope="session")
def servers_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    directory = tmp_path_factory.mktemp("redis-servers")
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


@contextmanager
def _server_factory(servers_dir: Path) -> Iterator[Callable[..., RedisServer]]:
    """A function starting throwaway servers; on exit all are stopped, newest first."""
    started: list[RedisServer] = []

    def make(
        *extra: str,
        sentinel: bool = False,
        password: str | None = None,
        tls: Certificates | None = None,
        auth_clients: bool = False,
    ) -> RedisServer:
        directory = servers_dir / uuid.uuid4().hex
        server = RedisServer(
            directory,
            *extra,
            sentinel=sentinel,
            password=password,
            tls=tls,
            auth_clients=auth_clients,
        )
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
    return start_cluster(session_servers).url


@dataclass(frozen=True)
class Cluster:
    url: str
    nodes: list[RedisServer]


def start_cluster(make: Callable[..., RedisServer], node_timeout_ms: int = 2000) -> Cluster:
    """Three masters owning a third of the slots each, no replicas. A node that does not
    answer for ``node_timeout_ms`` is marked failed, which stops the whole cluster."""
    bus_ports = [free_port() for _ in range(3)]
    nodes = [
        make(
            "cluster-enabled yes",
            f"cluster-port {bus_port}",
            "cluster-config-file nodes.conf",
            f"cluster-node-timeout {node_timeout_ms}",
        )
        for bus_port in bus_ports
    ]
    clients = [node.client() for node in nodes]
    share = CLUSTER_SLOTS // len(nodes)
    for index, client in enumerate(clients):
        last = CLUSTER_SLOTS - 1 if index == len(nodes) - 1 else (index + 1) * share - 1
        client.execute_command("CLUSTER ADDSLOTSRANGE", index * share, last)
        client.execute_command("CLUSTER SET-CONFIG-EPOCH", index + 1)
    for node in nodes[1:]:
        clients[0].execute_command("CLUSTER MEET", "127.0.0.1", node.port, node.bus_port)

    def ready() -> bool:
        for client in clients:
            info = client.execute_command("CLUSTER INFO")
            if info["cluster_state"] != "ok" or info["cluster_known_nodes"] != str(len(nodes)):
                return False
        return True

    wait_until(ready, "the Redis Cluster")
    for client in clients:
        client.close()
    return Cluster("redis+cluster://" + ",".join(f"127.0.0.1:{node.port}" for node in nodes), nodes)


SENTINEL_SERVICE = "sessionkit"


def watched_master(
    make: Callable[..., RedisServer],
    *sentinel_extra: str,
    master_password: str | None = None,
    sentinel_password: str | None = None,
    tls: Certificates | None = None,
) -> str:
    """Start a master and a replica watched by two Sentinels; the URL names both Sentinels.

    ``master_password`` protects the master and the replica (and is in the URL),
    ``sentinel_password`` the Sentinels (and is not). With ``tls`` every one of them speaks
    TLS only and requires a client certificate; the URL has no TLS options then.
    """
    data_auth = () if master_password is None else (f'masterauth "{master_password}"',)
    secure = {"tls": tls, "auth_clients": tls is not None}
    master = make(*data_auth, password=master_password, **secure)
    make(f"replicaof 127.0.0.1 {master.port}", *data_auth, password=master_password, **secure)
    sentinel_auth = (
        ()
        if master_password is None
        else (f'sentinel auth-pass {SENTINEL_SERVICE} "{master_password}"',)
    )
    sentinels = [
        make(
            f"sentinel monitor {SENTINEL_SERVICE} 127.0.0.1 {master.port} 1",
            f"sentinel down-after-milliseconds {SENTINEL_SERVICE} 5000",
            *sentinel_auth,
            *sentinel_extra,
            sentinel=True,
            password=sentinel_password,
            **secure,
        )
        for _ in range(2)
    ]
    for sentinel in sentinels:
        with sentinel.client() as client:
            # The replica is known once the Sentinel has talked to the master.
            wait_until(
                lambda client=client: bool(
                    client.execute_command("SENTINEL REPLICAS", SENTINEL_SERVICE)
                ),
                "Redis Sentinel",
            )
    credentials = "" if master_password is None else f":{quote(master_password, safe='')}@"
    hosts = ",".join(f"127.0.0.1:{sentinel.port}" for sentinel in sentinels)
    return f"redis+sentinel://{credentials}{hosts}/{SENTINEL_SERVICE}/0"


@pytest.fixture(scope="session")
def sentinel_url(session_servers: Callable[..., RedisServer]) -> str:
    """A master and a replica watched by two Sentinels, no passwords anywhere."""
    return watched_master(session_servers)


@dataclass(frozen=True)
class SecuredSentinels:
    """Two Sentinels that require ``password`` (for the default user) or ``username`` with
    ``user_password``, watching a master and a replica that require a password of their own.

    :param url: the store URL, with the data servers' password and no Sentinel credentials.
    """

    url: str
    password: str
    username: str
    user_password: str


@pytest.fixture(scope="session")
def secured_sentinels(session_servers: Callable[..., RedisServer]) -> SecuredSentinels:
    token = uuid.uuid4().hex[:8]
    password = f"sentinel&pw+= /{token}"  # characters that need percent-encoding in a URL
    username, user_password = "watcher", f"watcher-{token}"
    url = watched_master(
        session_servers,
        f"user {username} on >{user_password} +@all",
        master_password=f"data&pw+= /{token}",
        sentinel_password=password,
    )
    return SecuredSentinels(url, password, username, user_password)


@pytest.fixture(scope="session")
def secured_sentinel_url(secured_sentinels: SecuredSentinels) -> str:
    """The store URL of :func:`secured_sentinels` with the Sentinels' password option."""
    password = quote(secured_sentinels.password, safe="")
    return f"{secured_sentinels.url}?sentinel_password={password}"


EC_KEY = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"


def openssl(directory: Path, command: str) -> None:
    """Run ``openssl`` with ``command`` (split at spaces) in ``directory``."""
    assert OPENSSL is not None
    result = subprocess.run(
        [OPENSSL, *command.split()], cwd=directory, capture_output=True, text=True
    )
    if result.returncode:
        raise RuntimeError(f"openssl {command} failed: {result.stderr}")


def make_ca(directory: Path, name: str) -> Path:
    openssl(
        directory,
        f"req -x509 {EC_KEY} -keyout {name}.key -out {name}.pem -days 2"
        f" -subj /CN=sessionkit-{name}"
        " -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign",
    )
    return directory / f"{name}.pem"


def issue(directory: Path, name: str, subject: str, *extensions: str) -> None:
    """Have ``ca.pem`` sign a new key ``{name}.key`` in ``{name}.pem`` with ``extensions``."""
    (directory / f"{name}.ext").write_text(
        "\n".join(
            (
                "basicConstraints = critical, CA:FALSE",
                "keyUsage = critical, digitalSignature",
                "subjectKeyIdentifier = hash",
                "authorityKeyIdentifier = keyid",
                *extensions,
            )
        )
        + "\n"
    )
    openssl(directory, f"req -new {EC_KEY} -keyout {name}.key -out {name}.csr -subj {subject}")
    openssl(
        directory,
        f"x509 -req -in {name}.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2"
        f" -extfile {name}.ext -out {name}.pem",
    )


@pytest.fixture(scope="session")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    """Made with the ``openssl`` command; the server certificate names IP 127.0.0.1 only."""
    require_binary(OPENSSL, "the openssl command")
    directory = tmp_path_factory.mktemp("certificates")
    ca = make_ca(directory, "ca")
    stranger_ca = make_ca(directory, "stranger-ca")
    issue(
        directory,
        "server",
        "/CN=127.0.0.1",
        "extendedKeyUsage = serverAuth",
        "subjectAltName = IP:127.0.0.1",
    )
    issue(directory, "client", "/CN=sessionkit-client", "extendedKeyUsage = clientAuth")
    return Certificates(
        ca=ca,
        cert=directory / "server.pem",
        key=directory / "server.key",
        client_cert=directory / "client.pem",
        client_key=directory / "client.key",
        stranger_ca=stranger_ca,
    )


@pytest.fixture(scope="session")
def tls_server(
    session_servers: Callable[..., RedisServer], certificates: Certificates
) -> RedisServer:
    """A single node that speaks TLS only; its URL trusts :func:`certificates`' CA."""
    return session_servers(tls=certificates)


@pytest.fixture(scope="session")
def tls_url(tls_server: RedisServer) -> str:
    """``rediss://`` to :func:`tls_server`, with the ``ssl_ca_certs`` option."""
    return tls_server.url


CLIENT_AUTH_PASSWORD = "tls&client pw"


@pytest.fixture(scope="session")
def client_auth_server(
    session_servers: Callable[..., RedisServer], certificates: Certificates
) -> RedisServer:
    """A single node that speaks TLS only and requires a client certificate
    (``tls-auth-clients yes``) that :func:`certificates`' CA signed, and the password
    :data:`CLIENT_AUTH_PASSWORD`."""
    return session_servers(tls=certificates, auth_clients=True, password=CLIENT_AUTH_PASSWORD)


@pytest.fixture(scope="session")
def tls_sentinel_url(
    session_servers: Callable[..., RedisServer], certificates: Certificates
) -> str:
    """A master, a replica and two Sentinels, each speaking TLS only and requiring a client
    certificate; the URL asks all of them over TLS, with the client certificate."""
    files = {
        "ssl_ca_certs": certificates.ca,
        "ssl_certfile": certificates.client_cert,
        "ssl_keyfile": certificates.client_key,
    }
    query = "&".join(f"{name}={quote(str(path))}" for name, path in files.items())
    return f"{watched_master(session_servers, tls=certificates)}?ssl=true&sentinel_ssl=true&{query}"


@pytest.fixture(scope="session")
def run_prefix() -> str:
    """A key prefix unique to this test run."""
    return f"sessionkit-test-{uuid.uuid4().hex[:12]}:"
