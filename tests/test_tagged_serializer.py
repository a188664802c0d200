"""The tagged JSON serializer: Python values JSON lacks, round-tripped as JSON."""

from __future__ import annotations

import json
import uuid
from collections import OrderedDict
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from markupsafe import Markup

from sessionkit import SessionManager
from sessionkit.serializers import (
    DEFERRED,
    LAZY_FROM,
    JSONSerializer,
    TaggedJSONSerializer,
    get_serializer,
)

tagged = TaggedJSONSerializer()

offsets = st.timedeltas(
    min_value=timedelta(hours=-23, minutes=-59), max_value=timedelta(hours=23, minutes=59)
).map(timezone)
zones = st.none() | st.just(timezone.utc) | offsets
keys = st.text(max_size=8) | st.sampled_from(["~", "~t", "~~", "~b", "~dt", "~m", "~x", "~~~"])
leaves = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
    | st.binary()
    | st.datetimes(timezones=zones)
    | st.dates()
    | st.times(timezones=zones)
    | st.uuids()
    | st.decimals(allow_nan=False)
    | st.text().map(Markup)
)
values = st.recursive(
    leaves,
    lambda children: (
        st.lists(children, max_size=4)
        | st.lists(children, max_size=4).map(tuple)
        | st.dictionaries(keys, children, max_size=4)
    ),
    max_leaves=25,
)


def assert_same(got: Any, expected: Any) -> None:
    """Equal, and of the same type all the way down (Markup is not str, (1,) is not [1])."""
    assert type(got) is type(expected)
    if isinstance(expected, dict):
        assert list(got) == list(expected)
        for key in expected:
            assert_same(got[key], expected[key])
    elif isinstance(expected, (list, tuple)):
        for got_item, expected_item in zip(got, expected, strict=True):
            assert_same(got_item, expected_item)
    elif isinstance(expected, (datetime, time)):
        assert got == expected
        assert got.utcoffset() == expected.utcoffset()
    else:
        assert got == expected


@given(st.dictionaries(keys, values, max_size=6))
def test_every_value_round_trips_with_its_type(data: dict[str, Any]) -> None:
    raw = tagged.dumps(data)
    json.loads(raw)  # still JSON
    back = tagged.loads(raw)
    assert_same(back, data)
    assert tagged.dumps(back) == raw  # deterministic: equal data, equal bytes


@given(st.dictionaries(keys, values, max_size=6), st.booleans(), st.data())
def test_every_value_round_trips_when_read_value_by_value(
    data: dict[str, Any], large: bool, draw: st.DataObject
) -> None:
    if large:
        data["padding"] = "x" * LAZY_FROM
    raw = tagged.dumps(data)
    lazy = tagged.loads_lazy(raw)
    assert list(lazy) == list(data)
    deferred = sorted(key for key, value in lazy.items() if type(value) is DEFERRED)
    for key in draw.draw(st.sets(st.sampled_from(deferred))) if deferred else ():
        lazy[key] = tagged.load_value(lazy[key])
    assert tagged.dumps(lazy) == raw  # unread values written back as they were stored
    for key in deferred:
        if type(lazy[key]) is DEFERRED:
            lazy[key] = tagged.load_value(lazy[key])
    assert_same(lazy, data)


def test_a_large_tagged_session_through_the_manager() -> None:
    manager = SessionManager("memory://", secret="s" * 32, serializer="tagged")
    session = manager.open(None)
    stored = {"pair": (1, b"2"), "when": date(2025, 1, 31), "pad": "x" * LAZY_FROM}
    session.update(stored)
    cookie = manager.commit(session)
    assert cookie is not None
    cookie = cookie.split(";")[0]
    session = manager.open(cookie)
    assert_same(session["pair"], (1, b"2"))
    session["n"] = 1
    manager.commit(session)
    assert_same(dict(manager.open(cookie)), {**stored, "n": 1})


def test_a_session_escaped_as_a_whole_is_read_whole() -> None:
    data = {"~t": "x" * LAZY_FROM}  # one key that reads as a tag: the session is wrapped
    assert_same(tagged.loads_lazy(tagged.dumps(data)), data)


untagged_keys = st.text().filter(lambda key: not key.startswith("~"))


@given(st.dictionaries(untagged_keys, st.recursive(st.text(), st.lists, max_leaves=5), max_size=4))
def test_plain_json_is_written_as_the_plain_serializer_writes_it(data: dict[str, Any]) -> None:
    assert tagged.dumps(data) == get_serializer("json").dumps(data)


