"""Session metadata, absolute timeouts, touch_after, the circuit breaker, deferred load
failures and stores without versions, through the manager on real memory stores."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from sessionkit import SessionManager, StoreUnavailableError
from sessionkit.breaker import CircuitBreaker, Probe
from sessionkit.errors import UnsupportedOperationError
from sessionkit.stores.file import FileStore
from sessionkit.stores.memory import MemoryStore
from sessionkit.testing import FrozenClock
from tests.helpers import CountingStore, cookie_of

SECRET = "a-test-secret-that-is-long-enough-for-anything"


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def make(store: CountingStore, clock: FrozenClock) -> Callable[..., SessionManager]:
    def make(**options: Any) -> SessionManager:
        return SessionManager(options.pop("store", store), SECRET, clock=clock, **options)

    return make


def start(manager: SessionManager, **data: Any) -> str:
    session = manager.open(None)
    session.update(data)
    return cookie_of(manager.commit(session))


# -- metadata


def test_created_and_last_active_are_kept_with_the_data(
    make: Callable[..., SessionManager], clock: FrozenClock
) -> None:
    manager = make()
    cookie = start(manager, views=1)
    created = manager.open(cookie).created
    assert created is not None
    assert created.timestamp() == int(clock.now)
    clock.now += 100
    session = manager.open(cookie)
    session["views"] = 2
    manager.commit(session)
    session = manager.open(cookie)
    assert session.created == created
    assert session.last_active is not None
    assert session.last_active.timestamp() == int(clock.now)


def test_info_is_stored_and_listed(make: Callable[..., SessionManager]) -> None:
    manager = make()
    session = manager.open(None)
    session.user_id = "ann"
    session.info["device"] = "Firefox on Linux"
    cookie = cookie_of(manager.commit(session))
    assert manager.open(cookie).info == {"device": "Firefox on Linux"}
    [listed] = manager.user_sessions("ann")
    assert listed.info == {"device": "Firefox on Linux"}
    assert listed.id_hint == listed.id[:6]
    assert listed.id not in repr(listed)


def test_binding_a_user_alone_is_a_change_that_is_written(
    make: Callable[..., SessionManager], store: CountingStore
) -> None:
    manager = make()
    cookie = start(manager, views=1)
    store.calls.clear()
    session = manager.open(cookie)
    session.user_id = "ann"
    manager.commit(session)
    assert store.calls == ["get_versioned", "replace_versioned", "bind_user"]
    assert manager.open(cookie).user_id == "ann"


def test_a_store_without_a_user_index_says_so(make: Callable[..., SessionManager]) -> None:
    class NoIndex(MemoryStore):
        user_sessions = bind_user = delete_user_sessions = None  # type: ignore[assignment]

    manager = make(store=NoIndex())
    assert manager.user_index is False
    session = manager.open(None)
    session.user_id = "ann"
    manager.commit(session)  # the binding is kept in the session, not indexed
    with pytest.raises(UnsupportedOperationError, match="per-user index"):
        manager.user_sessions("ann")
    with pytest.raises(UnsupportedOperationError):
        manager.destroy_user_sessions("ann")


# -- absolute timeout


def test_an_absolute_timeout_ends_an_active_session(
    make: Callable[..., SessionManager], clock: FrozenClock, store: CountingStore
) -> None:
    manager = make(absolute_timeout=3600, rolling=True)
    cookie = start(manager, user="ann")
    for _ in range(5):  # active every 10 minutes: rolling keeps it alive
        clock.now += 600
        session = manager.open(cookie)
        assert session["user"] == "ann"
        manager.commit(session)
    clock.now += 600
    session = manager.open(cookie)
    assert dict(session) == {}
    assert session.is_new
    store.calls.clear()
    assert "Max-Age=0" in (manager.commit(session) or "")
    assert store.calls == ["delete"]
    assert store.count() == 0


def test_the_store_ttl_never_outlives_the_absolute_timeout(
    make: Callable[..., SessionManager], clock: FrozenClock
) -> None:
    store = MemoryStore(clock=clock)
    manager = make(store=store, absolute_timeout=100, max_age=3600)
    start(manager, user="ann")
    clock.now += 99
    assert store.count() == 1
    clock.now += 2
    assert store.count() == 0


# -- touch_after


def test_touch_after_refreshes_at_most_once_per_period(
    make: Callable[..., SessionManager], clock: FrozenClock, store: CountingStore
) -> None:
    manager = make(rolling=True, touch_after=60)
    cookie = start(manager, user="ann")
    writes = 0
    for _ in range(12):  # a request every 10 s for two minutes
        clock.now += 10
        session = manager.open(cookie)
        assert session["user"] == "ann"
        store.calls.clear()
        set_cookie = manager.commit(session)
        assert (set_cookie is not None) == ("replace_versioned" in store.calls)
        writes += store.calls.count("replace_versioned")
        assert "touch" not in store.calls
    assert writes == 2


def test_touch_after_leaves_unused_sessions_alone(
    make: Callable[..., SessionManager], clock: FrozenClock, store: CountingStore
) -> None:
    manager = make(rolling=True, touch_after=60)
    cookie = start(manager, user="ann")
    clock.now += 3600
    store.calls.clear()
    assert manager.commit(manager.open(cookie)) is None
    assert store.calls == []


def test_touch_after_needs_rolling(make: Callable[..., SessionManager]) -> None:
    with pytest.raises(ValueError, match="rolling"):
        make(touch_after=60)


# -- the circuit breaker


class SwitchableStore(MemoryStore):
    """A memory store whose calls fail as an unreachable server's would, when switched off."""

    def __init__(self) -> None:
        super().__init__()
        self.up = True
        self.calls = 0

    def _reach(self) -> None:
        self.calls += 1
        if not self.up:
            raise StoreUnavailableError("switchable://", "switched off")

    def get_versioned(self, sid: str) -> Any:
        self._reach()
        return super().get_versioned(sid)

    def replace_versioned(self, *args: Any) -> Any:
        self._reach()
        return super().replace_versioned(*args)

    def add(self, sid: str, data: bytes, ttl: int) -> bool:
        self._reach()
        return super().add(sid, data, ttl)

    def delete(self, sid: str) -> bool:
        self._reach()
        return super().delete(sid)


