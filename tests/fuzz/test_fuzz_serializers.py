"""The serializers: what dumps accepts, loads gives back equal; whatever bytes loads gets, it
returns a dict that can be written back, or raises; and no stored bytes under a valid cookie
make a request fail."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sessionkit import SessionManager
from sessionkit.codec import Meta
from sessionkit.ids import new_session_id
from sessionkit.serializers import JSONSerializer, Serializer
from tests.fuzz import FUZZ
from tests.fuzz.strategies import any_char, json_objects

SERIALIZERS: dict[str, Serializer] = {
    "json": JSONSerializer(fast=False),
    "orjson": JSONSerializer(),
}

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(any_char, max_size=20),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(any_char, max_size=8), inner)
    ),
    max_leaves=8,
)
sessions = st.dictionaries(st.text(any_char, max_size=8), values, max_size=4)


def as_orjson_writes(value: Any) -> Any:
    """``value`` as orjson turns it into JSON: NaN and infinities become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, list):
        return [as_orjson_writes(item) for item in value]
    if isinstance(value, dict):
        return {key: as_orjson_writes(item) for key, item in value.items()}
    return value


@pytest.mark.parametrize("name", SERIALIZERS)
@FUZZ
@given(data=sessions)
def test_what_dumps_accepts_loads_gives_back(name: str, data: dict[str, Any]) -> None:
    serializer = SERIALIZERS[name]
    try:
        raw = serializer.dumps(data)
    except (ValueError, TypeError):  # NaN (json), lone surrogates, ints beyond 64 bits (orjson)
        return
    expected = as_orjson_writes(data) if name == "orjson" else data
    assert serializer.loads(raw) == expected
    assert serializer.dumps(serializer.loads(raw)) == raw


def check_loads(serializer: Serializer, raw: bytes) -> None:
    try:
        data = serializer.loads(raw)
    except (ValueError, RecursionError):
        return
    assert type(data) is dict
    assert serializer.loads(serializer.dumps(data)) == data  # it can be written back


@pytest.mark.parametrize("name", SERIALIZERS)
@FUZZ
@given(raw=json_objects.map(lambda text: text.encode("utf-8", "surrogatepass")) | st.binary())
def test_whatever_loads_gets_it_returns_a_writable_dict_or_raises(name: str, raw: bytes) -> None:
    check_loads(SERIALIZERS[name], raw)


@pytest.mark.parametrize("name", SERIALIZERS)
@pytest.mark.parametrize("depth", [10, 500, 990, 5000])
def test_deep_nesting_loads_and_writes_back_or_is_refused(name: str, depth: int) -> None:
    check_loads(SERIALIZERS[name], b'{"a":' + b"[" * depth + b"]" * depth + b"}")
    check_loads(SERIALIZERS[name], b'{"a":' + b'{"a":' * depth + b"1" + b"}" * depth + b"}")


MANAGERS = {
    name: SessionManager("memory://", secret="s-0123456789abcdefghijklmnopqrstuv", serializer=name)
    for name in SERIALIZERS
}


@pytest.mark.parametrize("name", SERIALIZERS)
@FUZZ
@given(raw=json_objects.map(lambda text: text.encode("utf-8", "surrogatepass")) | st.binary())
def test_no_stored_bytes_make_a_request_fail(name: str, raw: bytes) -> None:
    manager = MANAGERS[name]
    for sealed in (False, True):  # planted as they are, and sealed as the manager seals
        sid = new_session_id()
        manager.store.set(sid, manager.codec.pack(sid, Meta(), raw) if sealed else raw, 60)
        cookie = f"session={manager.signer.sign(sid)}"
        session = manager.open(cookie)
        session["views"] = 1
        manager.commit(session)
        assert manager.open(cookie)["views"] == 1
