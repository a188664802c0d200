"""Helpers shared by the core's tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

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
