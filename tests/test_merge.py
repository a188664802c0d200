"""The three-way merge of two requests' changes to one session."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sessionkit.errors import ConfigurationError, SessionConflictError
from sessionkit.merge import MISSING, check_policy, merge

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=3),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=3), inner, max_size=4)
    ),
    max_leaves=12,
)
sessions = st.dictionaries(st.text(max_size=3), json_values, max_size=5)


@given(sessions, sessions)
def test_what_only_one_side_changed_is_that_side(
    base: dict[str, Any], other: dict[str, Any]
) -> None:
    assert merge(base, other, base, "raise") == other
    assert merge(base, base, other, "raise") == other


@given(sessions, sessions, sessions)
def test_the_policy_ours_or_theirs_never_raises(
    base: dict[str, Any], ours: dict[str, Any], theirs: dict[str, Any]
) -> None:
    for policy in ("ours", "theirs"):
        merged = merge(base, ours, theirs, policy)
        assert isinstance(merged, dict)


@given(sessions, sessions, sessions)
def test_the_arguments_are_left_alone(
    base: dict[str, Any], ours: dict[str, Any], theirs: dict[str, Any]
) -> None:
    copies = [repr(value) for value in (base, ours, theirs)]
    merge(base, ours, theirs, "ours")
    assert [repr(value) for value in (base, ours, theirs)] == copies


def test_keys_set_and_deleted_by_either_side_are_kept() -> None:
    base = {"a": 1, "b": 2, "c": 3}
    ours = {"a": 10, "b": 2, "d": 4}  # a changed, c deleted, d added
    theirs = {"a": 1, "b": 20, "c": 3, "e": 5}  # b changed, e added
    assert merge(base, ours, theirs, "raise") == {"a": 10, "b": 20, "e": 5, "d": 4}


def test_two_requests_each_adding_an_item_keep_both() -> None:
    base = {"cart": ["apple"]}
    ours = {"cart": ["apple", "pear"]}
    theirs = {"cart": ["apple", "plum"]}
    assert merge(base, ours, theirs, "raise") == {"cart": ["apple", "plum", "pear"]}


def test_a_removal_is_applied_to_the_other_sides_list() -> None:
    base = {"cart": ["apple", "pear", "plum"]}
    ours = {"cart": ["apple", "plum"]}  # pear removed
    theirs = {"cart": ["apple", "pear", "plum", "fig"]}
    assert merge(base, ours, theirs, "raise") == {"cart": ["apple", "plum", "fig"]}
    both_removed = {"cart": ["apple", "plum", "fig"]}
    assert merge(base, ours, both_removed, "raise") == {"cart": ["apple", "plum", "fig"]}


def test_nested_objects_merge_key_by_key() -> None:
    base = {"prefs": {"theme": "light", "lang": "en"}, "n": 1}
    ours = {"prefs": {"theme": "dark", "lang": "en"}, "n": 1}
    theirs = {"prefs": {"theme": "light", "lang": "fr", "tz": "UTC"}, "n": 2}
    merged = merge(base, ours, theirs, "raise")
    assert merged == {"prefs": {"theme": "dark", "lang": "fr", "tz": "UTC"}, "n": 2}


@pytest.mark.parametrize(
    ("policy", "expected"), [("ours", {"theme": "dark"}), ("theirs", {"theme": "blue"})]
)
def test_the_same_scalar_changed_by_both_follows_the_policy(
    policy: str, expected: dict[str, str]
) -> None:
    base, ours, theirs = {"theme": "light"}, {"theme": "dark"}, {"theme": "blue"}
    assert merge(base, ours, theirs, policy) == expected  # type: ignore[arg-type]


def test_raise_names_the_path_of_the_conflict() -> None:
    base = {"prefs": {"theme": "light"}}
    with pytest.raises(SessionConflictError) as raised:
        merge(base, {"prefs": {"theme": "dark"}}, {"prefs": {"theme": "blue"}}, "raise")
    assert raised.value.path == ("prefs", "theme")


def test_a_deletion_against_a_change_is_a_conflict() -> None:
    base, ours, theirs = {"user": "ann"}, {}, {"user": "bob"}
    assert merge(base, ours, theirs, "ours") == {}
    assert merge(base, ours, theirs, "theirs") == {"user": "bob"}


def test_a_callable_resolves_with_the_three_values() -> None:
    seen = []

    def total(path: tuple[str, ...], base: Any, ours: Any, theirs: Any) -> Any:
        seen.append((path, base, ours, theirs))
        return theirs + ours - base if ours is not MISSING and theirs is not MISSING else MISSING

    assert merge({"n": 1}, {"n": 3}, {"n": 5}, total) == {"n": 7}
    assert merge({"n": 1}, {}, {"n": 5}, total) == {}
    assert seen[0] == (("n",), 1, 3, 5)


def test_json_equality_tells_booleans_from_numbers() -> None:
    assert merge({"x": 1}, {"x": True}, {"x": 1}, "raise") == {"x": True}
    assert merge({"x": 1}, {"x": 1.0}, {"x": 2}, "raise") == {"x": 2}


def test_an_unknown_policy_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError):
        check_policy("newest")  # type: ignore[arg-type]


def test_a_list_or_object_both_requests_created_keeps_both_sides() -> None:
    base: dict[str, Any] = {"views": 1}
    ours = {"views": 1, "cart": ["pear"], "prefs": {"lang": "en"}}
    theirs = {"views": 1, "cart": ["plum"], "prefs": {"tz": "UTC"}}
    merged = merge(base, ours, theirs, "raise")
    assert merged == {"views": 1, "cart": ["plum", "pear"], "prefs": {"tz": "UTC", "lang": "en"}}
