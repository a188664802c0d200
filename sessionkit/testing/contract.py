"""The store contract suite: subclass :class:`StoreContract` and implement ``create_store``."""

from __future__ import annotations

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from ..errors import InvalidSessionIdError
from ..store import Store, SupportsClear, SupportsCount, SupportsPurge
from .base import BINARY_PAYLOADS, FOREIGN_IDS, HOSTILE_IDS, ContractBase
from .drivers import run_threads
from .sessions import SessionContract
from .users import UserIndexContract
from .versions import VersionContract


class BasicContract(ContractBase):
    """The operations every store has: get, set, add, replace, delete, touch, expiry."""

    # -- basic operations

    def test_get_unknown_id_returns_none(self, store: Store) -> None:
        assert store.get(self.sid()) is None

    def test_set_then_get(self, store: Store) -> None:
        sid = self.sid()
        store.set(sid, b'{"a":1}', 60)
        assert store.get(sid) == b'{"a":1}'

    @pytest.mark.parametrize("payload", BINARY_PAYLOADS.values(), ids=BINARY_PAYLOADS.keys())
    def test_binary_payload_round_trips(self, store: Store, payload: bytes) -> None:
        sid = self.sid()
        store.set(sid, payload, 60)
        assert store.get(sid) == payload

    def test_set_overwrites(self, store: Store) -> None:
        sid = self.sid()
        store.set(sid, b"first", 60)
        store.set(sid, b"second", 60)
        assert store.get(sid) == b"second"

    def test_add_creates_only_when_absent(self, store: Store) -> None:
        sid = self.sid()
        assert store.add(sid, b"one", 60) is True
        assert store.add(sid, b"two", 60) is False
        assert store.get(sid) == b"one"

    def test_replace_updates_only_when_present(self, store: Store) -> None:
        sid = self.sid()
        assert store.replace(sid, b"ghost", 60) is False
        assert store.get(sid) is None
        store.set(sid, b"one", 60)
        assert store.replace(sid, b"two", 60) is True
        assert store.get(sid) == b"two"

    def test_delete_removes_and_says_so(self, store: Store) -> None:
        sid = self.sid()
        store.set(sid, b"x", 60)
        assert store.delete(sid) is True
        assert store.get(sid) is None
        assert store.replace(sid, b"y", 60) is False
        assert store.delete(sid) is False

    def test_delete_of_unknown_id_is_quiet(self, store: Store) -> None:
        assert store.delete(self.sid()) is False

    def test_touch_reports_presence(self, store: Store) -> None:
        sid = self.sid()
        assert store.touch(sid, 60) is False
        assert store.get(sid) is None
        store.set(sid, b"x", 60)
        assert store.touch(sid, 120) is True
        assert store.get(sid) == b"x"

    @pytest.mark.parametrize("ttl", [0, -1, 1.5, "60", None])
    def test_ttl_must_be_a_positive_int(self, store: Store, ttl: object) -> None:
        sid = self.sid()
        for write in (store.set, store.add, store.replace):
            with pytest.raises(ValueError):
                write(sid, b"x", ttl)  # type: ignore[arg-type]
        assert store.get(sid) is None

    @pytest.mark.parametrize("hostile", HOSTILE_IDS, ids=range(len(HOSTILE_IDS)))
    def test_malformed_id_is_never_stored(self, store: Store, hostile: str) -> None:
        assert store.get(hostile) is None
        for write in (store.set, store.add, store.replace):
            with pytest.raises(InvalidSessionIdError):
                write(hostile, b"x", 60)
        assert store.touch(hostile, 60) is False
        assert store.delete(hostile) is False

    @pytest.mark.parametrize("foreign", FOREIGN_IDS, ids=len)
    def test_ids_of_other_shapes_are_accepted(self, store: Store, foreign: str) -> None:
        store.delete(foreign)
        try:
            assert store.add(foreign, b"imported", 60) is True
            assert store.get(foreign) == b"imported"
            assert store.replace(foreign, b"changed", 60) is True
            assert store.touch(foreign, 60) is True
            assert store.get(foreign) == b"changed"
        finally:
            assert store.delete(foreign) is True

    def test_second_instance_reads_what_the_first_wrote(self, store: Store) -> None:
        sid = self.sid()
        store.set(sid, b"shared", 60)
        other = self.create_store()
        try:
            assert other.get(sid) == b"shared"
            assert other.replace(sid, b"changed", 60) is True
        finally:
            other.close()
        assert store.get(sid) == b"changed"

    # -- expiry

    def test_expired_means_gone(self, store: Store) -> None:
        expiring, refreshed, added, durable = self.sid(), self.sid(), self.sid(), self.sid()
        store.set(expiring, b"a", 1)
        store.set(refreshed, b"b", 1)
        assert store.touch(refreshed, 60) is True
        assert store.add(added, b"c", 1) is True
        store.set(durable, b"d", 60)
        assert self.let_expire(lambda: store.get(expiring) is None), "a 1 s TTL did not expire"
        assert self.let_expire(lambda: store.get(added) is None, 0)
        assert store.get(refreshed) == b"b", "touch did not extend the TTL"
        assert store.get(durable) == b"d"
        assert store.replace(expiring, b"x", 60) is False
        assert store.touch(added, 60) is False
        assert store.delete(added) is False, "delete reported an expired session as removed"
        assert store.add(expiring, b"again", 60) is True
        assert store.get(expiring) == b"again"

    # -- concurrency

    def test_add_is_atomic_under_concurrency(self, store: Store) -> None:
        for _ in range(5):
            sid = self.sid()
            results: dict[int, bool] = {}

            def add(index: int, sid: str = sid, results: dict[int, bool] = results) -> None:
                results[index] = store.add(sid, f"writer-{index}".encode(), 60)

            run_threads(self.threads, add)
            winners = [index for index, won in results.items() if won]
            assert len(winners) == 1, f"add succeeded {len(winners)} times"
            assert store.get(sid) == f"writer-{winners[0]}".encode()

    def test_replace_never_resurrects_a_deleted_session(self, store: Store) -> None:
        for _ in range(5):
            sid = self.sid()
            store.set(sid, b"alive", 60)

            def race(index: int, sid: str = sid) -> None:
                if index == 0:
                    store.delete(sid)
                    return
                while store.replace(sid, f"writer-{index}".encode(), 60):
                    pass

            run_threads(self.threads, race)
            assert store.get(sid) is None, "a replace brought a deleted session back"

    def test_concurrent_writers_never_leave_partial_data(self, store: Store) -> None:
        sid = self.sid()
        size = 64 * 1024
        payloads = [bytes([index]) * size for index in range(self.threads)]
        store.set(sid, payloads[0], 60)
        torn: list[bytes] = []

        def write_and_read(index: int) -> None:
            for _ in range(10):
                store.set(sid, payloads[index], 60)
                seen = store.get(sid)
                if seen not in payloads:
                    torn.append(seen or b"")

        run_threads(self.threads, write_and_read)
        assert not torn, "a reader saw a partially written session"
        assert store.get(sid) in payloads

    # -- a random walk compared with a dict

    def test_behaves_like_a_dict_under_random_operations(self, store: Store) -> None:
        ids = [self.sid() for _ in range(4)]
        machine = _dict_model_machine(store, ids)
        machine.TestCase.settings = settings(
            max_examples=15, stateful_step_count=15, deadline=None, database=None
        )
        machine.TestCase().runTest()

    # -- optional capabilities of the synchronous store

    def test_count(self, store: Store) -> None:
        self.require(SupportsCount)
        counted: SupportsCount = self.base_store  # type: ignore[assignment]
        before = counted.count()
        ids = [self.sid() for _ in range(3)]
        for sid in ids:
            store.set(sid, b"x", 60)
        assert counted.count() == before + 3
        store.delete(ids[0])
        assert counted.count() == before + 2

    def test_clear(self, store: Store) -> None:
        self.require(SupportsClear)
        cleared: SupportsClear = self.base_store  # type: ignore[assignment]
        ids = [self.sid() for _ in range(3)]
        for sid in ids:
            store.set(sid, b"x", 60)
        cleared.clear()
        assert [store.get(sid) for sid in ids] == [None, None, None]
        if isinstance(cleared, SupportsCount):
            assert cleared.count() == 0

    def test_purge_expired(self, store: Store) -> None:
        self.require(SupportsPurge)
        purged: SupportsPurge = self.base_store  # type: ignore[assignment]
        stale, live = [self.sid(), self.sid()], self.sid()
        for sid in stale:
            store.set(sid, b"old", 1)
        store.set(live, b"new", 60)
        assert self.let_expire(lambda: all(store.get(sid) is None for sid in stale))
        assert purged.purge_expired() == 2
        assert purged.purge_expired() == 0
        assert store.get(live) == b"new"

    def test_purge_expired_at_most_a_limit(self, store: Store) -> None:
        self.require(SupportsPurge)
        purged: SupportsPurge = self.base_store  # type: ignore[assignment]
        stale = [self.sid() for _ in range(5)]
        for sid in stale:
            store.set(sid, b"old", 1)
        assert self.let_expire(lambda: all(store.get(sid) is None for sid in stale))
        assert purged.purge_expired(limit=2) == 2
        assert purged.purge_expired(limit=2) == 2
        assert purged.purge_expired(limit=2) == 1
        assert purged.purge_expired(limit=2) == 0


