"""The serializers: JSON from the standard library and through orjson, interchangeable."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sessionkit import ConfigurationError, SessionManager
from sessionkit.serializers import JSONSerializer, ORJSONSerializer, Serializer, get_serializer

SERIALIZERS = [JSONSerializer(), ORJSONSerializer()]
SESSION = {"user": {"id": 7, "name": "Zoë"}, "cart": ["apple", 2, 3.5, None, True], "n": -1}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=20,
)


@pytest.mark.parametrize("serializer", SERIALIZERS, ids=["json", "orjson"])
def test_round_trip_is_compact_and_deterministic(serializer: Serializer) -> None:
    raw = serializer.dumps(SESSION)
    assert raw == '{"user":{"id":7,"name":"Zoë"},"cart":["apple",2,3.5,null,true],"n":-1}'.encode()
    assert serializer.loads(raw) == SESSION
    assert serializer.dumps(dict(SESSION)) == raw


@given(st.dictionaries(st.text(), json_values, max_size=6))
def test_the_two_serializers_write_the_same_bytes(data: dict[str, Any]) -> None:
    json_bytes, orjson_bytes = (serializer.dumps(data) for serializer in SERIALIZERS)
    assert json_bytes == orjson_bytes
    assert SERIALIZERS[1].loads(json_bytes) == SERIALIZERS[0].loads(orjson_bytes) == data


@pytest.mark.parametrize("serializer", SERIALIZERS, ids=["json", "orjson"])
@pytest.mark.parametrize("raw", [b"[1, 2]", b'"text"', b"{not json", b"\x80\x04pickle", b""])
def test_anything_but_a_json_object_is_refused(serializer: Serializer, raw: bytes) -> None:
    with pytest.raises(ValueError):
        serializer.loads(raw)


def test_serializers_by_name_or_object() -> None:
    assert isinstance(get_serializer("json"), JSONSerializer)
    assert isinstance(get_serializer("orjson"), ORJSONSerializer)
    custom = JSONSerializer()
    assert get_serializer(custom) is custom
    with pytest.raises(ConfigurationError, match="unknown serializer 'pickle'"):
        get_serializer("pickle")
    with pytest.raises(ConfigurationError):
        get_serializer(object())  # type: ignore[arg-type]


def test_a_manager_on_orjson_reads_sessions_written_with_json() -> None:
    store = "memory://serializer-switch"
    before = SessionManager(store, secret="s", serializer="json")
    session = before.open(None)
    session.update(SESSION)
    set_cookie = before.commit(session)
    assert set_cookie is not None
    after = SessionManager(store, secret="s", serializer="orjson")
    reopened = after.open(set_cookie.split(";")[0])
    assert dict(reopened) == SESSION
    reopened["n"] += 1
    after.commit(reopened)
    assert before.open(set_cookie.split(";")[0])["n"] == 0
