"""Every store operation written once, for the sync store and its async twin alike.

An operation of one round trip checks its arguments and returns its request
(:mod:`sessionkit_redis.requests`), which knows what the reply means, or the
:class:`~sessionkit_redis.requests.Answer` when the arguments settle it (a malformed id). One
of several round trips is a generator: it yields each request, receives the reply and
returns the result. The store sends the requests with blocking calls, the twin with awaits;
neither knows a command.

Round trips: every session operation takes one. The user index, a Redis set of session ids
under ``prefix + ":user:" + user id`` (:mod:`sessionkit_redis.keys`), takes: ``bind_user``
1 (the id added, the index counted), plus, when the index reaches 32 ids and each time it
has doubled since, 1 to read it, 1 to check the other sessions and 1 to drop those that are gone;
``user_sessions`` 2 (the ids, then the sessions), plus 1 to drop ids whose session is gone;
``delete_user_sessions`` 2 (the ids, then the deletes). On a Redis Cluster the index and the
sessions live in different slots: each round trip after the first sends every node its
share as one pipeline, all at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Iterable
from typing import Any, Generic, TypeVar

from sessionkit.ids import check_session_id, check_ttl, check_user_id, is_valid_session_id
from sessionkit.store import Entry, Swap, Version

from .keys import KeySpace
from .requests import Answer, Batch, Command, CompareAndSet, Request, entry

T = TypeVar("T")
#: The size of a user's index at which a login first drops the ids of ended sessions.
PRUNE_FROM = 32
Steps = Generator["Request[Any]", Any, T]
#: An operation of one round trip, or of none when its arguments settle it.
Single = Request[T] | Answer[T]


class Running(Generic[T]):
    """An operation of several round trips under way: hands out its requests one at a time,
    then its result."""

    __slots__ = ("_steps", "result", "started")

    def __init__(self, steps: Steps[T]) -> None:
        self._steps = steps
        self.result: T
        #: When it began (``time.monotonic()``): its ``timeout`` runs from here.
        self.started = time.monotonic()

    def next(self, reply: Any) -> Request[Any] | None:
        """The next request, given the reply to the last one (None at first); None once
        the operation is done and :attr:`result` is set."""
        try:
            return self._steps.send(reply)
        except StopIteration as done:
            self.result = done.value
            return None


class Operations:
    """What each operation sends to one store's keys, and how its replies read."""

    def __init__(self, keys: KeySpace) -> None:
        self.keys = keys

    # -- sessions: one round trip each

    def get(self, sid: str) -> Single[bytes | None]:
        if not is_valid_session_id(sid):
            return Answer(None)
        return Command(("GET", self.keys.session(sid)))

    def set(self, sid: str, data: bytes, ttl: int) -> Single[None]:
        return self._write(sid, data, ttl, _nothing)

    def add(self, sid: str, data: bytes, ttl: int) -> Single[bool]:
        return self._write(sid, data, ttl, bool, "NX")

    def replace(self, sid: str, data: bytes, ttl: int) -> Single[bool]:
        return self._write(sid, data, ttl, bool, "XX")

    def delete(self, sid: str) -> Single[bool]:
        if not is_valid_session_id(sid):
            return Answer(False)
        return Command(("DEL", self.keys.session(sid)), bool)

    def touch(self, sid: str, ttl: int) -> Single[bool]:
        check_ttl(ttl)
        if not is_valid_session_id(sid):
            return Answer(False)
        return Command(("EXPIRE", self.keys.session(sid), ttl), bool)

    def _write(
        self, sid: str, data: bytes, ttl: int, read: Callable[[Any], T], *condition: str
    ) -> Command[T]:
        key = self.keys.session(check_session_id(sid))
        return Command(("SET", key, data, "EX", check_ttl(ttl), *condition), read)

    # -- versions: an entry's version is its bytes

    def get_versioned(self, sid: str) -> Single[Entry | None]:
        if not is_valid_session_id(sid):
            return Answer(None)
        return Command(("GET", self.keys.session(sid)), entry)

    def replace_versioned(self, sid: str, data: bytes, ttl: int, version: Version) -> Single[Swap]:
        key = self.keys.session(check_session_id(sid))
        check_ttl(ttl)
        if not isinstance(version, bytes):
            raise TypeError("a Redis store's version is the bytes its get_versioned returned")
        return CompareAndSet(key, (version, data, ttl))

    # -- the per-user index

    def bind_user(self, user_id: str, sid: str, ttl: int) -> Steps[None]:
        index = self.keys.index(check_user_id(user_id))
        check_session_id(sid)
        check_ttl(ttl)  # unused: the index has no TTL, since touch outlasts any given here
        _, size = yield Batch((Command(("SADD", index, sid)), Command(("SCARD", index))))
        if not _prune_at(size):
            return
        members = yield Command(("SMEMBERS", index))
        others, dead = _session_ids(member for member in members if member != sid.encode())
        if others:
            found = yield Batch(tuple(Command(("EXISTS", self.keys.session(o))) for o in others))
            dead += [
                other.encode() for other, alive in zip(others, found, strict=True) if not alive
            ]
        if dead:
            yield Command(("SREM", index, *dead))

    def user_sessions(self, user_id: str) -> Steps[dict[str, bytes]]:
        index = self.keys.index(check_user_id(user_id))
        sids, dead = _session_ids((yield Command(("SMEMBERS", index))))
        found: dict[str, bytes] = {}
        if sids:
            values = yield Batch(tuple(Command(("GET", self.keys.session(s))) for s in sids))
            for sid, data in zip(sids, values, strict=True):
                if data is None:
                    dead.append(sid.encode())
                else:
                    found[sid] = data
        if dead:
            yield Command(("SREM", index, *dead))
        return found

    def delete_user_sessions(self, user_id: str, keep: str | None = None) -> Steps[int]:
        index = self.keys.index(check_user_id(user_id))
        sids, dead = _session_ids((yield Command(("SMEMBERS", index))))
        doomed = [sid for sid in sids if sid != keep]
        forget = dead + [sid.encode() for sid in doomed]
        if not forget:
            return 0
        deletes = tuple(Command[int](("DEL", self.keys.session(sid))) for sid in doomed)
        replies = yield Batch((*deletes, Command(("SREM", index, *forget))))
        return sum(replies[:-1])


def _nothing(reply: Any) -> None:
    return None


def _prune_at(size: int) -> bool:
    """Whether a login that leaves a user's index at ``size`` ids drops those of ended
    sessions: at 32 ids, then each time the index has doubled since (64, 128 …). A login
    thus costs one round trip, and pruning, whose cost grows with the index, is paid once per
    doubling: a constant share per login however many sessions the user has."""
    return size >= PRUNE_FROM and size & (size - 1) == 0


def _session_ids(members: Iterable[bytes]) -> tuple[list[str], list[bytes]]:
    """The well-formed session ids among an index's ``members``, and the other members."""
    sids: list[str] = []
    malformed: list[bytes] = []
    for member in members:
        sid = member.decode("ascii", "replace")
        if is_valid_session_id(sid):
            sids.append(sid)
        else:
            malformed.append(member)
    return sids, malformed
