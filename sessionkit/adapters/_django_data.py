"""A session's data as Django's ``SessionBase`` holds it: a dict, whose values a lazy load
left in their stored form until first read.

Django reads ``_session`` as a dict (``[]``, ``get``, ``items``, ``pop``...). A subclass that
reads a deferred value wherever one could leave it keeps the lazy load of
:class:`~sessionkit.serializers.LoadsLazily` (a request pays for the values it uses) without
Django noticing. Copies made through the mapping protocol (``dict(data)``, ``{**data}``) read
every value first: the class defines ``__iter__``, which makes CPython copy it key by key.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from ..serializers import DEFERRED, read_deferred

_MISSING = object()


class DeferredValues(dict[str, Any]):
    """``data`` (as a copy), reading a deferred value with ``read`` when first used."""

    __slots__ = ("_read",)

    def __init__(self, data: dict[str, Any], read: Callable[[Any], Any]) -> None:
        super().__init__(data)
        self._read = read

    def __getitem__(self, key: str) -> Any:
        value = dict.__getitem__(self, key)
        if type(value) is DEFERRED:
            value = self._read(value)
            dict.__setitem__(self, key, value)
        return value

    def __iter__(self) -> Iterator[str]:
        return dict.__iter__(self)

    def get(self, key: str, default: Any = None) -> Any:
        return self[key] if key in self else default  # noqa: SIM401 - dict.get would skip the read

    def setdefault(self, key: str, default: Any = None) -> Any:
        return self[key] if key in self else dict.setdefault(self, key, default)

    def pop(self, key: str, default: Any = _MISSING) -> Any:
        if key in self:
            value = self[key]
            dict.__delitem__(self, key)
            return value
        if default is _MISSING:
            raise KeyError(key)
        return default

    def popitem(self) -> tuple[str, Any]:
        self.read_all()
        return dict.popitem(self)

    def values(self) -> Any:
        self.read_all()
        return dict.values(self)

    def items(self) -> Any:
        self.read_all()
        return dict.items(self)

    def __eq__(self, other: object) -> bool:
        self.read_all()
        return dict.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not self == other

    def copy(self) -> dict[str, Any]:
        self.read_all()
        return dict(dict.items(self))

    def read_all(self) -> None:
        """Read every value still deferred."""
        read_deferred(self, self._read)
