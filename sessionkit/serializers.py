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

    Written and read by orjson where it is installed (a dependency of sessionkit on CPython:
    several times faster than the standard library at every size, which every request that
    reads or changes a session pays), else by the standard library; both write the same bytes.
    At the edges: NaN and infinities are written as ``null`` by orjson and refused by the
    standard library, and orjson refuses integers beyond 64 bits.

    ``loads`` refuses what ``dumps`` could not write back: ``NaN``, ``Infinity``, numbers
    beyond a float's range, lone UTF-16 surrogates (``"\\ud800"``) and nesting deeper than
    orjson writes. Such data would load and then fail every request that changes the
    session; refused, it gives an empty session.

    :param fast: use orjson when it is installed (default); False keeps to the standard
        library.
    """

    def __init__(self, *, fast: bool = True) -> None:
        self._encode = json.JSONEncoder(
            separators=(",", ":"), ensure_ascii=False, allow_nan=False
        ).encode
        self._decode = json.JSONDecoder(
            parse_constant=_refuse_constant, parse_float=_finite_float
        ).decode
        self._orjson_dumps = self._orjson_loads = None
        if fast:
            try:
                import orjson
            except ImportError:
                return
            self._orjson_dumps, self._orjson_loads = orjson.dumps, orjson.loads
            self._non_str_keys = orjson.OPT_NON_STR_KEYS

    def dumps(self, data: SessionData) -> bytes:
        if self._orjson_dumps is None:
            return self._encode(data).encode()
        try:
            written: bytes = self._orjson_dumps(data)
        except TypeError:
            # Keys that are not strings are written as the standard library writes them,
            # by an orjson option that costs half as much again, so only when needed;
            # anything else orjson refuses (an int beyond 64 bits) is refused.
            written = self._orjson_dumps(data, option=self._non_str_keys)
        return written

    def loads(self, raw: bytes) -> SessionData:
        if self._orjson_loads is not None:
            data = self._orjson_loads(raw)  # refuses NaN, infinities and lone surrogates
            if type(data) is not dict:
                raise ValueError("stored session data is not a JSON object")
            # orjson reads arrays and objects nested up to 1024 deep but writes only 254: a
            # document with 255 openers or more (so 510 bytes or more) is checked by writing.
            if len(raw) >= 510 and raw.count(b"[") + raw.count(b"{") > _ORJSON_MAX_DEPTH:
                try:
                    self._orjson_dumps(data)  # type: ignore[misc]
                except TypeError as exc:
                    raise ValueError(f"session data cannot be written back: {exc}") from None
            return data
        data = self._decode(raw.decode())
        if type(data) is not dict:
            raise ValueError("stored session data is not a JSON object")
        if _SURROGATE_ESCAPE.search(raw) is not None:
            # Escaped surrogate pairs decode to one character and are fine; a lone one is
            # caught by encoding the data as dumps does.
            self._encode(data).encode()
        return data


_ORJSON_MAX_DEPTH = 254


# "orjson" names the same serializer, for configurations written when it was a separate one.
SERIALIZERS: dict[str, type[Serializer]] = {"json": JSONSerializer, "orjson": JSONSerializer}


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
