"""The serializers: JSON from the standard library and through orjson, interchangeable."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sessionkit import ConfigurationError, SessionKitError, SessionManager
from sessionkit.codec import Meta
from sessionkit.ids import new_session_id
from sessionkit.serializers import (
    DEFERRED,
    LAZY_FROM,
    JSONSerializer,
    Serializer,
    get_serializer,
)

SERIALIZERS: list[Serializer] = [JSONSerializer(fast=False), JSONSerializer()]
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
    assert isinstance(get_serializer("orjson"), JSONSerializer)
    custom = JSONSerializer()
    assert get_serializer(custom) is custom
    with pytest.raises(ConfigurationError, match="unknown serializer 'pickle'"):
        get_serializer("pickle")
    with pytest.raises(ConfigurationError):
        get_serializer(object())  # type: ignore[arg-type]


def test_a_manager_on_orjson_reads_sessions_written_with_json() -> None:
    store = "memory://serializer-switch"
    before = SessionManager(store, secret="s-0123456789abcdefghijklmnopqrstuv", serializer="json")
    session = before.open(None)
    session.update(SESSION)
    set_cookie = before.commit(session)
    assert set_cookie is not None
    after = SessionManager(store, secret="s-0123456789abcdefghijklmnopqrstuv", serializer="orjson")
    reopened = after.open(set_cookie.split(";")[0])
    assert dict(reopened) == SESSION
    reopened["n"] += 1
    after.commit(reopened)
    assert before.open(set_cookie.split(";")[0])["n"] == 0


UNWRITABLE = [
    b'{"a":NaN}',
    b'{"a":[1,Infinity]}',
    b'{"a":{"b":-Infinity}}',
    b'{"a":1e400}',
    b'{"a":-1E+999}',
    b'{"a":"\\ud800"}',
    b'{"a":"x\\uDBFFy"}',
    b'{"a":"\\udc00\\ud800"}',  # a low surrogate before a high one: no pair
    b'{"\\uDe00":1}',
    b'{"a":["ok","\\ud83d"]}',
]


@pytest.mark.parametrize("serializer", SERIALIZERS, ids=["json", "orjson"])
@pytest.mark.parametrize("raw", UNWRITABLE)
def test_data_that_could_not_be_written_back_is_refused(serializer: Serializer, raw: bytes) -> None:
    with pytest.raises(ValueError):
        serializer.loads(raw)


@pytest.mark.parametrize("serializer", SERIALIZERS, ids=["json", "orjson"])
def test_escapes_that_decode_to_writable_text_are_accepted(serializer: Serializer) -> None:
    raw = b'{"emoji":"\\ud83d\\ude00","UPPER":"\\uD83D\\uDE00","text":"\\\\ud800","f":1e300}'
    data = serializer.loads(raw)
    assert data == {"emoji": "😀", "UPPER": "😀", "text": "\\ud800", "f": 1e300}
    assert serializer.loads(serializer.dumps(data)) == data


@pytest.mark.parametrize("protect", [None, "sign"])
@pytest.mark.parametrize("serializer", ["json", "orjson"])
@pytest.mark.parametrize("raw", [UNWRITABLE[0], UNWRITABLE[5]])
def test_a_stored_session_that_could_not_be_written_back_starts_empty(
    serializer: str, raw: bytes, protect: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    manager = SessionManager(
        "memory://",
        secret="s-0123456789abcdefghijklmnopqrstuv",
        serializer=serializer,
        protect=protect,  # type: ignore[arg-type]
    )
    sid = new_session_id()
    manager.store.set(sid, manager.codec.pack(sid, Meta(), raw), 60)  # sealed as ours
    cookie = f"session={manager.signer.sign(sid)}"
    session = manager.open(cookie)
    with caplog.at_level("WARNING", logger="sessionkit"):
        assert dict(session) == {}
    assert [record.levelname for record in caplog.records] == ["WARNING"]
    session["views"] = 1
    assert manager.commit(session) is not None
    assert dict(manager.open(cookie)) == {"views": 1}


def test_a_number_too_large_for_a_float_in_a_sealed_session_is_an_error_when_read(
    caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    """A sealed session is read value by value; a number beyond a float's range (which
    sessionkit never writes: the seal says a holder of the secret did) passes the finding of
    the values and fails its reading, with an error that says so. Unsealed, the whole
    session is checked at load and starts empty."""
    for protect in ("sign", None):
        manager = SessionManager(
            f"file://{tmp_path}/{protect}",  # a store others can write to: not in-process
            secret="s-0123456789abcdefghijklmnopqrstuv",
            protect=protect,  # type: ignore[arg-type]
        )
        sid = new_session_id()
        raw = b'{"ok":[1],"a":1e400,"padding":"' + b"x" * LAZY_FROM + b'"}'
        manager.store.set(sid, manager.codec.pack(sid, Meta(), raw), 60)
        session = manager.open(f"session={manager.signer.sign(sid)}")
        if protect is None:
            assert dict(session) == {}
            continue
        assert session["ok"] == [1]
        with pytest.raises(SessionKitError, match="cannot be read"):
            session["a"]
        session["ok"].append(2)
        assert manager.commit(session) is not None
        assert manager.store.get(sid) is not None
        stored = manager.codec.unpack(sid, manager.store.get(sid))[1]
        assert stored == raw.replace(b"[1]", b"[1,2]")  # the unread value kept as it was


def test_an_unreadable_number_kept_by_a_session_that_shrinks_stays_kept() -> None:
    """A sealed session over :data:`LAZY_FROM` bytes keeps a number it cannot read as it was
    stored; once the session shrinks under that size it is read whole, and the same number
    must not make the whole session unreadable (found by the serializer fuzz test)."""
    manager = SessionManager("memory://", secret="s-0123456789abcdefghijklmnopqrstuv")
    sid = new_session_id()
    raw = b'{"a":1e400,"padding":"' + b"x" * LAZY_FROM + b'"}'
    manager.store.set(sid, manager.codec.pack(sid, Meta(), raw), 60)  # sealed as ours
    cookie = f"session={manager.signer.sign(sid)}"
    session = manager.open(cookie)
    del session["padding"]
    session["views"] = 1
    assert manager.commit(session) is not None
    later = manager.open(cookie)
    assert later["views"] == 1
    with pytest.raises(SessionKitError, match="cannot be read"):
        later["a"]


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4)
    ),
    max_leaves=20,
)


@given(st.dictionaries(st.text(max_size=8), JSON_VALUES, max_size=6), st.booleans(), st.data())
def test_a_session_read_value_by_value_is_written_back_as_it_was(
    data: dict[str, Any], large: bool, draw: st.DataObject
) -> None:
    serializer = JSONSerializer()
    if large:
        data["padding"] = "x" * LAZY_FROM
    stored = serializer.dumps(data)
    lazy = serializer.loads_lazy(stored)
    assert list(lazy) == list(data)
    deferred = {key for key, value in lazy.items() if type(value) is DEFERRED}
    assert deferred == (set(data) if len(stored) >= LAZY_FROM else set())  # small: whole
    for key in draw.draw(st.sets(st.sampled_from(sorted(deferred)))) if deferred else ():
        lazy[key] = serializer.load_value(lazy[key])
        assert lazy[key] == data[key]
    assert serializer.dumps(lazy) == stored


def test_orjson_refuses_nesting_deeper_than_it_can_write_back() -> None:
    serializer = JSONSerializer()
    for depth, readable in ((253, True), (254, False), (1000, False)):
        raw = b'{"a":' + b"[" * depth + b"]" * depth + b"}"  # depth + 1 levels
        if readable:
            assert serializer.dumps(serializer.loads(raw)) == raw
        else:
            with pytest.raises(ValueError, match="cannot be written back"):
                serializer.loads(raw)


DEEP = b'{"a":' + b"[" * 300 + b"]" * 300 + b"}"  # reads, but orjson cannot write it back


def test_trusted_bytes_skip_only_the_write_back_check() -> None:
    serializer = JSONSerializer()
    with pytest.raises(ValueError, match="cannot be written back"):
        serializer.loads(DEEP)
    assert serializer.loads_trusted(DEEP)["a"]  # what the store protection vouched for
    for raw in (b"[1]", b"not json", b'{"a":NaN}'):  # never what no JSON reader accepts
        with pytest.raises(ValueError):
            serializer.loads_trusted(raw)


def test_unprotected_stored_bytes_are_still_checked(
    caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    secret = "s-0123456789abcdefghijklmnopqrstuv"
    manager = SessionManager(f"file://{tmp_path}", secret=secret, protect=None)
    sid = new_session_id()
    manager.store.set(sid, manager.codec.pack(sid, Meta(), DEEP), 60)  # planted: no seal
    with caplog.at_level("WARNING", logger="sessionkit"):
        assert dict(manager.open(f"session={manager.signer.sign(sid)}")) == {}
    assert "cannot be written back" in caplog.text
