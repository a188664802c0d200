"""Turning session data into bytes and back. JSON by default; never pickle."""

from __future__ import annotations

import base64
import json
import math
import re
import uuid
from collections.abc import Callable
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any, NoReturn, Protocol, cast, runtime_checkable

from .errors import ConfigurationError, SessionKitError

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


@runtime_checkable
class LoadsTrusted(Protocol):
    """A serializer that can skip, for bytes it wrote itself, the checks its ``loads`` makes
    for what it could not have written. The manager reads stored sessions with it when the
    store protection (``protect="sign"`` or ``"encrypt"``) has verified that a sessionkit
    holding the secret wrote them."""

    def loads_trusted(self, raw: bytes) -> SessionData: ...


@runtime_checkable
class LoadsLazily(Protocol):
    """A serializer that can read a stored session it wrote itself one top-level value at a
    time. ``loads_lazy`` gives the session with every value still in its stored form (a
    :data:`DEFERRED`), ``load_value`` reads one such value, and ``dumps`` writes the ones
    never read back as they were stored. ``lazy`` says whether it can (its libraries are
    installed)."""

    lazy: bool

    def loads_lazy(self, raw: bytes) -> SessionData: ...

    def load_value(self, value: Any) -> Any: ...


try:
    from msgspec import Raw as _Raw
    from msgspec.json import Decoder as _Decoder
except ImportError:  # pragma: no cover - msgspec is a dependency on CPython
    _Raw = _Decoder = None  # type: ignore[assignment,misc]

#: The type of a stored value not read yet (``msgspec.Raw``), or None without msgspec.
DEFERRED: type | None = _Raw
#: The size from which :meth:`JSONSerializer.loads_lazy` leaves values unread (a save of a
#: 300-byte session cost 4% more read lazily, a 4 KB one 16% less).
LAZY_FROM = 1024


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
        self.lazy = False
        if fast:
            try:
                import orjson
            except ImportError:
                return
            self._orjson_dumps, self._orjson_loads = orjson.dumps, orjson.loads
            self._non_str_keys = orjson.OPT_NON_STR_KEYS
            self._fragment = orjson.Fragment
            if _Decoder is not None:
                self._split = _Decoder(dict[str, _Raw]).decode
                self.lazy = True

    def dumps(self, data: SessionData) -> bytes:
        if self._orjson_dumps is None:
            return self._encode(data).encode()
        try:
            written: bytes = self._orjson_dumps(data, default=self._write_deferred)
        except TypeError:
            # Keys that are not strings are written as the standard library writes them,
            # by an orjson option that costs half as much again, so only when needed;
            # anything else orjson refuses (an int beyond 64 bits) is refused.
            written = self._orjson_dumps(
                data, default=self._write_deferred, option=self._non_str_keys
            )
        return written

    def _write_deferred(self, value: Any) -> Any:
        """A value never read since it was loaded lazily: its stored bytes, as they were."""
        if type(value) is _Raw:
            return self._fragment(bytes(value))
        raise TypeError(f"Type is not JSON serializable: {type(value).__name__}")

    def loads_lazy(self, raw: bytes) -> SessionData:
        """The session object ``raw`` holds, with each value left as its stored bytes (a
        :data:`DEFERRED`) until :meth:`load_value` reads it: a request pays for reading the
        values it uses, not for the whole session (at 60 KB, finding the values costs a
        quarter of reading them all). For bytes this serializer wrote only, as
        :meth:`loads_trusted`. A session under :data:`LAZY_FROM` bytes is read whole: there,
        finding the values and writing unread ones back cost more than reading them all,
        unless one of its values cannot be read (a number beyond a float's range): then it
        is left as stored too, as it would be in a larger session, and not the whole
        session refused."""
        if len(raw) < LAZY_FROM:
            try:
                data = self._orjson_loads(raw)  # type: ignore[misc] # loads_trusted, uncalled
            except ValueError:
                pass
            else:
                if type(data) is dict:
                    return data
        return self._split(raw)

    def load_value(self, value: Any) -> Any:
        """Read one value that :meth:`loads_lazy` left as it was stored.

        :raises ValueError: for a number beyond a float's range (``1e400``), the one thing
            that finding the values lets through and reading them does not; this serializer
            never writes one.
        """
        return self._orjson_loads(memoryview(value))  # type: ignore[misc]

    def loads(self, raw: bytes) -> SessionData:
        data = self.loads_trusted(raw)
        if self._orjson_loads is not None:
            # orjson reads arrays and objects nested up to 1024 deep but writes only 254: a
            # document with 255 openers or more (so 510 bytes or more) is checked by writing.
            if len(raw) >= 510 and raw.count(b"[") + raw.count(b"{") > _ORJSON_MAX_DEPTH:
                try:
                    self._orjson_dumps(data)  # type: ignore[misc]
                except TypeError as exc:
                    raise ValueError(f"session data cannot be written back: {exc}") from None
        elif _SURROGATE_ESCAPE.search(raw) is not None:
            # Escaped surrogate pairs decode to one character and are fine; a lone one is
            # caught by encoding the data as dumps does.
            self._encode(data).encode()
        return data

    def loads_trusted(self, raw: bytes) -> SessionData:
        """:meth:`loads` for bytes this serializer wrote: without the check that they can be
        written back, which for a large session costs as much as writing it (a 60 KB session
        of 900 small objects: 645,000 instructions, a quarter of reading it)."""
        if self._orjson_loads is not None:
            data = self._orjson_loads(raw)  # refuses NaN, infinities and lone surrogates
        else:
            data = self._decode(raw.decode())
        if type(data) is not dict:
            raise ValueError("stored session data is not a JSON object")
        return data


