"""Session id checks: the same answer from the remembered ids as from the pattern."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sessionkit import ids
from sessionkit.errors import InvalidSessionIdError
from sessionkit.ids import check_session_id, is_valid_session_id, new_session_id

SHAPE = re.compile(r"[A-Za-z0-9_-]{8,128}")
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


@given(st.text(alphabet=ALPHABET + ".+/= \n\x00é", max_size=140) | st.text(max_size=140))
def test_an_id_is_valid_exactly_when_it_has_the_shape(sid: str) -> None:
    expected = SHAPE.fullmatch(sid) is not None
    for _ in range(2):  # the second answer may come from the ids remembered
        assert is_valid_session_id(sid) is expected
        if expected:
            assert check_session_id(sid) is sid
        else:
            with pytest.raises(InvalidSessionIdError):
                check_session_id(sid)


@pytest.mark.parametrize("odd", [None, 12345678, b"abcdefgh", ["abcdefgh"]])
def test_what_is_not_a_str_is_never_valid(odd: object) -> None:
    assert not is_valid_session_id(odd)
    with pytest.raises(InvalidSessionIdError):
        check_session_id(odd)  # type: ignore[arg-type]


def test_the_ids_remembered_are_bounded() -> None:
    for _ in range(ids._VALID_KEPT + 10):
        assert is_valid_session_id(new_session_id())
    assert 0 < len(ids._valid) <= ids._VALID_KEPT
