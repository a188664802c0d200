"""What every part of the contract suite shares: the store fixture and its hooks."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from ..ids import new_session_id
from ..store import AsyncStore, Store, as_async
from .drivers import facade_for
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


class ContractBase:
    """The fixture and hooks of the contract; see :class:`~sessionkit.testing.StoreContract`."""

    threads = 8
    frozen_clock = False
    shared_between_processes = True
    clock: FrozenClock
    base_store: Store

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
            face = facade_for(self.make_async_twin(self.base_store))
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
