"""What one round trip sends (a command, a pipeline of commands, or a registered Lua script)
and what its reply means.

Each request is sent through a :class:`Target` (the sync store or its async twin) and gives
back what that target's client gives back: the reply itself from a ``redis.Redis``, an
awaitable of it from a ``redis.asyncio.Redis``; its ``read`` turns the reply into a result.
The requests are therefore the same for both twins; only the runner that waits differs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from redis.typing import EncodableT

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
SCRIPTS = (COMPARE_AND_SET,)
R = TypeVar("R")


class Target(Protocol):
    """A client and its registered scripts (``redis.commands.core.Script`` objects, or their
    async kind), keyed by their source."""

    @property
    def client(self) -> Any: ...

    @property
    def scripts(self) -> Mapping[str, Any]: ...


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
class Script(Generic[R]):
    """A Lua script of :data:`SCRIPTS` run by its SHA-1 (EVALSHA); redis-py loads it again if
    the server has lost it (NOSCRIPT after a restart or a failover)."""

    source: str
    keys: tuple[str, ...]
    args: tuple[EncodableT, ...]
    read: Callable[[Any], R] = as_sent

    def send(self, target: Target) -> Any:
        return target.scripts[self.source](keys=self.keys, args=self.args)


@dataclass(slots=True)
class Answer(Generic[R]):
    """The result of an operation that needs no round trip (e.g. a malformed id)."""

    value: R


Request = Command[R] | Batch[R] | Script[R]
