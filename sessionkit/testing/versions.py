"""The contract of stores with versioned writes (:class:`~sessionkit.store.SupportsVersions`)."""

from __future__ import annotations

import multiprocessing

import pytest

from ..errors import InvalidSessionIdError
from ..store import Store, SupportsVersions
from .base import HOSTILE_IDS, ContractBase
from .drivers import run_threads


class VersionContract(ContractBase):
    """Compare-and-set: a stale version never writes, nothing is created, no update is lost
    between threads or processes."""

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
