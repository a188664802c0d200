"""The dict the Django engine hands to SessionBase: every way of reading it reads deferred
values, and what is written of it is what was stored."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sessionkit.adapters._django_data import DeferredValues
from sessionkit.serializers import DEFERRED, LAZY_FROM, JSONSerializer

SERIALIZER = JSONSerializer()
STORED = {"user": {"id": 7}, "views": 3, "cart": ["apple"], "note": "x" * LAZY_FROM}


def deferred() -> DeferredValues:
    lazy = SERIALIZER.loads_lazy(SERIALIZER.dumps(STORED))
    assert all(type(value) is DEFERRED for value in lazy.values())
    return DeferredValues(lazy, SERIALIZER.load_value)


@pytest.mark.parametrize(
    "read",
    [
        lambda data: {key: data[key] for key in data},
        lambda data: {key: data.get(key) for key in data},
        lambda data: dict(data.items()),
        lambda data: dict(zip(data.keys(), data.values(), strict=True)),
        dict,
        lambda data: {**data},
        lambda data: data.copy(),
        lambda data: json.loads(json.dumps(data)),
    ],
    ids=["getitem", "get", "items", "values", "dict", "unpack", "copy", "json"],
)
def test_every_way_of_reading_reads_the_stored_values(read: Any) -> None:
    assert read(deferred()) == STORED


def test_equality_reads_too() -> None:
    assert deferred() == STORED
    assert not (deferred() != STORED)  # noqa: SIM202 - the operator under test
    assert deferred() != {**STORED, "views": 4}


def test_pop_setdefault_and_popitem_read_too() -> None:
    data = deferred()
    assert data.pop("cart") == ["apple"]
    assert data.pop("cart", None) is None
    with pytest.raises(KeyError):
        data.pop("cart")
    assert data.setdefault("user", {}) == {"id": 7}
    assert data.setdefault("new", 1) == 1
    assert data.popitem() == ("new", 1)
    assert data.popitem() == ("note", "x" * LAZY_FROM)


def test_the_values_never_read_are_written_back_as_stored() -> None:
    data = deferred()
    data["views"] += 1
    assert SERIALIZER.dumps(data) == SERIALIZER.dumps({**STORED, "views": 4})