def _dict_model_machine(store: Store, ids: list[str]) -> type[RuleBasedStateMachine]:
    """A state machine that drives ``store`` and a dict side by side over a few ids."""
    sid = st.sampled_from(ids)
    data = st.binary(min_size=1, max_size=64)

    class DictModel(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.model: dict[str, bytes] = {}
            for key in ids:
                store.delete(key)

        @rule(key=sid, value=data)
        def set(self, key: str, value: bytes) -> None:
            store.set(key, value, 60)
            self.model[key] = value

        @rule(key=sid, value=data)
        def add(self, key: str, value: bytes) -> None:
            assert store.add(key, value, 60) is (key not in self.model)
            self.model.setdefault(key, value)

        @rule(key=sid, value=data)
        def replace(self, key: str, value: bytes) -> None:
            assert store.replace(key, value, 60) is (key in self.model)
            if key in self.model:
                self.model[key] = value

        @rule(key=sid)
        def delete(self, key: str) -> None:
            assert store.delete(key) is (key in self.model)
            self.model.pop(key, None)

        @rule(key=sid)
        def touch(self, key: str) -> None:
            assert store.touch(key, 60) is (key in self.model)

        @invariant()
        def same_contents(self) -> None:
            assert {key: store.get(key) for key in ids} == {key: self.model.get(key) for key in ids}

    return DictModel


class StoreContract(BasicContract, VersionContract, UserIndexContract, SessionContract):
    """Behaviour every store must show. Subclasses implement :meth:`create_store`.

    Every test runs twice: on the store, and on its async twin (:func:`sessionkit.as_async`)
    driven from synchronous test code. Optional capabilities are tested when the store has
    them and skipped with the reason otherwise. The last part drives a
    :class:`~sessionkit.SessionManager` on the store: parallel requests, logins and logouts.

    Class attributes a subclass may set:

    - ``frozen_clock``: True if :meth:`create_store` gives its stores ``clock=self.clock``;
      expiry tests then move that clock instead of waiting for real time to pass (stores
      whose server keeps the time, such as Redis or memcached, wait).
    - ``shared_between_processes``: False for stores whose data lives in one process.
    - ``threads``: how many threads race in the concurrency tests.
    """
