"""What the memory and file stores do beyond the shared contract."""

from __future__ import annotations

import fcntl
import multiprocessing
import os
import resource
import signal
import stat
from pathlib import Path

import pytest

from sessionkit.errors import ConfigurationError, InvalidSessionIdError, StoreUnavailableError
from sessionkit.ids import new_session_id
from sessionkit.stores.file import FileStore
from sessionkit.stores.memory import MemoryStore
from sessionkit.testing import FrozenClock


def test_memory_reclaims_expired_entries_without_reads() -> None:
    clock = FrozenClock()
    store = MemoryStore(clock=clock)
    for _ in range(100):
        store.set(new_session_id(), b"x", 10)
    clock.now += 11
    store.set(new_session_id(), b"y", 10)  # a write reclaims what fell due
    assert len(store._table.entries) == 1


def test_memory_heap_stays_bounded_under_rewrites() -> None:
    store = MemoryStore(clock=FrozenClock())
    sid = new_session_id()
    for _ in range(10_000):
        store.set(sid, b"x", 100)
    assert len(store._table.heap) <= 2 * len(store._table.entries) + 64


def test_memory_max_entries_evicts_the_soonest_to_expire() -> None:
    store = MemoryStore(max_entries=3, clock=FrozenClock())
    ids = [new_session_id() for _ in range(4)]
    for sid, ttl in zip(ids, (300, 100, 200, 400), strict=True):
        store.set(sid, b"x", ttl)
    assert store.count() == 3
    assert store.get(ids[1]) is None
    assert all(store.get(sid) == b"x" for sid in (ids[0], ids[2], ids[3]))


def test_memory_rewrites_move_expiry_both_ways_for_reclaim_and_eviction() -> None:
    """A rewrite pushes no heap item when it moves the expiry later: the entry outlives its
    first item's time, is reclaimed at its own, and ranks by it for eviction. One that moves
    it earlier is reclaimed at the earlier time."""
    clock = FrozenClock()
    store = MemoryStore(max_entries=3, clock=clock)
    longer, shorter, other = (new_session_id() for _ in range(3))
    store.set(longer, b"a", 10)
    store.set(shorter, b"b", 100)
    store.set(other, b"c", 50)
    clock.now += 5
    store.set(longer, b"a2", 60)  # now due at 65, past other's 50
    store.set(shorter, b"b2", 10)  # now due at 15
    assert len(store._table.heap) == 4  # the earlier expiry pushed an item, the later none
    clock.now += 11  # 16: shorter's time has come, longer's first item (10) too
    store.touch(other, 34)  # a write reclaims what fell due: due at 50 still
    assert store.get(shorter) is None
    assert len(store._table.entries) == 2  # shorter reclaimed; longer kept
    assert store.get(longer) == b"a2"
    store.set(new_session_id(), b"d", 100)
    store.set(new_session_id(), b"e", 100)  # full: evicts the soonest, other (50)
    assert store.get(other) is None
    assert store.get(longer) == b"a2"
    clock.now += 50  # 66: longer is due
    assert store.count() == 2
    assert store.get(longer) is None


def test_named_memory_stores_share_data_and_anonymous_ones_do_not() -> None:
    sid = new_session_id()
    MemoryStore("shared-test").set(sid, b"x", 60)
    assert MemoryStore("shared-test").get(sid) == b"x"
    assert MemoryStore().get(sid) is None


def test_memory_rejects_a_bad_bound() -> None:
    with pytest.raises(ConfigurationError):
        MemoryStore(max_entries=0)


def test_file_store_permissions(tmp_path: Path) -> None:
    store = FileStore(tmp_path / "sessions")
    sid = new_session_id()
    store.set(sid, b"x", 60)
    assert stat.S_IMODE(os.stat(tmp_path / "sessions").st_mode) == 0o700
    assert stat.S_IMODE(os.stat(tmp_path / "sessions" / sid[:2]).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(tmp_path / "sessions" / sid[:2] / sid).st_mode) == 0o600


def test_file_store_never_writes_outside_its_directory(tmp_path: Path) -> None:
    store = FileStore(tmp_path / "sessions")
    for hostile in ("../../escape", "../" + "a" * 40, "/etc/passwd"):
        with pytest.raises(InvalidSessionIdError):
            store.set(hostile, b"x", 60)
        assert store.get(hostile) is None
    assert list(tmp_path.iterdir()) == [], "nothing is made for a write that was refused"
    store.set(new_session_id(), b"x", 60)
    assert [p.name for p in tmp_path.iterdir()] == ["sessions"]