_ORJSON_MAX_DEPTH = 254


TAG = "~"  #: the first character of every tag
_ESCAPE = "~~"
_PLAIN = frozenset({str, int, float, bool, type(None)})

_Encoder = Callable[[Any], dict[str, Any]]


def _encode_tuple(value: tuple[Any, ...]) -> dict[str, Any]:
    return {"~t": _tag(list(value))}


_ENCODERS: dict[type, _Encoder] = {
    tuple: _encode_tuple,
    bytes: lambda value: {"~b": base64.b64encode(value).decode("ascii")},
    datetime: lambda value: {"~dt": value.isoformat()},
    date: lambda value: {"~d": value.isoformat()},
    time: lambda value: {"~tm": value.isoformat()},
    uuid.UUID: lambda value: {"~u": value.hex},
    Decimal: lambda value: {"~dec": str(value)},
}
_DECODERS: dict[str, Callable[[str], Any]] = {
    "~b": lambda text: base64.b64decode(text, validate=True),
    "~dt": datetime.fromisoformat,
    "~d": date.fromisoformat,
    "~tm": time.fromisoformat,
    "~u": lambda text: uuid.UUID(hex=text),
    "~dec": Decimal,
}
try:
    from markupsafe import Markup
except ImportError:  # pragma: no cover - markupsafe comes with Flask and Jinja
    pass
else:
    _ENCODERS[Markup] = lambda value: {"~m": str(value)}
    _DECODERS["~m"] = Markup
# Subclasses (a named tuple, a Markup subclass) are tagged as their first base found here;
# datetime comes before date, of which it is a subclass.
_BASES = (tuple, datetime, *(kind for kind in _ENCODERS if kind not in (tuple, datetime)))


def _tag(value: Any) -> Any:
    """``value`` with every value JSON lacks replaced by its tag. A dict or list is copied
    only if something in it changes; plain values inside it cost no call."""
    # One loop for dicts and one for lists: a loop shared by both costs 11% more.
    kind = type(value)
    if kind is dict:
        tagged = value
        for key, item in value.items():
            if type(item) in _PLAIN:
                continue
            new = _tag(item)
            if new is not item:
                if tagged is value:
                    tagged = dict(value)
                tagged[key] = new
        if len(value) == 1:
            (key,) = value
            if type(key) is str and key[:1] == TAG:
                return {_ESCAPE: tagged}  # a dict that would read as a tag
        return tagged
    if kind is list:
        tagged = value
        for index, item in enumerate(value):
            if type(item) in _PLAIN:
                continue
            new = _tag(item)
            if new is not item:
                if tagged is value:
                    tagged = list(value)
                tagged[index] = new
        return tagged
    encode = _ENCODERS.get(kind)
    if encode is None:
        if kind is DEFERRED:
            return value  # a stored value never read: written back as it was
        if isinstance(value, dict):  # an OrderedDict, a defaultdict: tagged inside too
            return _tag(dict(value))
        base = next((base for base in _BASES if isinstance(value, base)), None)
        if base is None:
            return value  # JSON's own (a str or int subclass) or the inner serializer's error
        encode = _ENCODERS[base]
    return encode(value)


def _untag(value: Any) -> Any:
    """The inverse of :func:`_tag`, on freshly decoded JSON (changed in place)."""
    kind = type(value)
    if kind is dict:
        if len(value) == 1:
            ((key, payload),) = value.items()
            if key[:1] == TAG:
                return _decode_tag(key, payload)
        for key, item in value.items():
            if type(item) is dict or type(item) is list:
                value[key] = _untag(item)
    elif kind is list:
        for index, item in enumerate(value):
            if type(item) is dict or type(item) is list:
                value[index] = _untag(item)
    return value


def _decode_tag(tag: str, payload: Any) -> Any:
    if tag == "~t":
        if type(payload) is not list:
            raise ValueError("a tagged tuple must hold a list")
        return tuple(_untag(payload))
    if tag == _ESCAPE:
        if type(payload) is not dict or len(payload) != 1:
            raise ValueError("an escaped object must hold one key")
        ((key, item),) = payload.items()
        payload[key] = _untag(item)
        return payload
    decode = _DECODERS.get(tag)
    if decode is None:
        raise ValueError(f"unknown tag {tag[:20]!r} in session data")
    if type(payload) is not str:
        raise ValueError(f"tag {tag!r} must hold a string")
    return decode(payload)


