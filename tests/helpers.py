"""Helpers shared by the core's tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from sessionkit.store import Swap, Version
from sessionkit.stores.memory import MemoryStore

_OPERATIONS = (
    "get", "set", "add", "replace", "delete", "touch", "get_versioned", "replace_versioned",
    "bind_user", "user_sessions", "delete_user_sessions",
)  # fmt: skip


class CountingStore(MemoryStore):
    """A real memory store that records every call made to it, to assert on store I/O."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(clock=clock)
        self.calls: list[str] = []


def _counted(name: str) -> Any:
    inner = getattr(MemoryStore, name)

    def method(self: CountingStore, *args: Any) -> Any:
        self.calls.append(name)
        return inner(self, *args)

    method.__name__ = name
    return method


for _name in _OPERATIONS:
    setattr(CountingStore, _name, _counted(_name))


def cookie_of(set_cookie: str | None) -> str:
    """The ``name=value`` pair of a Set-Cookie header, as a browser would send it back."""
    assert set_cookie is not None, "expected a Set-Cookie header"
    return set_cookie.split(";", 1)[0]


def attributes_of(set_cookie: str) -> dict[str, str]:
    """The attributes of a Set-Cookie header, lower-cased names; flags map to ''."""
    result = {}
    for part in set_cookie.split(";")[1:]:
        name, _, value = part.strip().partition("=")
        result[name.lower()] = value
    return result


class Contended(MemoryStore):
    """Before each of the next ``rivals`` compare-and-sets, ``rival()`` saves first."""

    def __init__(self) -> None:
        super().__init__()
        self.rivals = 0
        self.rival: Callable[[], object] | None = None

    def replace_versioned(self, sid: str, data: bytes, ttl: int, version: Version) -> Swap:
        rival = self.rival
        if self.rivals > 0 and rival is not None:
            self.rivals -= 1
            self.rival = None  # the rival's own save is not beaten
            rival()
            self.rival = rival
        return super().replace_versioned(sid, data, ttl, version)