def test_file_purge_removes_only_expired_files(tmp_path: Path) -> None:
    clock = FrozenClock()
    store = FileStore(tmp_path, clock=clock)
    expired = [new_session_id() for _ in range(3)]
    live = [new_session_id() for _ in range(2)]
    for sid in expired:
        store.set(sid, b"old", 10)
    for sid in live:
        store.set(sid, b"new", 1000)
    clock.now += 11
    assert store.count() == 2
    assert store.purge_expired() == 3
    assert [store.get(sid) for sid in live] == [b"new", b"new"]
    assert not any((tmp_path / sid[:2] / sid).exists() for sid in expired)


@pytest.mark.parametrize("url", ["file://host/dir", "file://", "file:///?fsync=maybe"])
def test_file_url_errors(url: str) -> None:
    with pytest.raises(ConfigurationError):
        FileStore.from_url(url)


def _hammer(directory: str, sid: str, index: int, rounds: int) -> list[str]:
    store = FileStore(directory)
    payload = bytes([index]) * 50_000
    problems = []
    for _ in range(rounds):
        store.set(sid, payload, 60)
        seen = store.get(sid)
        if seen is None or len(set(seen)) != 1 or len(seen) != 50_000:
            problems.append("partial or missing read")
        own = new_session_id()
        if not store.add(own, payload, 60) or store.get(own) != payload:
            problems.append("lost a private session")
    return problems


def test_several_processes_writing_one_session_never_see_partial_data(tmp_path: Path) -> None:
    sid = new_session_id()
    context = multiprocessing.get_context("spawn")
    with context.Pool(4) as pool:
        results = pool.starmap(_hammer, [(str(tmp_path), sid, i, 50) for i in range(4)])
    assert results == [[], [], [], []]
    assert FileStore(tmp_path).count() == 1 + 4 * 50


def test_temporaries_of_dead_writers_go_on_open_and_purge(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    sid = new_session_id()
    store.set(sid, b"x", 60)
    shard = tmp_path / sid[:2]
    (shard / ".tmp-crashed").write_bytes(b"partial")
    FileStore(tmp_path)  # opening the store removes it, whatever its age
    assert not (shard / ".tmp-crashed").exists()
    (shard / ".tmp-crashed-again").write_bytes(b"partial")
    in_flight = shard / ".tmp-in-flight"
    with open(in_flight, "wb") as writer:
        fcntl.flock(writer.fileno(), fcntl.LOCK_EX)  # what a live writer holds
        assert store.purge_expired() == 0
        assert in_flight.exists(), "a write in progress must not lose its temporary file"
    assert not (shard / ".tmp-crashed-again").exists()
    assert store.get(sid) == b"x"


def test_a_missing_directory_is_never_created_by_purge(tmp_path: Path) -> None:
    store = FileStore(tmp_path / "nowhere")
    with pytest.raises(ConfigurationError, match="no such directory"):
        store.purge_expired()
    assert store.count() == 0
    assert not (tmp_path / "nowhere").exists()
    store.initialize()
    assert stat.S_IMODE(os.stat(tmp_path / "nowhere").st_mode) == 0o700


def test_a_directory_in_place_of_a_session_is_a_clear_error(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    sid = new_session_id()
    (tmp_path / sid[:2] / sid).mkdir(parents=True)
    with pytest.raises(StoreUnavailableError) as caught:
        store.get(sid)
    assert sid not in str(caught.value)
    with pytest.raises(StoreUnavailableError) as caught:
        store.set(sid, b"x", 60)
    assert sid not in str(caught.value)
    assert [p.name for p in (tmp_path / sid[:2]).iterdir() if p.name != ".lock"] == [sid]


def test_a_directory_others_can_write_to_is_warned_about(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    tmp_path.chmod(0o777)
    FileStore(tmp_path)
    assert "writable by other users" in caplog.text


def test_a_write_the_disk_refuses_is_unavailable_and_leaves_no_file(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    sid = new_session_id()
    store.set(sid, b"old", 60)
    # A file size limit makes write() fail with EFBIG, as a full disk fails it with ENOSPC.
    limits = resource.getrlimit(resource.RLIMIT_FSIZE)
    ignored = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (1024, limits[1]))
    try:
        with pytest.raises(StoreUnavailableError) as caught:
            store.set(sid, b"x" * 4096, 60)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, limits)
        signal.signal(signal.SIGXFSZ, ignored)
    assert "File too large" in str(caught.value)
    assert sid not in str(caught.value)
    assert store.get(sid) == b"old"
    assert [p.name for p in (tmp_path / sid[:2]).iterdir()] == [sid]  # no temporary left