def test_a_breaker_by_default_except_before_a_store_that_cannot_be_down(
    tmp_path: Path,
) -> None:
    """memory:// keeps its sessions in the process: never unavailable, so nothing to break."""
    assert SessionManager("memory://", SECRET).breaker is None
    assert isinstance(SessionManager(f"file://{tmp_path}", SECRET).breaker, CircuitBreaker)
    chosen = CircuitBreaker()
    assert SessionManager("memory://", SECRET, breaker=chosen).breaker is chosen
    assert SessionManager(f"file://{tmp_path}", SECRET, breaker=False).breaker is None


def test_the_breaker_fails_fast_then_probes(
    clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    store = SwitchableStore()
    breaker = CircuitBreaker(failures=3, reset_after=5, clock=clock)
    manager = SessionManager(store, SECRET, breaker=breaker)
    cookie = start(manager, views=1)
    store.up = False
    caplog.set_level(logging.INFO, "sessionkit")
    for _ in range(3):
        with pytest.raises(StoreUnavailableError, match="switched off"):
            manager.open(cookie)["views"]
    calls = store.calls
    for _ in range(10):  # open: no call reaches the store
        with pytest.raises(StoreUnavailableError, match="failing fast") as raised:
            manager.open(cookie)["views"]
        assert raised.value.retry_after == pytest.approx(5)
    assert store.calls == calls
    clock.now += 5
    with pytest.raises(StoreUnavailableError, match="switched off"):  # the probe
        manager.open(cookie)["views"]
    with pytest.raises(StoreUnavailableError, match="failing fast"):
        manager.open(cookie)["views"]
    store.up = True
    clock.now += 5
    assert manager.open(cookie)["views"] == 1
    assert manager.open(cookie)["views"] == 1
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 2, lines
    assert "is unavailable (switched off)" in lines[0]
    assert "is available again after 10.0 s" in lines[1]


def open_breaker(**options: Any) -> CircuitBreaker:
    breaker = CircuitBreaker(failures=2, **options)
    for _ in range(2):
        assert breaker.before_call() is None
        breaker.failed(StoreUnavailableError("x://", "down"))
    assert breaker.is_open
    return breaker


def test_by_default_one_call_at_a_time_probes_without_pause(clock: FrozenClock) -> None:
    breaker = open_breaker(probe_wait=0, clock=clock)
    assert breaker.before_call() is None  # the probe goes at once
    with pytest.raises(StoreUnavailableError, match="failing fast"):
        breaker.before_call()  # everyone else fails fast meanwhile
    breaker.failed(StoreUnavailableError("x://", "down"))
    assert breaker.before_call() is None  # and the next call probes again, at once
    breaker.released()  # that one was cancelled: no verdict, the next may probe
    assert breaker.before_call() is None
    breaker.succeeded()
    assert not breaker.is_open
    assert breaker.before_call() is None


def test_a_call_during_a_probe_goes_on_when_the_probe_finds_the_store_back() -> None:
    breaker = open_breaker(probe_wait=60)
    assert breaker.before_call() is None  # the probe
    probe = breaker.before_call()
    assert probe is not None  # this call is to wait for it
    threading.Timer(0.01, breaker.succeeded).start()
    breaker.wait(probe)  # returns: the breaker closed
    assert not breaker.is_open


def test_a_call_during_a_probe_fails_as_soon_as_the_probe_does() -> None:
    breaker = open_breaker(probe_wait=60)
    assert breaker.before_call() is None
    probe = breaker.before_call()
    assert probe is not None
    threading.Timer(0.01, breaker.failed, [StoreUnavailableError("x://", "down")]).start()
    started = time.monotonic()
    with pytest.raises(StoreUnavailableError, match="failing fast"):
        breaker.wait(probe)
    assert time.monotonic() - started < 30  # woken by the probe, not by probe_wait


def test_a_call_waits_for_a_probe_probe_wait_seconds_at_most() -> None:
    breaker = open_breaker(probe_wait=0.01)
    assert breaker.before_call() is None  # a probe that hangs
    probe = breaker.before_call()
    assert probe is not None
    started = time.monotonic()
    with pytest.raises(StoreUnavailableError, match="failing fast"):
        breaker.wait(probe)
    assert time.monotonic() - started >= 0.01


def test_coroutines_wait_for_a_probe_without_blocking_the_loop() -> None:
    async def scenario() -> None:
        breaker = open_breaker(probe_wait=60)
        assert breaker.before_call() is None
        probe = breaker.before_call()
        assert probe is not None
        waiting = asyncio.ensure_future(breaker.await_probe(probe))
        await asyncio.sleep(0)
        assert not waiting.done()
        breaker.succeeded()  # the probe found the store back, on this loop
        await waiting
        hung = open_breaker(probe_wait=0.01)
        assert hung.before_call() is None
        probe = hung.before_call()
        assert probe is not None
        with pytest.raises(StoreUnavailableError, match="failing fast"):
            await hung.await_probe(probe)

    asyncio.run(scenario())


def test_a_probe_that_ends_after_a_waiting_loop_closed_wakes_nobody_there() -> None:
    breaker = open_breaker(probe_wait=60)
    assert breaker.before_call() is None
    probe = breaker.before_call()
    assert probe is not None

    async def wait_and_leave() -> None:
        waiting = asyncio.ensure_future(breaker.await_probe(probe))
        await asyncio.sleep(0)  # waiting; asyncio.run then cancels it and closes the loop
        assert not waiting.done()

    asyncio.run(wait_and_leave())
    breaker.succeeded()  # must not call into the closed loop
    assert not breaker.is_open


class GatedStore(SwitchableStore):
    """A switchable store whose reads wait, while ``gate`` is clear, in a worker thread."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.gate.set()
        self.reading = threading.Event()

    def get_versioned(self, sid: str) -> Any:
        self.reading.set()
        self.gate.wait()
        return super().get_versioned(sid)


class TellingBreaker(CircuitBreaker):
    """A breaker that says when a call starts waiting for a probe."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.waiting = threading.Event()

    def wait(self, probe: Probe) -> None:
        self.waiting.set()
        super().wait(probe)

    async def await_probe(self, probe: Probe) -> None:
        self.waiting.set()
        await super().await_probe(probe)


def test_requests_during_the_probe_that_finds_the_store_back_are_served() -> None:
    store = GatedStore()
    breaker = TellingBreaker(probe_wait=60)
    manager = SessionManager(store, SECRET, breaker=breaker)
    cookie = start(manager, views=1)
    store.up = False
    for _ in range(3):
        with pytest.raises(StoreUnavailableError, match="switched off"):
            manager.open(cookie)["views"]
    assert breaker.is_open
    store.up, store.reading = True, threading.Event()
    store.gate.clear()
    with ThreadPoolExecutor(2) as pool:
        probe = pool.submit(lambda: manager.open(cookie)["views"])
        store.reading.wait()  # the probe is at the store
        during = pool.submit(lambda: manager.open(cookie)["views"])
        waited = breaker.waiting.wait(10)  # the second request waits for the probe
        store.gate.set()
        assert waited
        assert probe.result() == 1
        assert during.result() == 1


def test_coroutines_during_the_probe_that_finds_the_store_back_are_served() -> None:
    class ThreadedGatedStore(GatedStore):
        def async_store(self) -> Any:
            from sessionkit.store import ThreadedAsyncStore

            return ThreadedAsyncStore(self)

    store = ThreadedGatedStore()
    breaker = TellingBreaker(probe_wait=60)
    manager = SessionManager(store, SECRET, breaker=breaker)
    cookie = start(manager, views=1)

    async def views() -> Any:
        return (await manager.aopen(cookie))["views"]

    async def scenario() -> None:
        store.up = False
        for _ in range(3):
            with pytest.raises(StoreUnavailableError, match="switched off"):
                await views()
        assert breaker.is_open
        store.up, store.reading = True, threading.Event()
        store.gate.clear()
        probe = asyncio.ensure_future(views())
        await asyncio.to_thread(store.reading.wait)  # the probe is at the store
        during = asyncio.ensure_future(views())
        waited = await asyncio.to_thread(breaker.waiting.wait, 10)
        store.gate.set()
        assert waited
        assert await probe == 1
        assert await during == 1

    asyncio.run(scenario())


def test_the_breaker_can_be_left_out(clock: FrozenClock) -> None:
    store = SwitchableStore()
    manager = SessionManager(store, SECRET, breaker=False)
    cookie = start(manager, views=1)
    store.up = False
    for _ in range(5):
        with pytest.raises(StoreUnavailableError, match="switched off"):
            manager.open(cookie)["views"]


def test_breaker_settings_are_checked() -> None:
    with pytest.raises(ValueError):
        CircuitBreaker(failures=0)
    with pytest.raises(ValueError):
        CircuitBreaker(reset_after=-1)
    with pytest.raises(ValueError):
        CircuitBreaker(probe_wait=-0.1)


# -- async: a failed load is deferred to the session's first use


class ThreadedSwitchableStore(SwitchableStore):
    def async_store(self) -> Any:
        from sessionkit.store import ThreadedAsyncStore

        return ThreadedAsyncStore(self)


def test_a_request_that_never_uses_its_session_survives_a_store_outage() -> None:
    store = ThreadedSwitchableStore()
    manager = SessionManager(store, SECRET, breaker=False)
    cookie = start(manager, views=1)
    store.up = False

    async def scenario() -> None:
        untouched = await manager.aopen(cookie)
        assert await manager.acommit(untouched) is None
        used = await manager.aopen(cookie)
        with pytest.raises(StoreUnavailableError):
            used["views"]

    asyncio.run(scenario())


# -- stores without versions


def test_a_store_without_versions_keeps_last_write_wins_with_one_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Unversioned(MemoryStore):
        get_versioned = replace_versioned = None  # type: ignore[assignment]

    manager = SessionManager(Unversioned(), SECRET)
    assert "no versioned writes" in caplog.text
    cookie = start(manager, cart=[])
    one, two = manager.open(cookie), manager.open(cookie)
    one["cart"].append("one")
    two["cart"].append("two")
    manager.commit(one)
    manager.commit(two)
    assert manager.open(cookie)["cart"] == ["two"]


def test_last_write_wins_can_be_chosen(store: CountingStore) -> None:
    manager = SessionManager(store, SECRET, concurrency="last_write_wins")
    cookie = start(manager, cart=[])
    store.calls.clear()
    session = manager.open(cookie)
    session["cart"].append("x")
    manager.commit(session)
    assert store.calls == ["get", "replace"]


# -- a store that fails in the middle of a login


class FailingOn(MemoryStore):
    """A memory store whose named operation fails as an unreachable server's would."""

    def __init__(self, operation: str) -> None:
        super().__init__()
        self.operation = operation
        self.armed = False

    def _maybe_fail(self, operation: str) -> None:
        if self.armed and operation == self.operation:
            raise StoreUnavailableError("failing://", f"{operation} failed")

    def add(self, sid: str, data: bytes, ttl: int) -> bool:
        self._maybe_fail("add")
        return super().add(sid, data, ttl)

    def delete(self, sid: str) -> bool:
        self._maybe_fail("delete")
        return super().delete(sid)


def test_a_login_whose_write_fails_keeps_the_old_session() -> None:
    store = FailingOn("add")
    manager = SessionManager(store, SECRET, breaker=False)
    cookie = start(manager, cart=["x"])
    store.armed = True
    login = manager.open(cookie)
    login.regenerate(keep=True)
    login["user"] = "ann"
    with pytest.raises(StoreUnavailableError):
        manager.commit(login)
    assert manager.open(cookie)["cart"] == ["x"], "the failed login lost the session"


def test_a_login_whose_old_id_cannot_be_deleted_still_succeeds(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = FailingOn("delete")
    manager = SessionManager(store, SECRET, breaker=False)
    cookie = start(manager, cart=["x"])
    store.armed = True
    login = manager.open(cookie)
    login.regenerate(keep=True)
    login["user"] = "ann"
    new_cookie = cookie_of(manager.commit(login))
    assert dict(manager.open(new_cookie)) == {"cart": ["x"], "user": "ann"}
    assert "could not be deleted" in caplog.text
    logout = manager.open(new_cookie)
    logout.destroy()
    with pytest.raises(StoreUnavailableError):  # a logout that fails says so
        manager.commit(logout)


# -- purging in the background


def test_expired_sessions_are_purged_in_the_background(tmp_path: Any) -> None:
    clock = FrozenClock()
    store = FileStore(tmp_path, clock=clock)
    manager = SessionManager(store, SECRET, purge_interval=0.05, max_age=60)
    assert manager.purger is not None
    stale = start(manager, views=1)  # the first commit starts the purge thread
    assert store.count() == 1
    clock.now += 61
    deadline = time.monotonic() + 10
    while manager.purger.removed == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert manager.purger.removed == 1
    assert dict(manager.open(stale)) == {}
    manager.close()
    assert not manager.purger._thread.is_alive()


def test_a_store_that_expires_by_itself_gets_no_purge_thread() -> None:
    manager = SessionManager(MemoryStore(), SECRET, purge_interval=60)
    assert manager.purger is None
    with pytest.raises(ValueError, match="purge_interval"):
        SessionManager(MemoryStore(), SECRET, purge_interval=0)


def test_a_failing_purge_is_logged_once(tmp_path: Any, caplog: pytest.LogCaptureFixture) -> None:
    manager = SessionManager(FileStore(tmp_path / "missing"), SECRET, purge_interval=3600)
    assert manager.purger is not None
    for _ in range(3):
        manager.purger.purge_once()  # the directory does not exist yet
    assert caplog.text.count("purging session store") == 1
    (tmp_path / "missing").mkdir()
    manager.purger.purge_once()
    assert "works again" in caplog.text


def test_a_logout_while_the_store_is_down_waits_for_it_once() -> None:
    store = ThreadedSwitchableStore()
    manager = SessionManager(store, SECRET, breaker=False)
    cookie = start(manager, views=1)
    store.up = False

    async def scenario() -> None:
        session = await manager.aopen(cookie)  # the load fails: kept for the first use
        calls = store.calls
        session.destroy()
        with pytest.raises(StoreUnavailableError):
            await manager.acommit(session)
        assert store.calls == calls, "the commit tried the store again"

    asyncio.run(scenario())