class TaggedJSONSerializer:
    """JSON that keeps the Python values JSON lacks: tuple, bytes, datetime (naive or aware,
    to the microsecond), date, time, UUID, Decimal and, when markupsafe is installed,
    ``Markup``, the values Flask's own cookie session keeps. Still JSON, never pickle.

    A value JSON lacks is written as an object with one key naming its type (``{"~t": [1,
    2]}`` for ``(1, 2)``, ``{"~dt": "2025-01-31T12:00:00.000001+00:00"}``, ``{"~b":
    "<base64>"}``). A dict of the application's own whose only key starts with ``~`` is
    wrapped (``{"~~": {...}}``) so that it never reads as a tag: any JSON the application
    stores comes back as it was. A time zone comes back as its UTC offset at that moment (an
    equal datetime); subclasses come back as their base type (a named tuple as a tuple).
    Unknown tags and malformed payloads raise ``ValueError``.

    The tagging is a layer over a JSON serializer (``inner``: :class:`JSONSerializer` by
    default), which writes the bytes: the same data gives the same bytes, as change
    detection needs, and values neither tagged nor JSON's are left to it (it refuses a set).
    Data with nothing to tag costs one walk on write, and on read only a scan of the bytes.
    """

    def __init__(self, inner: str | Serializer = "json") -> None:
        self._inner = get_serializer(inner)
        #: Whether :meth:`loads_lazy` reads value by value (its inner serializer can).
        self.lazy = isinstance(self._inner, LoadsLazily) and self._inner.lazy
        # Asked once: an isinstance check against a Protocol costs 25,000 instructions.
        self._inner_trusted = stored_reader(self._inner, protected=True)

    def loads_lazy(self, raw: bytes) -> SessionData:
        """:meth:`loads_trusted`, leaving the values to :meth:`load_value` as the inner
        serializer's ``loads_lazy`` does (:class:`LoadsLazily`)."""
        if len(raw) < LAZY_FROM:
            return self.loads_trusted(raw)
        data = cast(LoadsLazily, self._inner).loads_lazy(raw)
        if len(data) == 1 and next(iter(data))[:1] == TAG:
            return self.loads_trusted(raw)  # the session itself escaped (or a tag)
        return data

    def load_value(self, value: Any) -> Any:
        """Read one value that :meth:`loads_lazy` left as stored, its tags undone."""
        loaded = cast(LoadsLazily, self._inner).load_value(value)
        if (type(loaded) is dict or type(loaded) is list) and b'"~' in bytes(value):
            return _untag(loaded)
        return loaded

    def dumps(self, data: SessionData) -> bytes:
        return self._inner.dumps(_tag(data))

    def loads(self, raw: bytes) -> SessionData:
        return self._untagged(self._inner.loads(raw), raw)

    def loads_trusted(self, raw: bytes) -> SessionData:
        return self._untagged(self._inner_trusted(raw), raw)

    @staticmethod
    def _untagged(data: SessionData, raw: bytes) -> SessionData:
        if b'"~' not in raw:  # no string starts with the tag character: nothing to untag
            return data
        data = _untag(data)
        if type(data) is not dict:
            raise ValueError("stored session data is not an object")
        return data


def session_reader(serializer: Serializer, *, protected: bool) -> Callable[[bytes], SessionData]:
    """How to read the data of a stored session for a request: value by value as the request
    uses them (:class:`LoadsLazily`) when the store protection verified that a sessionkit
    holding the secret wrote the bytes and the serializer can, else as
    :func:`stored_reader` says."""
    if reads_lazily(serializer, protected=protected):
        return cast(LoadsLazily, serializer).loads_lazy
    return stored_reader(serializer, protected=protected)


def reads_lazily(serializer: Serializer, *, protected: bool) -> bool:
    """Whether :func:`session_reader` reads value by value."""
    return protected and isinstance(serializer, LoadsLazily) and serializer.lazy


def read_value(serializer: Serializer, value: Any) -> Any:
    """A value that :func:`session_reader` left as stored, read with ``serializer``.

    :raises SessionKitError: if it cannot be read (see :meth:`JSONSerializer.load_value`).
    """
    try:
        return cast(LoadsLazily, serializer).load_value(value)
    except ValueError as exc:
        raise SessionKitError(f"a value of the stored session cannot be read: {exc}") from None


def read_deferred(data: SessionData, read: Callable[[Any], Any]) -> None:
    """Read, with ``read``, every value of ``data`` still as stored (in place)."""
    for key, value in dict.items(data):  # a dict's own items, whatever a subclass makes of them
        if type(value) is DEFERRED:
            data[key] = read(value)


def stored_reader(serializer: Serializer, *, protected: bool) -> Callable[[bytes], SessionData]:
    """How to read the serialised data of a stored session: with ``loads_trusted`` when the
    store protection verified that a sessionkit holding the secret wrote the bytes (so a
    serializer like this one) and the serializer has it (:class:`LoadsTrusted`), else with
    ``loads``."""
    if protected and isinstance(serializer, LoadsTrusted):
        return serializer.loads_trusted
    return serializer.loads


# "orjson" names the same serializer, for configurations written when it was a separate one.
SERIALIZERS: dict[str, type[Serializer]] = {
    "json": JSONSerializer,
    "orjson": JSONSerializer,
    "tagged": TaggedJSONSerializer,
}


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