def test_the_tags_are_readable_json() -> None:
    when = datetime(2025, 1, 31, 12, 0, 0, 1, tzinfo=timezone.utc)
    data = {
        "t": (1, 2),
        "b": b"\xff",
        "dt": when,
        "naive": when.replace(tzinfo=None),
        "d": when.date(),
        "tm": time(23, 59, 59, 999999),
        "u": uuid.UUID(int=1),
        "n": Decimal("1.10"),
        "m": Markup("<em>hi</em>"),
    }
    assert json.loads(tagged.dumps(data)) == {
        "t": {"~t": [1, 2]},
        "b": {"~b": "/w=="},
        "dt": {"~dt": "2025-01-31T12:00:00.000001+00:00"},
        "naive": {"~dt": "2025-01-31T12:00:00.000001"},
        "d": {"~d": "2025-01-31"},
        "tm": {"~tm": "23:59:59.999999"},
        "u": {"~u": "00000000000000000000000000000001"},
        "n": {"~dec": "1.10"},
        "m": {"~m": "<em>hi</em>"},
    }
    assert_same(tagged.loads(tagged.dumps(data)), data)


@pytest.mark.parametrize(
    "data",
    [{"~t": "not a tuple"}, {"a": {"~~": {"~b": 1}}}, {"x": {"~dt": "2025"}}, {"~": {"~": 1}}],
)
def test_application_dicts_that_look_like_tags_come_back_unchanged(data: dict[str, Any]) -> None:
    assert tagged.loads(tagged.dumps(data)) == data


def test_a_zone_comes_back_as_its_offset_at_that_moment() -> None:
    when = datetime(2025, 7, 1, 12, 30, tzinfo=ZoneInfo("Europe/Paris"))
    back = tagged.loads(tagged.dumps({"when": when}))["when"]
    assert back == when
    assert back.utcoffset() == timedelta(hours=2)


def test_subclasses_come_back_as_their_base_type() -> None:
    class Shouting(Markup):
        pass

    data = {"s": Shouting("<b>"), "dt": datetime(2025, 1, 1, 8), "o": OrderedDict(t=(1,))}
    back = tagged.loads(tagged.dumps(data))
    assert type(back["s"]) is Markup
    assert type(back["dt"]) is datetime
    assert back["o"] == {"t": (1,)}
    assert type(back["o"]) is dict


def test_values_json_lacks_and_no_tag_covers_still_raise() -> None:
    with pytest.raises(TypeError):
        tagged.dumps({"s": {1, 2}})


@pytest.mark.parametrize(
    "raw",
    [
        b'{"a": {"~zz": "1"}}',  # unknown tag
        b'{"a": {"~t": 5}}',  # a tuple that is not a list
        b'{"a": {"~b": "%%%"}}',  # not base64
        b'{"a": {"~b": 5}}',
        b'{"a": {"~dt": "yesterday"}}',
        b'{"a": {"~u": "not-a-uuid"}}',
        b'{"a": {"~dec": "one"}}',
        b'{"a": {"~~": {"x": 1, "y": 2}}}',  # an escape holds exactly one key
        b'{"~t": [1, 2]}',  # the session itself must be an object
        b"[1]",
        b"\x80\x04pickle",
        b'{"a":' * 100_000 + b"1" + b"}" * 100_000,  # deeper than any decoder goes
    ],
)
def test_hostile_or_corrupt_input_raises(raw: bytes) -> None:
    with pytest.raises(Exception):  # noqa: B017 - any exception: the manager logs it
        tagged.loads(raw)


def test_by_name_and_over_another_json_serializer() -> None:
    assert isinstance(get_serializer("tagged"), TaggedJSONSerializer)
    over_stdlib = TaggedJSONSerializer(JSONSerializer(fast=False))
    data = {"t": (1, b"x"), "d": date(2025, 1, 1), "u": uuid.UUID(int=7)}
    assert over_stdlib.dumps(data) == tagged.dumps(data)
    assert over_stdlib.loads(tagged.dumps(data)) == data


def test_a_manager_keeps_the_values_and_turns_hostile_data_into_an_empty_session() -> None:
    manager = SessionManager(
        "memory://", "secret-0123456789abcdefghijklmnopqrstuv", serializer="tagged", protect=None
    )
    session = manager.open(None)
    session["cart"] = ("apple", Decimal("2.50"))
    session["seen"] = datetime(2025, 1, 1, tzinfo=timezone.utc)
    cookie = manager.commit(session)
    assert cookie is not None
    header = cookie.split(";")[0]
    again = manager.open(header)
    assert again["cart"] == ("apple", Decimal("2.50"))
    assert manager.commit(again) is None  # read, not changed: not written back
    manager.store.set(again.id, b'{"cart": {"~t": "x"}}', 60)
    assert dict(manager.open(header)) == {}
