"""Turning session data into bytes and back. JSON by default; never pickle."""

from __future__ import annotations

import json
from typing import Any, Protocol, runtime_checkable

from .errors import ConfigurationError

SessionData = dict[str, Any]


@runtime_checkable
class Serializer(Protocol):
    """Anything with these two methods can serialise sessions.

    ``dumps`` must be deterministic (the same data gives the same bytes): the manager detects
    changes by comparing bytes. ``loads`` may raise any exception on bad input; the manager
    then treats the session as empty and logs a warning.
    """

    def dumps(self, data: SessionData) -> bytes: ...

    def loads(self, raw: bytes) -> SessionData: ...


class JSONSerializer:
    """Compact UTF-8 JSON. Keys keep their insertion order, so equal sessions give equal bytes."""

    def __init__(self) -> None:
        self._encode = json.JSONEncoder(
            separators=(",", ":"), ensure_ascii=False, allow_nan=False
        ).encode
        self._decode = json.JSONDecoder().decode

    def dumps(self, data: SessionData) -> bytes:
        return self._encode(data).encode()

    def loads(self, raw: bytes) -> SessionData:
        data = self._decode(raw.decode())
        if type(data) is not dict:
            raise ValueError("stored session data is not a JSON object")
        return data


class ORJSONSerializer:
    """The same compact JSON through orjson (``pip install 'sessionkit[orjson]'``).

    Several times faster than the standard library both ways, which matters on every request
    that reads or changes a session. It differs from :class:`JSONSerializer` only at the edges:
    dict keys must be strings (the standard library turns ``1`` into ``"1"``), NaN and
    infinities become ``null``, and integers must fit in 64 bits.
    """

    def __init__(self) -> None:
        try:
            import orjson
        except ImportError:
            raise ConfigurationError(
                "serializer 'orjson' needs orjson: pip install 'sessionkit[orjson]'"
            ) from None
        self._dumps = orjson.dumps
        self._loads = orjson.loads

    def dumps(self, data: SessionData) -> bytes:
        return self._dumps(data)

    def loads(self, raw: bytes) -> SessionData:
        data = self._loads(raw)
        if type(data) is not dict:
            raise ValueError("stored session data is not a JSON object")
        return data


SERIALIZERS: dict[str, type[Serializer]] = {"json": JSONSerializer, "orjson": ORJSONSerializer}


def get_serializer(serializer: str | Serializer) -> Serializer:
    """A serializer by name (``"json"``) or the object itself."""
    if isinstance(serializer, str):
        try:
            return SERIALIZERS[serializer]()
        except KeyError:
            names = ", ".join(sorted(SERIALIZERS))
            raise ConfigurationError(
                f"unknown serializer {serializer!r}; known: {names}, or pass an object "
                "with dumps() and loads()"
            ) from None
    if not isinstance(serializer, Serializer):
        raise ConfigurationError("serializer must be a name or have dumps() and loads()")
    return serializer
