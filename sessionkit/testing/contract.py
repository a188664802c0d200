"""The store contract suite: subclass :class:`StoreContract` and implement ``create_store``."""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable, Iterator

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from ..errors import ConfigurationError, InvalidSessionIdError
from ..ids import new_session_id
from ..store import (
    AsyncStore,
    Store,
    SupportsClear,
    SupportsCount,
    SupportsPurge,
    SupportsUserIndex,
    SupportsVersions,
    as_async,
)
from .drivers import SyncFacade, run_threads
from .servers import FrozenClock

HOSTILE_IDS = [
    "",
    "short",
    "a" * 7,
    "../" * 15,
    "../../../../../../../../../../../etc/passwd",
    "a" * 42 + "/",
    "a" * 42 + " ",
    "a" * 42 + "\n",
    "a" * 42 + "\x00",
    "a" * 42 + "é",
    "a" * 42 + ".",
    "a" * 129,
    "a" * 300,
]
# Ids of other shapes than sessionkit's own 43 characters, which stores must accept too.
FOREIGN_IDS = ["abcdefgh", "0123456789abcdefghijklmnopqrstuv", "A-_z" * 32]
BINARY_PAYLOADS = {
    "every-byte": bytes(range(256)),
    "nul-and-newlines": b"\x00\r\n\x00" * 64,
    "json": '{"user":"zoë","cart":[1,2,3]}'.encode(),
    "200k": bytes(i % 251 for i in range(200_000)),
}
EXPIRY_DEADLINE = 6.0  # memcached counts in whole seconds, so a 1 s TTL can live up to ~2 s


def wait_until(predicate: Callable[[], bool], deadline: float = EXPIRY_DEADLINE) -> bool:
    """Poll ``predicate`` until it holds or ``deadline`` seconds pass; return its last value."""
    end = time.monotonic() + deadline
    while not predicate():
        if time.monotonic() > end:
            return False
        time.sleep(0.05)
    return True


