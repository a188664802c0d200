"""The fault contract of a network store: a dead or frozen server costs a bounded wait and a
:class:`~sessionkit.StoreUnavailableError`, and the store works again once the server is back.

Subclass :class:`FaultContract`, give it the real server's address and a factory of stores
that connect through a given address with ``timeout`` (and ``connect_timeout``) set to
:attr:`FaultContract.timeout`::

    class TestMyStoreFaults(FaultContract):
        def server_address(self):
            return ("127.0.0.1", 6379)

        def create_store_via(self, host, port):
            return MyStore(f"myscheme://{host}:{port}/?timeout={self.timeout}&connect_timeout={self.timeout}")

Each test puts a :class:`~sessionkit.netutil.TCPRelay` between the store and its server and
cuts it (the server is dead: connections drop, new ones are refused) or hangs it (the server
is frozen: connections stay open, nothing answers), on the store and on its async twin.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from ..errors import StoreUnavailableError
from ..ids import new_session_id
from ..netutil import TCPRelay
from ..store import AsyncStore, Store, SupportsVersions, as_async
from .drivers import facade_for

Operation = Callable[[Store, str], object]

OPERATIONS: dict[str, Operation] = {
    "get": lambda store, sid: store.get(sid),
    "set": lambda store, sid: store.set(sid, b"x", 60),
    "add": lambda store, sid: store.add(sid, b"x", 60),
    "replace": lambda store, sid: store.replace(sid, b"x", 60),
    "delete": lambda store, sid: store.delete(sid),
    "touch": lambda store, sid: store.touch(sid, 60),
}


class FaultContract:
    """Fault tests of a network store; see the module docstring."""

    #: The ``timeout`` and ``connect_timeout`` the stores under test are made with.
    timeout = 0.5
    #: How much longer than :attr:`timeout` a failing call may take (connection set-up,
    #: scheduling on a busy machine).
    slack = 1.0
    #: Seconds the store may take to work again after the server is back.
    recovery = 10.0
    version: object = None

    def server_address(self) -> tuple[str, int]:
        """The real server's ``(host, port)``."""
        raise NotImplementedError

    def create_store_via(self, host: str, port: int) -> Store:
        """A store that reaches its server at ``host:port``, with the timeouts above."""
        raise NotImplementedError

    def make_async_twin(self, store: Store) -> Callable[[], AsyncStore]:
        return lambda: as_async(store)

    @pytest.fixture(params=["sync", "async"])
    def relayed(self, request: pytest.FixtureRequest) -> Iterator[tuple[Store, TCPRelay]]:
        relay = TCPRelay(self.server_address())
        store = self.create_store_via(*relay.address)
        face = store if request.param == "sync" else facade_for(self.make_async_twin(store))
        try:
            yield face, relay
        finally:
            relay.restore()
            if face is not store:
                face.close()
            store.close()
            relay.close()

    def operations(self, store: Store) -> dict[str, Operation]:
        if not isinstance(store, SupportsVersions):
            return OPERATIONS
        version = self.version  # one the store handed out while it was up (see warm_up)
        return {
            **OPERATIONS,
            "get_versioned": lambda store, sid: store.get_versioned(sid),
            "replace_versioned": lambda store, sid: store.replace_versioned(sid, b"y", 60, version),
        }

    def assert_unavailable(self, store: Store, name: str, operation: Operation) -> None:
        sid = new_session_id()
        started = time.monotonic()
        with pytest.raises(StoreUnavailableError) as caught:
            operation(store, sid)
        assert sid not in str(caught.value), f"{name}: the error message holds the session id"
        assert str(caught.value).count("is unavailable") == 1, f"{name}: {caught.value}"
        elapsed = time.monotonic() - started
        limit = self.timeout + self.slack
        assert elapsed <= limit, f"{name} took {elapsed:.2f} s, over {limit:.2f} s"

    def warm_up(self, store: Store) -> None:
        """Open the store's connections first, so that the fault meets pooled ones (and keep
        a version of the store's making for the versioned calls)."""
        sid = new_session_id()
        store.set(sid, b"warm", 60)
        if isinstance(store, SupportsVersions):
            entry = store.get_versioned(sid)
            assert entry is not None
            self.version = entry.version
        store.delete(sid)

    def test_a_dead_server_makes_every_call_unavailable_at_once(
        self, relayed: tuple[Store, TCPRelay]
    ) -> None:
        store, relay = relayed
        self.warm_up(store)
        relay.cut()
        for name, operation in self.operations(store).items():
            self.assert_unavailable(store, name, operation)

    def test_a_frozen_server_costs_at_most_the_timeout(
        self, relayed: tuple[Store, TCPRelay]
    ) -> None:
        store, relay = relayed
        self.warm_up(store)
        relay.hang()
        operations = self.operations(store)
        for name in ("get_versioned" if "get_versioned" in operations else "get", "set"):
            self.assert_unavailable(store, name, operations[name])

    def test_a_new_connection_to_a_frozen_server_costs_at_most_the_timeout(
        self, relayed: tuple[Store, TCPRelay]
    ) -> None:
        store, relay = relayed
        relay.hang()  # before any connection is made
        self.assert_unavailable(store, "get", OPERATIONS["get"])

    @pytest.mark.parametrize("fault", ["cut", "hang"])
    def test_the_store_works_again_once_the_server_is_back(
        self, relayed: tuple[Store, TCPRelay], fault: str
    ) -> None:
        store, relay = relayed
        sid = new_session_id()
        store.set(sid, b"kept", 60)
        getattr(relay, fault)()
        with pytest.raises(StoreUnavailableError):
            store.get(sid)
        relay.restore()
        deadline = time.monotonic() + self.recovery
        while True:
            try:
                assert store.get(sid) == b"kept"
                break
            except StoreUnavailableError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        assert store.delete(sid) is True
