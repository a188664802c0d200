"""Reading a Redis store URL into the settings that its clients are built from.

URL forms (user and password are optional everywhere)::

    redis://user:password@host:6379/0                         one server, database 0
    rediss://user:password@host:6379/0                        the same over TLS
    redis+unix://user:password@/run/redis.sock?db=0           a Unix socket
    redis+sentinel://h1:26379,h2:26379/service_name/0         the master that Sentinel names
    redis+cluster://h1:7000,h2:7001                           a Redis Cluster (startup nodes)

Query options are listed in :data:`OPTION_DEFAULTS`; keyword options given to
``open_store(url, **options)`` override them and take Python values of the same meaning.
The user and password in a Sentinel URL are the data servers'; the sentinels' own are the
``sentinel_username`` and ``sentinel_password`` options; :func:`sessionkit.url.mask_url`
masks ``sentinel_password`` like the password wherever the URL is shown. ``ssl=true`` is for
the master and replicas; ``sentinel_ssl=true`` asks the sentinels over TLS too, with the same
``ssl_*`` options. ``timeout`` bounds a whole operation, retries included; each try's socket
timeouts are its share (see :mod:`sessionkit_redis.policy`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from sessionkit.errors import ConfigurationError
from sessionkit.url import StoreOptions, StoreURL

from .policy import RetryPolicy

Topology = Literal["single", "sentinel", "cluster"]

DEFAULT_PORT = 6379
DEFAULT_SENTINEL_PORT = 26379

#: Every query option with its default (None: not set, the client library decides).
OPTION_DEFAULTS: Mapping[str, object] = MappingProxyType(
    {
        "prefix": "session:",
        "timeout": 2.0,
        "connect_timeout": 1.0,
        "retries": 1,
        "max_connections": 0,
        "health_check_interval": 0,
        "db": 0,
        "ssl": False,
        "ssl_ca_certs": None,
        "ssl_certfile": None,
        "ssl_keyfile": None,
        "ssl_cert_reqs": "required",
        "ssl_check_hostname": True,
        "sentinel_username": None,
        "sentinel_password": None,
        "sentinel_ssl": False,
    }
)
_TLS_ONLY = ("ssl_ca_certs", "ssl_certfile", "ssl_keyfile", "ssl_cert_reqs", "ssl_check_hostname")
_SENTINEL_ONLY = ("sentinel_username", "sentinel_password", "sentinel_ssl")
_CERT_REQS = ("required", "optional", "none")


@dataclass(frozen=True)
class RedisSettings:
    """Everything needed to build a sync or an async client for one store.

    :param topology: ``single`` (TCP, TLS or Unix socket), ``sentinel`` or ``cluster``.
    :param masked_url: the URL with its password masked, for errors and logs.
    :param prefix: put before every session id to form its key.
    :param nodes: the server (single over TCP), the sentinels, or the cluster's startup nodes.
    :param service_name: the Sentinel service name of the master.
    :param database: the database number (None on a cluster), for error messages.
    :param policy: the operation's ``timeout`` and ``retries``, and each try's share.
    :param max_connections: the pool bound per server, None for no bound.
    :param connection: keyword arguments for every data connection (db, credentials, each
        try's timeouts, TLS, Unix socket path); left out of the repr, since it holds the
        password.
    :param sentinel: keyword arguments for the connections to the sentinels (their own
        credentials, the timeouts, TLS with ``sentinel_ssl``); empty for the other
        topologies, left out of the repr.
    """

    topology: Topology
    masked_url: str
    prefix: str
    nodes: tuple[tuple[str, int], ...]
    service_name: str | None
    database: int | None
    policy: RetryPolicy
    max_connections: int | None
    connection: Mapping[str, Any] = field(repr=False)
    sentinel: Mapping[str, Any] = field(repr=False)

    @classmethod
    def from_url(cls, url: str, **overrides: Any) -> RedisSettings:
        parsed = StoreURL.parse(url)  # its masked form hides sentinel_password too
        scheme = parsed.scheme
        if scheme not in ("redis", "rediss", "redis+unix", "redis+sentinel", "redis+cluster"):
            raise ConfigurationError(f"{parsed.masked}: not a Redis URL scheme")
        known = OPTION_DEFAULTS
        if scheme != "redis+unix":  # elsewhere the database is the URL's path
            known = {name: value for name, value in OPTION_DEFAULTS.items() if name != "db"}
        options = StoreOptions(parsed, overrides, known)
        tls = scheme == "rediss" or options.flag("ssl")
        tls_given = any(options.given(name) for name in _TLS_ONLY)
        if scheme == "redis+unix" and (tls or tls_given):  # redis-py would drop it, silently
            raise ConfigurationError(f"{parsed.masked}: TLS does not apply to a Unix socket")
        if not tls and tls_given:
            raise ConfigurationError(f"{parsed.masked}: ssl_* options need rediss:// or ssl=true")
        if scheme != "redis+sentinel" and any(options.given(name) for name in _SENTINEL_ONLY):
            raise ConfigurationError(f"{parsed.masked}: sentinel_* options need redis+sentinel://")
        sentinel_tls = options.flag("sentinel_ssl")
        if sentinel_tls and not tls:
            raise ConfigurationError(f"{parsed.masked}: sentinel_ssl=true needs ssl=true")

        policy = _policy(options, parsed)
        connection: dict[str, Any] = {
            "username": parsed.username,
            "password": parsed.password,
            "socket_timeout": policy.try_timeout,
            "socket_connect_timeout": min(options.seconds("connect_timeout"), policy.try_timeout),
            "health_check_interval": options.count("health_check_interval"),
        }
        tls_options = _tls_options(options, parsed) if tls else {}
        connection.update(tls_options)
        topology: Topology = "single"
        nodes: tuple[tuple[str, int], ...] = ()
        service_name = None
        sentinel: dict[str, Any] = {}
        if scheme == "redis+unix":
            if parsed.hosts or not parsed.path.strip("/"):
                raise ConfigurationError(
                    f"{parsed.masked}: expected redis+unix:///path/to/redis.sock"
                )
            connection["unix_socket_path"] = parsed.path
            connection["db"] = options.count("db")
        elif scheme == "redis+sentinel":
            topology = "sentinel"
            nodes = _nodes(parsed, DEFAULT_SENTINEL_PORT)
            service_name, db = _sentinel_path(parsed)
            connection["db"] = db
            sentinel = {
                "username": options.text("sentinel_username"),
                "password": options.text("sentinel_password"),
                "socket_timeout": connection["socket_timeout"],
                "socket_connect_timeout": connection["socket_connect_timeout"],
            }
            if sentinel_tls:
                sentinel.update(tls_options)
        elif scheme == "redis+cluster":
            topology = "cluster"
            nodes = _nodes(parsed, DEFAULT_PORT)
            if parsed.path.strip("/") not in ("", "0"):
                raise ConfigurationError(f"{parsed.masked}: a Redis Cluster has only database 0")
        else:
            nodes = _nodes(parsed, DEFAULT_PORT) if parsed.hosts else (("localhost", DEFAULT_PORT),)
            if len(nodes) != 1:
                raise ConfigurationError(
                    f"{parsed.masked}: several hosts need redis+sentinel:// or redis+cluster://"
                )
            connection["db"] = _database(parsed, parsed.path.strip("/") or "0")
        max_connections = options.count("max_connections")
        return cls(
            topology=topology,
            masked_url=parsed.masked,
            prefix=options.text("prefix") or "",
            nodes=nodes,
            service_name=service_name,
            database=connection.get("db"),
            policy=policy,
            max_connections=max_connections or None,
            connection=MappingProxyType(connection),
            sentinel=MappingProxyType(sentinel),
        )


def _policy(options: StoreOptions, parsed: StoreURL) -> RetryPolicy:
    try:
        return RetryPolicy(options.seconds("timeout"), options.count("retries"))
    except ConfigurationError as exc:
        raise ConfigurationError(f"{parsed.masked}: {exc}") from None


def _tls_options(options: StoreOptions, parsed: StoreURL) -> dict[str, Any]:
    cert_reqs = options.text("ssl_cert_reqs")
    if cert_reqs not in _CERT_REQS:
        raise ConfigurationError(
            f"{parsed.masked}: ssl_cert_reqs must be one of {', '.join(_CERT_REQS)}"
        )
    if options.given("ssl_keyfile") and not options.given("ssl_certfile"):
        raise ConfigurationError(f"{parsed.masked}: ssl_keyfile needs ssl_certfile")
    return {
        "ssl": True,
        "ssl_ca_certs": options.text("ssl_ca_certs"),
        "ssl_certfile": options.text("ssl_certfile"),
        "ssl_keyfile": options.text("ssl_keyfile"),
        "ssl_cert_reqs": cert_reqs,
        "ssl_check_hostname": options.flag("ssl_check_hostname"),
    }


def _nodes(parsed: StoreURL, default_port: int) -> tuple[tuple[str, int], ...]:
    if not parsed.hosts or any(not host for host, _ in parsed.hosts):
        raise ConfigurationError(f"{parsed.masked}: expected host:port[,host:port...]")
    return tuple((host, port or default_port) for host, port in parsed.hosts)


def _database(parsed: StoreURL, text: str) -> int:
    if not (text.isascii() and text.isdigit()):  # isdigit() alone takes "²"
        raise ConfigurationError(f"{parsed.masked}: database {text!r} is not a number")
    return int(text)


def _sentinel_path(parsed: StoreURL) -> tuple[str, int]:
    parts = [part for part in parsed.path.split("/") if part]
    if not 1 <= len(parts) <= 2:
        raise ConfigurationError(
            f"{parsed.masked}: expected redis+sentinel://host:port,.../service_name[/db]"
        )
    return parts[0], _database(parsed, parts[1]) if len(parts) == 2 else 0
