"""A Locust user that drives a store directly, without HTTP: backend latency on its own.

Each ``StoreUser`` keeps a few sessions of its own in the store given by ``--store-url`` and
either looks one up (``get``) or saves one (``replace``, or ``add`` while it holds fewer than
:data:`SESSIONS_PER_USER`); both are reported to Locust as request type ``store``, names
``lookup`` and ``save``. A lookup must read back exactly the bytes last saved (or those of a
save that failed, which may have been written all the same): nothing means the session was
lost, other bytes that it was mixed up. The users of one process share one store object (its
connection pool), as the workers of a web server would.

Note that the clients run under gevent: those written in Python over sockets (redis-py, the
memcached store's connections) are cooperative, while libpq (psycopg) and SQLite block the
whole process during a call, so their latency includes waiting for the other users of the
same process.

    python -m locust -f loadtests/storefile.py --store-url redis://127.0.0.1:6379/0?prefix=lt:
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from typing import Any

from locust import User, events, task
from locust.env import Environment

import loadtests.recorder  # noqa: F401 - writes the records and the final stats
from loadtests.checks import LOST, MIXED, SessionMismatch
from loadtests.options import think_time, weights_of
from sessionkit import Store, open_store
from sessionkit.ids import new_session_id

SESSIONS_PER_USER = 5
TTL = 3600

_stores: dict[str, Store] = {}


def shared_store(url: str) -> Store:
    """The one store object of this process for ``url``."""
    if not url:
        raise ValueError("StoreUser needs --store-url")
    if url not in _stores:
        _stores[url] = open_store(url)
    return _stores[url]


@events.quitting.add_listener  # type: ignore[untyped-decorator]
def _close_stores(environment: Environment, **kwargs: Any) -> None:
    while _stores:
        _stores.popitem()[1].close()


class StoreUser(User):
    """Looks up and saves its own sessions, straight at the store."""

    def wait_time(self) -> float:
        return random.uniform(0, think_time(self.environment.parsed_options))

    def on_start(self) -> None:
        options = self.environment.parsed_options
        self.store = shared_store(getattr(options, "store_url", ""))
        weights = weights_of(options)
        self.weights = [weights["lookup"], weights["save"]]
        self.saved: dict[str, bytes] = {}  # what each of this user's sessions must hold
        self.unsure: dict[str, list[bytes]] = {}  # ... or may hold instead, after failed saves
        self.version = 0

    def on_stop(self) -> None:
        for sid in self.saved:
            self.store.delete(sid)
        self.saved.clear()

    @task
    def act(self) -> None:
        if self.saved and random.choices((True, False), self.weights)[0]:
            self.lookup()
        else:
            self.save()

    def lookup(self) -> None:
        sid = random.choice(list(self.saved))
        expected, maybe = self.saved[sid], self.unsure.get(sid, [])

        def check(found: bytes | None) -> None:
            if found is None:
                raise SessionMismatch(LOST, "the store has no such session")
            if found != expected and found not in maybe:
                raise SessionMismatch(MIXED, "the store holds other data")
            self.saved[sid] = found
            self.unsure.pop(sid, None)

        self.timed("lookup", lambda: self.store.get(sid), check, len(expected))

    def save(self) -> None:
        self.version += 1
        if len(self.saved) < SESSIONS_PER_USER:
            sid, data = new_session_id(), self.payload()

            def check(done: bool) -> None:
                if not done:
                    raise SessionMismatch(MIXED, "a new session id was taken")
                self.saved[sid] = data

            self.timed("save", lambda: self.store.add(sid, data, TTL), check, len(data))
        else:
            sid, data = random.choice(list(self.saved)), self.payload()

            def check(done: bool) -> None:
                self.unsure.pop(sid, None)
                if not done:
                    del self.saved[sid]
                    raise SessionMismatch(LOST, "the session was gone at save")
                self.saved[sid] = data

            if not self.timed("save", lambda: self.store.replace(sid, data, TTL), check, len(data)):
                self.unsure.setdefault(sid, []).append(data)

    def payload(self) -> bytes:
        """Session-like JSON, unique to this user and save."""
        data = {"views": self.version, "cart": [f"item-{id(self)}-{self.version}"], "user": "u"}
        return json.dumps(data).encode()

    def timed(
        self, name: str, call: Callable[[], Any], check: Callable[[Any], None], size: int
    ) -> bool:
        """Time ``call``, judge its result with ``check`` and report both to Locust; whether
        the call itself succeeded (it may have done its work even if not)."""
        error: Exception | None = None
        started = time.perf_counter()
        try:
            result = call()
        except Exception as exc:  # noqa: BLE001 - any store error is a failed request
            error = exc
        elapsed = (time.perf_counter() - started) * 1000
        raised = error is not None
        if error is None:
            try:
                check(result)
            except SessionMismatch as exc:
                error = exc
        self.environment.events.request.fire(
            request_type="store",
            name=name,
            response_time=elapsed,
            response_length=size,
            exception=error,
            context={},
        )
        return not raised
