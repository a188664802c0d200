"""A save outlasts a burst of parallel saves of its session: each of its compare-and-set
tries is beaten by a rival's save made just before it, as many times as a test says, on a
real memory store."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from sessionkit import SessionConflictError, SessionManager
from sessionkit.lifecycle import MERGE_ATTEMPTS
from tests.helpers import Contended

SECRET = "a-secret-for-the-merge-attempt-tests-0123456789"


def burst(rivals: int, commit: Callable[[SessionManager, object], object]) -> list[str]:
    """A session's cart after one request's item, saved against ``rivals`` parallel saves."""
    store = Contended()
    manager = SessionManager(store, SECRET)
    first = manager.open(None)
    first["cart"] = []
    cookie = manager.commit(first)
    assert cookie is not None
    cookie = cookie.split(";", 1)[0]
    count = iter(range(rivals))

    def rival() -> None:
        other = manager.open(cookie)
        other["cart"] = [*other["cart"], f"rival-{next(count)}"]
        manager.commit(other)

    mine = manager.open(cookie)
    mine["cart"] = [*mine["cart"], "mine"]
    store.rival, store.rivals = rival, rivals
    commit(manager, mine)
    cart: list[str] = manager.open(cookie)["cart"]
    return cart


def sync_commit(manager: SessionManager, session: object) -> object:
    return manager.commit(session)  # type: ignore[arg-type]


def async_commit(manager: SessionManager, session: object) -> object:
    return asyncio.run(manager.acommit(session))  # type: ignore[arg-type]


@pytest.mark.parametrize("commit", [sync_commit, async_commit])
def test_a_save_beaten_by_a_hundred_parallel_saves_keeps_every_item(
    commit: Callable[[SessionManager, object], object],
) -> None:
    cart = burst(100, commit)
    assert sorted(cart) == sorted(["mine", *(f"rival-{n}" for n in range(100))])


@pytest.mark.parametrize("commit", [sync_commit, async_commit])
def test_a_save_beaten_at_every_try_is_refused_not_lost(
    commit: Callable[[SessionManager, object], object],
) -> None:
    with pytest.raises(SessionConflictError, match="kept changing"):
        burst(MERGE_ATTEMPTS, commit)
