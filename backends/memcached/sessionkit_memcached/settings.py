"""Reading a memcached store URL into the settings that its client is built from.

URL forms::

    memcached://host:11211                  one node (the port defaults to 11211)
    memcached://h1:11211,h2:11212           several nodes; sessions are spread by rendezvous hashing
    memcached+unix:///run/memcached.sock    one node on a Unix socket

Query options are listed in :data:`OPTION_DEFAULTS`; keyword options given to
``open_store(url, **options)`` override them and take Python values of the same meaning.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from sessionkit.errors import ConfigurationError
from sessionkit.ids import MAX_ID_LENGTH
from sessionkit.url import StoreOptions, StoreURL

DEFAULT_PORT = 11211
#: The longest session id a store accepts: keys and item sizes are reckoned with it.
SESSION_ID_LENGTH = MAX_ID_LENGTH
MAX_KEY_LENGTH = 250
# A key may hold printable ASCII only: memcached's text protocol splits on spaces and
# control characters.
_KEY_CHARS = re.compile(r"[\x21-\x7e]*")

#: Every query option with its default.
OPTION_DEFAULTS: Mapping[str, object] = MappingProxyType(
    {
        "prefix": "session:",
        "connect_timeout": 1.0,
        "timeout": 1.0,
        "pool_size": 0,
        "dead_retry": 30.0,
        "max_item_size": 1024 * 1024,
    }
)

#: A node: ``(host, port)`` or the path of a Unix socket.
Server = tuple[str, int] | str


@dataclass(frozen=True)
class MemcachedSettings:
    """Everything needed to build the client of one store.

    :param masked_url: the URL with any password masked, for errors and logs.
    :param servers: the nodes; more than one spreads sessions over them.
    :param prefix: put before every session id to form its key.
    :param connect_timeout: seconds to wait for a new connection.
    :param timeout: seconds to wait for the server to take a command or answer it, and for a
        free connection when ``pool_size`` connections are all busy.
    :param pool_size: the most connections per node, None for no bound.
    :param dead_retry: seconds a failed node stays out of the ring (several nodes only).
    :param max_item_size: the server's item size limit (``memcached -I``), in bytes.
    """

    masked_url: str
    servers: tuple[Server, ...]
    prefix: str
    connect_timeout: float
    timeout: float
    pool_size: int | None
    dead_retry: float
    max_item_size: int

    @classmethod
    def from_url(cls, url: str, **overrides: Any) -> MemcachedSettings:
        parsed = StoreURL.parse(url)
        if parsed.scheme not in ("memcached", "memcached+unix"):
            raise ConfigurationError(f"{parsed.masked}: not a memcached URL scheme")
        options = StoreOptions(parsed, overrides, OPTION_DEFAULTS)
        if parsed.username is not None or parsed.password is not None:
            raise ConfigurationError(
                f"{parsed.masked}: memcached has no user or password to give in the URL"
            )
        pool_size = options.count("pool_size")
        return cls(
            masked_url=parsed.masked,
            servers=_servers(parsed),
            prefix=_prefix(options.text("prefix") or "", parsed),
            connect_timeout=options.seconds("connect_timeout"),
            timeout=options.seconds("timeout"),
            pool_size=pool_size or None,
            dead_retry=options.seconds("dead_retry"),
            max_item_size=options.count("max_item_size", minimum=1024),
        )


def node_name(server: Server) -> str:
    """How a node is shown in errors and logs: ``host:port``, ``[v6]:port`` or a socket path."""
    if isinstance(server, str):
        return server
    host, port = server
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _servers(parsed: StoreURL) -> tuple[Server, ...]:
    if parsed.scheme == "memcached+unix":
        if parsed.hosts or not parsed.path.strip("/"):
            raise ConfigurationError(
                f"{parsed.masked}: expected memcached+unix:///path/to/memcached.sock"
            )
        return (parsed.path,)
    if parsed.path.strip("/"):
        raise ConfigurationError(
            f"{parsed.masked}: memcached has no databases; expected memcached://host:port[,...]"
        )
    if not parsed.hosts:
        return (("127.0.0.1", DEFAULT_PORT),)
    if any(not host for host, _ in parsed.hosts):
        raise ConfigurationError(f"{parsed.masked}: expected memcached://host:port[,host:port...]")
    servers = tuple((host, port or DEFAULT_PORT) for host, port in parsed.hosts)
    if len(set(servers)) != len(servers):
        raise ConfigurationError(f"{parsed.masked}: a node is listed twice")
    return servers


def _prefix(prefix: str, parsed: StoreURL) -> str:
    if _KEY_CHARS.fullmatch(prefix) is None:
        raise ConfigurationError(
            f"{parsed.masked}: prefix {prefix!r} may hold printable ASCII only, "
            "no spaces or control characters"
        )
    if len(prefix) + SESSION_ID_LENGTH > MAX_KEY_LENGTH:
        raise ConfigurationError(
            f"{parsed.masked}: prefix is {len(prefix)} characters; memcached keys are at most "
            f"{MAX_KEY_LENGTH} bytes, so it may be at most {MAX_KEY_LENGTH - SESSION_ID_LENGTH}"
        )
    return prefix
