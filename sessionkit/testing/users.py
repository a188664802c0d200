"""The contract of stores with a per-user index (:class:`~sessionkit.store.SupportsUserIndex`)."""

from __future__ import annotations

import pytest

from ..errors import ConfigurationError
from ..ids import new_session_id
from ..store import Store, SupportsUserIndex
from .base import ContractBase


class UserIndexContract(ContractBase):
    """Listing and ending the sessions bound to a user, consistent with expiry."""

    # -- the per-user index

    def test_user_index_lists_live_sessions_of_each_user(self, store: Store) -> None:
        self.require(SupportsUserIndex)
        index: SupportsUserIndex = store  # type: ignore[assignment]
        alice, bob = f"alice-{new_session_id()}", f"bob@example.com {new_session_id()}"
        mine = {self.sid(): f"device {n}".encode() for n in range(3)}
        theirs = self.sid()
        for sid, data in mine.items():
            store.add(sid, data, 60)
            index.bind_user(alice, sid, 60)
            index.bind_user(alice, sid, 60)  # binding twice lists once
        store.add(theirs, b"bob's", 60)
        index.bind_user(bob, theirs, 60)
        assert index.user_sessions(alice) == mine
        assert index.user_sessions(bob) == {theirs: b"bob's"}
        assert index.user_sessions(f"nobody-{new_session_id()}") == {}
        gone = next(iter(mine))
        store.delete(gone)
        del mine[gone]
        assert index.user_sessions(alice) == mine

    def test_user_index_forgets_expired_sessions(self, store: Store) -> None:
        self.require(SupportsUserIndex)
        index: SupportsUserIndex = store  # type: ignore[assignment]
        user = f"user-{new_session_id()}"
        short, long = self.sid(), self.sid()
        store.add(short, b"short", 1)
        store.add(long, b"long", 60)
        index.bind_user(user, short, 1)
        index.bind_user(user, long, 60)
        assert self.let_expire(lambda: store.get(short) is None)
        assert index.user_sessions(user) == {long: b"long"}
        assert index.delete_user_sessions(user) == 1

    def test_user_index_keeps_a_refreshed_session(self, store: Store) -> None:
        self.require(SupportsUserIndex)
        index: SupportsUserIndex = store  # type: ignore[assignment]
        user = f"user-{new_session_id()}"
        sid = self.sid()
        store.add(sid, b"x", 1)
        index.bind_user(user, sid, 1)
        assert store.touch(sid, 60) is True
        assert store.replace(sid, b"y", 60) is True
        self.pass_time(1.5)
        assert index.user_sessions(user) == {sid: b"y"}

    def test_log_out_everywhere_but_here(self, store: Store) -> None:
        self.require(SupportsUserIndex)
        index: SupportsUserIndex = store  # type: ignore[assignment]
        user, other = f"user-{new_session_id()}", f"other-{new_session_id()}"
        here, *elsewhere = [self.sid() for _ in range(4)]
        bystander = self.sid()
        for sid in [here, *elsewhere]:
            store.add(sid, b"x", 60)
            index.bind_user(user, sid, 60)
        store.add(bystander, b"y", 60)
        index.bind_user(other, bystander, 60)
        assert index.delete_user_sessions(user, keep=here) == 3
        assert [store.get(sid) for sid in elsewhere] == [None, None, None]
        assert index.user_sessions(user) == {here: b"x"}
        assert index.user_sessions(other) == {bystander: b"y"}
        assert index.delete_user_sessions(user) == 1
        assert store.get(here) is None
        assert index.user_sessions(user) == {}
        assert store.get(bystander) == b"y"

    @pytest.mark.parametrize("user_id", ["", "a" * 257, "tab\there", None])
    def test_user_ids_are_checked(self, store: Store, user_id: object) -> None:
        self.require(SupportsUserIndex)
        index: SupportsUserIndex = store  # type: ignore[assignment]
        sid = self.sid()
        store.add(sid, b"x", 60)
        with pytest.raises(ConfigurationError):
            index.bind_user(user_id, sid, 60)  # type: ignore[arg-type]
        with pytest.raises(ConfigurationError):
            index.user_sessions(user_id)  # type: ignore[arg-type]
