"""The synchronous commit takes a direct path for its commonest cases
(``lifecycle.commit_inline``); here it is held to what ``lifecycle.commit``, the one
definition of a commit, does in every case: the same store calls, the same cookie and the
same stored session, over the manager's options and what a request can do to its session."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest

from sessionkit import SessionManager, cookies, lifecycle
from sessionkit.codec import SessionCodec
from sessionkit.protect import Mode
from sessionkit.session import Session
from sessionkit.testing import FrozenClock
from tests.helpers import CountingStore

SECRET = "a-secret-for-the-commit-path-tests-0123456789"
SID = "s" * 43

OPTIONS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "rolling": {"rolling": True},
    "touch_after": {"rolling": True, "touch_after": 60},
    "resave": {"resave": True},
    "save_uninitialized": {"save_uninitialized": True},
    "last_write_wins": {"concurrency": "last_write_wins"},
    "browser_cookie": {"max_age": None},
    "absolute_timeout": {"absolute_timeout": 3600},
}


def _append(session: Session) -> None:
    session["items"].append(3)


def _same_value(session: Session) -> None:
    session["n"] = session["n"]


def _save_then_change(session: Session) -> None:
    session["n"] = 2
    session.save()
    session["n"] = 3


def _regenerate_save_change(session: Session) -> None:
    session.regenerate()
    session["n"] = 2
    session.save()
    session["n"] = 3


def _set_info(session: Session) -> None:
    session.info["device"] = "phone"


ACTIONS: dict[str, Callable[[Session], object]] = {
    "nothing": lambda session: None,
    "read_number": lambda session: session["n"],
    "read_list": lambda session: session["items"],
    "change": lambda session: session.__setitem__("n", 2),
    "same_value": _same_value,
    "append": _append,
    "touch": lambda session: session.touch(),
    "max_age": lambda session: setattr(session, "max_age", 90),
    "bind_user": lambda session: setattr(session, "user_id", "ann"),
    "info": _set_info,
    "regenerate": lambda session: session.regenerate(keep=True),
    "destroy": lambda session: session.destroy(),
    "clear": lambda session: session.clear(),
    "save_then_change": _save_then_change,
    "regenerate_save_change": _regenerate_save_change,
}


def general_commit(manager: SessionManager, session: Session) -> str | None:
    """``SessionManager.commit`` through ``lifecycle.commit`` alone."""
    state = session._state
    outcome = lifecycle.drive(lifecycle.commit(manager, state, manager.inline_store))
    return manager._set_cookie(state, outcome, False, manager.cookie)


class RecordingStore(CountingStore):
    """Records each call with its TTL, where it has one."""

    def __init__(self, clock: FrozenClock) -> None:
        super().__init__(clock)
        self.ttls: list[tuple[str, int]] = []

    def set(self, sid: str, data: bytes, ttl: int) -> None:
        self.ttls.append(("set", ttl))
        super().set(sid, data, ttl)

    def add(self, sid: str, data: bytes, ttl: int) -> bool:
        self.ttls.append(("add", ttl))
        return super().add(sid, data, ttl)

    def replace(self, sid: str, data: bytes, ttl: int) -> bool:
        self.ttls.append(("replace", ttl))
        return super().replace(sid, data, ttl)

    def touch(self, sid: str, ttl: int) -> bool:
        self.ttls.append(("touch", ttl))
        return super().touch(sid, ttl)

    def replace_versioned(self, sid: str, data: bytes, ttl: int, version: Any) -> Any:
        self.ttls.append(("replace_versioned", ttl))
        return super().replace_versioned(sid, data, ttl, version)


def run(
    commit: Callable[[SessionManager, Session], str | None],
    options: dict[str, Any],
    action: Callable[[Session], object],
    race: bool,
    legacy: bool = False,
) -> tuple[Any, ...]:
    """One request on a stored session, committed with ``commit``: what the store was asked
    (with the TTLs), the cookie sent, and what the store holds afterwards under the
    session's last id. ``legacy``: the session was stored without the metadata header."""
    clock = FrozenClock()
    store = RecordingStore(clock)
    # A legacy session also predates protection: unprotected, so that it is read.
    protect: Mode | None = None if legacy else "sign"
    manager = SessionManager(store, SECRET, clock=clock, protect=protect, **options)
    if legacy:
        store.set(SID, b'{"n":1,"items":[1,2]}', 3600)
    else:
        seed = Session(manager, SID, from_cookie=False)
        seed.update({"n": 1, "items": [1, 2]})
        seed._state.id = SID
        manager.commit(seed)
    clock.now += 120
    session = Session(manager, SID, from_cookie=True)
    action(session)
    if race:  # another request saves the session before this one commits
        other = Session(manager, SID, from_cookie=True)
        other["other"] = True
        manager.commit(other)
    store.calls.clear()
    store.ttls.clear()
    set_cookie = commit(manager, session)
    state = session._state
    stored = store.get(state.id)
    held = None
    if stored is not None:  # read afresh, not from what the codec keeps
        meta, body = SessionCodec(manager.codec.protection).unpack(state.id, stored)
        held = (manager.loads_stored(body), meta.created, meta.active, meta.user_id, meta.info)
    cookie = set_cookie
    if set_cookie is not None:
        value = set_cookie.split(";", 1)[0].partition("=")[2]
        if value:  # the session's id, signed (new ids differ from run to run)
            assert manager.signer.verify(value) == (state.id, True)
            cookie = set_cookie.replace(value, "<signed id>")
    users = store.user_sessions("ann").keys()
    return store.calls, store.ttls, cookie, held, state.id == SID, users


def inline_commit(manager: SessionManager, session: Session) -> str | None:
    return manager.commit(session)


def async_inline_commit(manager: SessionManager, session: Session) -> str | None:
    """``acommit`` on a store that never blocks, which takes the direct path too."""
    return asyncio.run(manager.acommit(session))


@pytest.fixture(autouse=True)
def frozen_wall_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The cookie's Expires follows the real clock (the browser's), not the manager's: held
    still, so that the runs compared cannot straddle a second."""
    monkeypatch.setattr(cookies, "time", SimpleNamespace(time=lambda: 1_800_000_000.5))


@pytest.mark.parametrize(
    ("options", "action", "race", "legacy"),
    [
        *itertools.product(OPTIONS, ACTIONS, [False, True], [False]),
        *itertools.product(OPTIONS, ["change", "read_list", "touch"], [False], [True]),
    ],
)
def test_the_direct_commit_does_what_the_general_one_does(
    options: str, action: str, race: bool, legacy: bool
) -> None:
    general = run(general_commit, OPTIONS[options], ACTIONS[action], race, legacy)
    assert run(inline_commit, OPTIONS[options], ACTIONS[action], race, legacy) == general
    assert run(async_inline_commit, OPTIONS[options], ACTIONS[action], race, legacy) == general