class StoreContract:
    """Behaviour every store must show. Subclasses implement :meth:`create_store`.

    Every test runs twice: on the store, and on its async twin (:func:`sessionkit.as_async`)
    driven from synchronous test code. Optional capabilities are tested when the store has
    them and skipped with the reason otherwise.

    Class attributes a subclass may set:

    - ``frozen_clock``: True if :meth:`create_store` gives its stores ``clock=self.clock``;
      expiry tests then move that clock instead of waiting for real time to pass (stores
      whose server keeps the time, such as Redis or memcached, wait).
    - ``shared_between_processes``: False for stores whose data lives in one process.
    - ``threads``: how many threads race in the concurrency tests.
    """

    threads = 8
    frozen_clock = False
    shared_between_processes = True
    clock: FrozenClock

    def create_store(self) -> Store:
        """Return a store on this test class's isolated data; called once or more per test."""
        raise NotImplementedError

    @pytest.fixture(params=["sync", "async"])
    def store(self, request: pytest.FixtureRequest) -> Iterator[Store]:
        self.clock = FrozenClock(time.time())
        self._written: list[str] = []
        self.base_store = self.create_store()
        face: Store = self.base_store
        if request.param == "async":
            face = SyncFacade(self.make_async_twin(self.base_store))
        yield face
        for sid in self._written:
            self.base_store.delete(sid)
        if face is not self.base_store:
            face.close()
        self.base_store.close()

    def make_async_twin(self, store: Store) -> Callable[[], AsyncStore]:
        """How the async twin is made (in its event loop); a subclass may override it."""
        return lambda: as_async(store)

    def sid(self) -> str:
        """A fresh id, deleted from the store after the test."""
        sid = new_session_id()
        self._written.append(sid)
        return sid

    def has(self, capability: type) -> bool:
        return isinstance(self.base_store, capability)

    def require(self, capability: type) -> None:
        if not self.has(capability):
            name = type(self.base_store).__name__
            pytest.skip(f"{name} does not offer {capability.__name__.removeprefix('Supports')}")

    def let_expire(self, predicate: Callable[[], bool], seconds: float = 2.0) -> bool:
        """Let short TTLs run out: move the frozen clock, or wait for the server's clock."""
        if self.frozen_clock:
            self.clock.now += seconds
            return predicate()
        return wait_until(predicate)

    def pass_time(self, seconds: float) -> None:
        """Let ``seconds`` pass: on the frozen clock, or (server clocks) on the real one."""
        if self.frozen_clock:
            self.clock.now += seconds
        else:
            time.sleep(seconds)

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

    # -- versions

    def test_versioned_read_and_compare_and_set(self, store: Store) -> None:
        self.require(SupportsVersions)
        versioned: SupportsVersions = store  # type: ignore[assignment]
        sid = self.sid()
        assert versioned.get_versioned(sid) is None
        store.set(sid, b"one", 60)
        entry = versioned.get_versioned(sid)
        assert entry is not None
        assert entry.data == b"one"
        swap = versioned.replace_versioned(sid, b"two", 60, entry.version)
        assert swap.stored is True
        assert swap.entry is not None
        assert swap.entry.data == b"two"
        assert store.get(sid) == b"two"
        stale = versioned.replace_versioned(sid, b"three", 60, entry.version)
        assert stale.stored is False, "a write with a stale version was stored"
        assert stale.entry is not None
        assert stale.entry.data == b"two"
        assert store.get(sid) == b"two"
        current = stale.entry.version
        if current is None:  # the store cannot tell without a read
            fresh = versioned.get_versioned(sid)
            assert fresh is not None
            current = fresh.version
        assert versioned.replace_versioned(sid, b"four", 60, current).stored is True
        assert store.get(sid) == b"four"

    def test_version_changes_with_every_other_writer(self, store: Store) -> None:
        self.require(SupportsVersions)
        versioned: SupportsVersions = store  # type: ignore[assignment]
        sid = self.sid()
        store.set(sid, b"base", 60)
        for write in (
            lambda: store.set(sid, b"by set", 60),
            lambda: store.replace(sid, b"by replace", 60),
        ):
            entry = versioned.get_versioned(sid)
            assert entry is not None
            write()
            assert versioned.replace_versioned(sid, b"mine", 60, entry.version).stored is False
        entry = versioned.get_versioned(sid)
        assert entry is not None
        assert entry.data == b"by replace"

    def test_compare_and_set_never_creates_a_session(self, store: Store) -> None:
        self.require(SupportsVersions)
        versioned: SupportsVersions = store  # type: ignore[assignment]
        sid = self.sid()
        store.set(sid, b"alive", 60)
        entry = versioned.get_versioned(sid)
        assert entry is not None
        store.delete(sid)
        swap = versioned.replace_versioned(sid, b"back", 60, entry.version)
        assert (swap.stored, swap.entry) == (False, None)
        assert store.get(sid) is None
        store.set(sid, b"short", 1)
        entry = versioned.get_versioned(sid)
        assert entry is not None
        assert self.let_expire(lambda: store.get(sid) is None)
        assert versioned.replace_versioned(sid, b"late", 60, entry.version).entry is None
        assert store.get(sid) is None

    def test_compare_and_set_checks_ids_and_ttls(self, store: Store) -> None:
        self.require(SupportsVersions)
        versioned: SupportsVersions = store  # type: ignore[assignment]
        sid = self.sid()
        store.set(sid, b"x", 60)
        entry = versioned.get_versioned(sid)
        assert entry is not None
        for hostile in HOSTILE_IDS[:4]:
            assert versioned.get_versioned(hostile) is None
            with pytest.raises(InvalidSessionIdError):
                versioned.replace_versioned(hostile, b"x", 60, entry.version)
        with pytest.raises(ValueError):
            versioned.replace_versioned(sid, b"y", 0, entry.version)
        assert store.get(sid) == b"x"

    def test_compare_and_set_loses_no_update_between_threads(self, store: Store) -> None:
        self.require(SupportsVersions)
        sid = self.sid()
        store.set(sid, b"", 60)
        run_threads(self.threads, lambda index: append_tokens(store, sid, f"t{index}", 10))
        assert_all_tokens(store.get(sid), [f"t{index}" for index in range(self.threads)], 10)

    def test_compare_and_set_loses_no_update_between_processes(self, store: Store) -> None:
        self.require(SupportsVersions)
        if not self.shared_between_processes:
            pytest.skip(f"{type(self.base_store).__name__} keeps its data in one process")
        if store is not self.base_store:
            pytest.skip("processes race through the synchronous store")
        sid = self.sid()
        store.set(sid, b"", 60)
        context = multiprocessing.get_context("fork")
        workers = [
            context.Process(target=self._append_in_child, args=(sid, f"p{index}", 10))
            for index in range(4)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(60)
        assert [worker.exitcode for worker in workers] == [0, 0, 0, 0]
        assert_all_tokens(store.get(sid), [f"p{index}" for index in range(4)], 10)

    def _append_in_child(self, sid: str, name: str, rounds: int) -> None:
        own = self.create_store()
        try:
            append_tokens(own, sid, name, rounds)
        finally:
            own.close()

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


def append_tokens(store: Store, sid: str, name: str, rounds: int) -> None:
    """Append ``name:0`` ... ``name:rounds-1`` to a session's bytes by compare-and-set."""
    versioned: SupportsVersions = store  # type: ignore[assignment]
    for number in range(rounds):
        entry = versioned.get_versioned(sid)
        while True:
            assert entry is not None, "the session vanished during the race"
            swap = versioned.replace_versioned(
                sid, entry.data + f"{name}:{number};".encode(), 60, entry.version
            )
            if swap.stored:
                break
            entry = swap.entry
            if entry is not None and entry.version is None:
                entry = versioned.get_versioned(sid)


def assert_all_tokens(data: bytes | None, names: list[str], rounds: int) -> None:
    assert data is not None
    tokens = [token for token in data.decode().split(";") if token]
    expected = [f"{name}:{number}" for name in names for number in range(rounds)]
    assert sorted(tokens) == sorted(expected), "an update was lost or doubled"


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
