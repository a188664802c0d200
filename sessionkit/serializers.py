"""Turning session data into bytes and back. JSON by default; never pickle."""

from __future__ import annotations

import json
import math
import re
from typing import Any, NoReturn, Protocol, runtime_checkable

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


# A \\u escape of a UTF-16 surrogate (D800-DFFF), in any case: JSON allows one, alone, but
# Python cannot encode the string it decodes to.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def _refuse_constant(name: str) -> NoReturn:
    raise ValueError(f"stored session data holds {name}, which JSON cannot write back")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):  # 1e400
        raise ValueError("stored session data holds a number too large for a float")
    return value


class JSONSerializer:
    """Compact UTF-8 JSON. Keys keep their insertion order, so equal sessions give equal bytes.

    ``loads`` refuses what ``dumps`` could not write back: ``NaN``, ``Infinity``, numbers
    beyond a float's range and lone UTF-16 surrogates (``"\\ud800"``). Such data would load
    and then fail every request that changes the session; refused, it gives an empty session.
    """

    def __init__(self) -> None:
        self._encode = json.JSONEncoder(
            separators=(",", ":"), ensure_ascii=False, allow_nan=False
        ).encode
        self._decode = json.JSONDecoder(
            parse_constant=_refuse_constant, parse_float=_finite_float
        ).decode

    def dumps(self, data: SessionData) -> bytes:
        return self._encode(data).encode()

    def loads(self, raw: bytes) -> SessionData:
        data = self._decode(raw.decode())
        if type(data) is not dict:
            raise ValueError("stored session data is not a JSON object")
        if _SURROGATE_ESCAPE.search(raw) is not None:
            # Escaped surrogate pairs decode to one character and are fine; a lone one is
            # caught by encoding the data as dumps does.
            self.dumps(data)
        return data


_ORJSON_MAX_DEPTH = 254


class ORJSONSerializer:
    """The same compact JSON through orjson (``pip install 'sessionkit[orjson]'``).

    Several times faster than the standard library both ways, which matters on every request
    that reads or changes a session. It differs from :class:`JSONSerializer` only at the edges:
    dict keys must be strings (the standard library turns ``1`` into ``"1"``), NaN and
    infinities become ``null``, integers must fit in 64 bits and nesting stops at 254 levels.
    Its ``loads`` refuses what could not be written back: orjson itself refuses NaN,
    infinities and lone surrogates, and data nested deeper than it can write is refused too.
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
        # orjson reads arrays and objects nested up to 1024 deep but writes only 254: a
        # document with 255 openers or more (so 510 bytes or more) is checked by writing it.
        if len(raw) >= 510 and raw.count(b"[") + raw.count(b"{") > _ORJSON_MAX_DEPTH:
            try:
                self._dumps(data)
            except TypeError as exc:
                raise ValueError(f"stored session data cannot be written back: {exc}") from None
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
