"""What one round trip sends (a command, a pipeline of commands, or a registered Lua script)
and what its reply means.

Each request is sent through a :class:`Target` (the sync store or its async twin) and gives
back what that target's client gives back: the reply itself from a ``redis.Redis``, an
awaitable of it from a ``redis.asyncio.Redis``; its ``read`` turns the reply into a result.
The requests are therefore the same for both twins; only the runner that waits differs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from redis.exceptions import NoScriptError
from redis.typing import EncodableT

from sessionkit.store import GONE, Entry, Swap, new_record

#: Compare-and-set by content: write ARGV[2] with a TTL of ARGV[3] seconds only if the key
#: still holds ARGV[1]. Replies 1 when written, the value the key holds now when that is
#: another, nil when the key is gone. One key, so it runs on a Redis Cluster too.
COMPARE_AND_SET = """
local current = redis.call('GET', KEYS[1])
if not current then
  return false
end
if current ~= ARGV[1] then
  return current
end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
return 1
"""
COMPARE_AND_SET_SHA = hashlib.sha1(COMPARE_AND_SET.encode()).hexdigest()  # noqa: S324 - Redis's script id
R = TypeVar("R")
R_co = TypeVar("R_co", covariant=True)


class Target(Protocol):
    """A client: a ``redis.Redis`` or ``redis.cluster.RedisCluster``, or their async kind."""

    @property
    def client(self) -> Any: ...

    @property
    def is_async(self) -> bool: ...


class Request(Protocol[R_co]):
    """A round trip: what to send, and what the reply means."""

    def send(self, target: Target) -> Any:
        """Send it: the reply from a sync client, an awaitable of it from an async one."""

    def read(self, reply: Any) -> R_co:
        """The result that ``reply`` means."""


def as_sent(reply: Any) -> Any:
    """The reply as redis-py parsed it."""
    return reply


@dataclass(slots=True)
class Command(Generic[R]):
    """One Redis command, e.g. ``Command(("GET", key))``, and what its reply means."""

    args: tuple[EncodableT, ...]
    read: Callable[[Any], R] = as_sent

    def send(self, target: Target) -> Any:
        return target.client.execute_command(*self.args)


@dataclass(slots=True)
class Batch(Generic[R]):
    """Commands sent together in one pipeline (not a transaction); the reply is the list of
    their replies. A cluster client sends each node its share at once."""

    commands: tuple[Command[Any], ...]
    read: Callable[[Any], R] = as_sent

    def send(self, target: Target) -> Any:
        pipeline = target.client.pipeline(transaction=False)
        for command in self.commands:
            pipeline.execute_command(*command.args)
        return pipeline.execute()


@dataclass(slots=True)
class CompareAndSet:
    """Write ``data`` to ``key`` for ``ttl`` seconds if it still holds ``version``: the
    :data:`COMPARE_AND_SET` script run by its SHA-1 (EVALSHA). A server that has lost the
    script (NOSCRIPT: after a restart, or a failover to a replica that never ran it) is sent
    the script itself (EVAL), which also caches it there again. Made with ``key`` and
    ``args=(version, data, ttl)``.

    redis-py's ``Script`` object does the same, at some 25,000 more instructions a call
    (about a tenth of a save): the command is sent here as it is.
    """

    key: str
    args: tuple[bytes, bytes, int]

    def send(self, target: Target) -> Any:
        if target.is_async:
            return self._send_async(target.client)
        try:
            return target.client.execute_command(
                "EVALSHA", COMPARE_AND_SET_SHA, 1, self.key, *self.args
            )
        except NoScriptError:
            return target.client.execute_command("EVAL", COMPARE_AND_SET, 1, self.key, *self.args)

    async def _send_async(self, client: Any) -> Any:
        try:
            return await client.execute_command(
                "EVALSHA", COMPARE_AND_SET_SHA, 1, self.key, *self.args
            )
        except NoScriptError:
            return await client.execute_command("EVAL", COMPARE_AND_SET, 1, self.key, *self.args)

    def read(self, reply: bytes | int | None) -> Swap:
        if reply is None:
            return GONE
        data = self.args[1]
        # Holding our own bytes: a try whose reply was lost had written them already.
        if reply == 1 or reply == data:
            return new_record(Swap, (True, new_record(Entry, (data, data))))
        assert isinstance(reply, bytes)
        return new_record(Swap, (False, new_record(Entry, (reply, reply))))


def entry(data: bytes | None) -> Entry | None:
    """What GET's reply means for a versioned read: an entry's version is its bytes."""
    return None if data is None else new_record(Entry, (data, data))


@dataclass(slots=True)
class Answer(Generic[R]):
    """The result of an operation that needs no round trip (e.g. a malformed id)."""

    value: R
