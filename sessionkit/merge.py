"""The three-way merge that keeps parallel requests on one session from losing each other's
changes.

When a request saves a session that another request changed since it was loaded, the manager
has three versions of the data: ``base`` (as this request loaded it), ``ours`` (as this
request left it) and ``theirs`` (what the other request stored). :func:`merge` re-applies only
this request's own changes on top of ``theirs``:

- a key this request set, added or deleted is set, added or deleted in ``theirs``; nested
  objects are merged key by key;
- a list this request appended to or removed items from gets the same removals and appends
  applied to theirs (two requests each adding an item to a cart keep both items, also when
  the cart did not exist before either of them);
- where both requests changed the same value differently, the policy decides: ``"ours"``
  (this request's value), ``"theirs"`` (the other's), ``"raise"``
  (:class:`~sessionkit.errors.SessionConflictError`), or a callable
  ``resolve(path, base, ours, theirs)`` that returns the value to keep, or :data:`MISSING` to
  leave the key out. :data:`MISSING` also stands for an absent key in its arguments.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from .errors import ConfigurationError, SessionConflictError


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


#: An absent key, in a resolver's arguments or as its answer.
MISSING: Any = _Missing()

Path = tuple[str, ...]
Resolver = Callable[[Path, Any, Any, Any], Any]
Policy = Literal["ours", "theirs", "raise"] | Resolver


def check_policy(policy: Policy) -> Policy:
    if policy in ("ours", "theirs", "raise") or callable(policy):
        return policy
    raise ConfigurationError("on_conflict must be 'ours', 'theirs', 'raise' or a callable")


def merge(
    base: dict[str, Any], ours: dict[str, Any], theirs: dict[str, Any], policy: Policy
) -> dict[str, Any]:
    """``theirs`` with the changes that turned ``base`` into ``ours``; see the module
    docstring. The arguments are not modified."""
    return _merge_maps((), base, ours, theirs, policy)


def _merge(path: Path, base: Any, ours: Any, theirs: Any, policy: Policy) -> Any:
    if _same(ours, base):
        return theirs  # this request did not change it
    if _same(theirs, base) or _same(ours, theirs):
        return ours  # only this request changed it, or both alike
    # A key both requests created is merged as if it had been there, empty.
    if type(ours) is dict and type(theirs) is dict and (base is MISSING or type(base) is dict):
        return _merge_maps(path, {} if base is MISSING else base, ours, theirs, policy)
    if type(ours) is list and type(theirs) is list and (base is MISSING or type(base) is list):
        return _merge_lists([] if base is MISSING else base, ours, theirs)
    return _resolve(path, base, ours, theirs, policy)


def _merge_maps(
    path: Path,
    base: dict[str, Any],
    ours: dict[str, Any],
    theirs: dict[str, Any],
    policy: Policy,
) -> dict[str, Any]:
    merged = {}
    for key in dict.fromkeys([*theirs, *ours, *base]):
        value = _merge(
            (*path, key),
            base.get(key, MISSING),
            ours.get(key, MISSING),
            theirs.get(key, MISSING),
            policy,
        )
        if value is not MISSING:
            merged[key] = value
    return merged


def _merge_lists(base: list[Any], ours: list[Any], theirs: list[Any]) -> list[Any]:
    """Apply to ``theirs`` the removals and appends that make ``ours`` from ``base``."""
    removed, appended = _list_changes(base, ours)
    merged = list(theirs)
    for item in removed:
        for index, candidate in enumerate(merged):
            if _same(candidate, item):
                del merged[index]
                break
    merged.extend(appended)
    return merged


def _list_changes(base: list[Any], ours: list[Any]) -> tuple[list[Any], list[Any]]:
    """``(removed, appended)``: ``ours`` is ``base`` without ``removed``, order kept, followed
    by ``appended``. Items of base that ours keeps are matched greedily in order."""
    removed = []
    position = 0
    for item in base:
        if position < len(ours) and _same(ours[position], item):
            position += 1
        else:
            removed.append(item)
    return removed, ours[position:]


def _resolve(path: Path, base: Any, ours: Any, theirs: Any, policy: Policy) -> Any:
    if policy == "ours":
        return ours
    if policy == "theirs":
        return theirs
    if policy == "raise":
        raise SessionConflictError(path, "both requests changed this value")
    return policy(path, base, ours, theirs)


def _same(left: Any, right: Any) -> bool:
    """Equality as JSON sees it: ``1`` and ``True`` differ, ``1`` and ``1.0`` do not."""
    if left is right:
        return True
    if type(left) is bool or type(right) is bool:
        return type(left) is type(right) and left == right
    if type(left) in (dict, list) or type(right) in (dict, list):
        if type(left) is not type(right) or len(left) != len(right):
            return False
        if type(left) is dict:
            return left.keys() == right.keys() and all(_same(left[k], right[k]) for k in left)
        return all(_same(a, b) for a, b in zip(left, right, strict=True))
    return bool(left == right)
