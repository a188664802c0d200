"""The store contract suite: subclass :class:`StoreContract` and implement ``create_store``."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from ..errors import InvalidSessionIdError
from ..ids import new_session_id
from ..store import Store, SupportsClear, SupportsCount, SupportsPurge, as_async

HOSTILE_IDS = [
    "",
    "short",
    "../" * 15,
    "../../../../../../../../../../../etc/passwd",
    "a" * 42 + "/",
    "a" * 42 + " ",
    "a" * 42 + "\n",
    "a" * 42 + "\x00",
    "a" * 42 + "é",
    "a" * 44,
    "a" * 300,
]
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


def run_threads(count: int, target: Callable[[int], None]) -> None:
    """Run ``target(i)`` in ``count`` threads that start together; re-raise the first error."""
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def body(index: int) -> None:
        try:
            barrier.wait()
            target(index)
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            errors.append(exc)

    threads = [threading.Thread(target=body, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


class StoreContract:
    """Behaviour every store must show. Subclasses implement :meth:`create_store`."""

    threads = 8

    def create_store(self) -> Store:
        """Return a store on this test class's isolated data; called once or more per test."""
        raise NotImplementedError

    @pytest.fixture
    def store(self) -> Iterator[Store]:
        store = self.create_store()
        self._written: list[str] = []
        yield store
        for sid in self._written:
            store.delete(sid)
        store.close()

    def sid(self) -> str:
        """A fresh id, deleted from the store after the test."""
        sid = new_session_id()
        self._written.append(sid)
        return sid

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

    def test_delete_removes(self, store: Store) -> None:
        sid = self.sid()
        store.set(sid, b"x", 60)
        store.delete(sid)
        assert store.get(sid) is None
        assert store.replace(sid, b"y", 60) is False

    def test_delete_of_unknown_id_is_quiet(self, store: Store) -> None:
        store.delete(self.sid())

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
        store.delete(hostile)

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
        assert wait_until(lambda: store.get(expiring) is None), "a 1 s TTL did not expire"
        assert wait_until(lambda: store.get(added) is None)
        assert store.get(refreshed) == b"b", "touch did not extend the TTL"
        assert store.get(durable) == b"d"
        assert store.replace(expiring, b"x", 60) is False
        assert store.touch(added, 60) is False
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

    # -- optional capabilities

    def test_count(self, store: Store) -> None:
        if not isinstance(store, SupportsCount):
            pytest.skip(f"{type(store).__name__} does not offer count()")
        before = store.count()
        ids = [self.sid() for _ in range(3)]
        for sid in ids:
            store.set(sid, b"x", 60)
        assert store.count() == before + 3
        store.delete(ids[0])
        assert store.count() == before + 2

    def test_clear(self, store: Store) -> None:
        if not isinstance(store, SupportsClear):
            pytest.skip(f"{type(store).__name__} does not offer clear()")
        ids = [self.sid() for _ in range(3)]
        for sid in ids:
            store.set(sid, b"x", 60)
        store.clear()
        assert [store.get(sid) for sid in ids] == [None, None, None]
        if isinstance(store, SupportsCount):
            assert store.count() == 0

    def test_purge_expired(self, store: Store) -> None:
        if not isinstance(store, SupportsPurge):
            pytest.skip(f"{type(store).__name__} expires sessions natively: no purge_expired()")
        stale, live = [self.sid(), self.sid()], self.sid()
        for sid in stale:
            store.set(sid, b"old", 1)
        store.set(live, b"new", 60)
        assert wait_until(lambda: all(store.get(sid) is None for sid in stale))
        assert store.purge_expired() == 2
        assert store.purge_expired() == 0
        assert store.get(live) == b"new"

    # -- the async twin

    def test_async_twin_follows_the_same_contract(self, store: Store) -> None:
        sid, other = self.sid(), self.sid()

        async def scenario() -> None:
            astore = as_async(store)
            try:
                assert await astore.get(sid) is None
                assert await astore.add(sid, b"one", 60) is True
                assert await astore.add(sid, b"two", 60) is False
                assert await astore.replace(sid, b"three", 60) is True
                assert await astore.replace(other, b"x", 60) is False
                await astore.set(other, b"four", 60)
                assert await astore.get(other) == b"four"
                assert await astore.touch(sid, 60) is True
                assert await astore.get(sid) == b"three"
                await astore.delete(sid)
                assert await astore.get(sid) is None
                assert await astore.touch(sid, 60) is False
            finally:
                await astore.close()

        asyncio.run(scenario())
        assert store.get(other) == b"four", "the async twin does not share the store's data"


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
            store.delete(key)
            self.model.pop(key, None)

        @rule(key=sid)
        def touch(self, key: str) -> None:
            assert store.touch(key, 60) is (key in self.model)

        @invariant()
        def same_contents(self) -> None:
            assert {key: store.get(key) for key in ids} == {key: self.model.get(key) for key in ids}

    return DictModel
