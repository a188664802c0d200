"""One process's measurement: one framework, one backend, one implementation.

It builds the session app and the bare app (same framework, no session), stores one session of
each size for each operation through the app itself (a request to ``/seed/SIZE``), then runs
these segments, each a warm-up followed by a loop of requests between a ``before()`` and an
``after()`` call:

- ``bare``: the bare app's ``/bare`` with the smallest session's Cookie header;
- ``bare read`` / ``bare modify``: the bare app's ``/read`` and ``/modify``, same cookie: the
  same views, routes and responses, on a dict the app holds in place of a session;
- ``untouched``: the session app's ``/bare`` (a route that never uses the session), same cookie;
- ``read SIZE`` / ``modify SIZE``: the session app's ``/read`` (reads ``session["user"]``) and
  ``/modify`` (``session["views"] += 1``) with that size's cookie;
- ``raw read SIZE`` / ``raw modify SIZE``: the raw client's get, and get + set, of the bytes
  sessionkit's JSON stores for that size (see :mod:`.baselines`).

Before each segment the garbage collector runs and freezes what is alive (``gc.freeze``), so
no loop pays for a full collection triggered by what came before it.
``before``/``after`` are a timer in the wall-clock pass and callgrind's markers under valgrind.
The wall-clock pass also counts round trips per request (:mod:`.roundtrips`) after its loops.
"""

from __future__ import annotations

import gc
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .apps import Built, Store
from .baselines import Baseline, raw_client
from .drive import Marker, Response
from .matrix import OPERATIONS, builder
from .roundtrips import counter_for, per_request
from .servers import Servers
from .sessions import STAND_IN_ID, contents


@dataclass
class Plan:
    """How many requests a segment makes, per size; warm-up requests; requests counted for
    round trips (0: none)."""

    requests: dict[str, int]
    warmup: int = 10
    count: int = 0


@dataclass
class Timer:
    """``before``/``after`` for the wall-clock pass: the seconds of each loop, in order."""

    seconds: list[float] = field(default_factory=list)
    _start: float = 0.0

    def before(self) -> None:
        self._start = time.perf_counter()

    def after(self) -> None:
        self.seconds.append(time.perf_counter() - self._start)


def payload(size: str) -> bytes:
    return json.dumps(contents(size), separators=(",", ":"), ensure_ascii=False).encode()


def seed(built: Built, size: str) -> str:
    """Store the session of ``size`` through the app; return the Cookie header naming it."""
    response = built.driver.request(f"/seed/{size}", None)
    for value in response.header("Set-Cookie"):
        pair = value.split(";", 1)[0].strip()
        if pair.split("=", 1)[0] == built.cookie_name:
            return pair
    raise AssertionError(f"/seed/{size} set no {built.cookie_name} cookie: {response}")


def check(name: str, response: Response, previous: Response | None) -> None:
    """The warm-up's last response shows the request did what the segment says."""
    assert response.status == 200, f"{name}: status {response.status}: {response.body[:300]!r}"
    op = name.removeprefix("bare ")
    if op.startswith("read"):
        # the session's user, or the bare app's stand-in's: each app read its own
        expected = STAND_IN_ID if name.startswith("bare") else contents("300B")["user"]["id"]
        assert response.body == str(expected).encode(), f"{name}: {response.body!r}"
    elif op.startswith("modify"):
        assert previous is None or int(response.body) == int(previous.body) + 1, name
    else:
        assert response.body == b"ok", f"{name}: {response.body!r}"


def _loop(call: Callable[[], object], n: int, before: Marker, after: Marker) -> None:
    before()
    for _ in range(n):
        call()
    after()


class Measurement:
    """The apps, sessions and raw client of one (framework, backend, impl)."""

    def __init__(
        self, framework: str, backend: str, impl: str, servers: Servers, sizes: list[str]
    ) -> None:
        self.backend = backend
        self.sizes = sizes
        self.servers = servers
        build = builder(framework)
        self.app = build(impl, Store(backend, servers))  # first: Django configures for it
        self.bare = build("bare", Store(backend, servers))
        self.cookies = {(size, op): seed(self.app, size) for size in sizes for op in OPERATIONS}
        self.raw = raw_client(backend, servers)
        self.baselines = {size: Baseline(self.raw, payload(size)) for size in sizes}

    def segments(self) -> list[tuple[str, str, Callable[..., None], Any]]:
        """(name, size, run(n, before, after), one request) for every segment, in order."""
        first = self.sizes[0]
        small = self.cookies[first, "read"]
        out: list[tuple[str, str, Callable[..., None], Any]] = []

        def add(name: str, size: str, built: Built, path: str, cookie: str) -> None:
            driver = built.driver

            def run(n: int, before: Marker, after: Marker) -> None:
                driver.run(path, cookie, n, before, after)

            out.append((name, size, run, lambda: driver.request(path, cookie)))

        add("bare", first, self.bare, "/bare", small)
        for op in OPERATIONS:
            add(f"bare {op}", first, self.bare, f"/{op}", small)
        add("untouched", first, self.app, "/bare", small)
        for size in self.sizes:
            for op in OPERATIONS:
                add(f"{op} {size}", size, self.app, f"/{op}", self.cookies[size, op])
        for size in self.sizes:
            for op in OPERATIONS:
                call = getattr(self.baselines[size], op)

                def run(n: int, before: Marker, after: Marker, call: Any = call) -> None:
                    _loop(call, n, before, after)

                out.append((f"raw {op} {size}", size, run, call))
        return out

    def run(self, plan: Plan, before: Marker, after: Marker) -> dict[str, Any]:
        """Every segment: warm up, check, then the measured loop; then the round trips."""
        names = []
        segments = self.segments()
        for name, size, run, one in segments:
            # Every loop starts from the same collector state: what is alive so far (modules,
            # apps, the seeded sessions) is frozen out of the collector's sight, so a full
            # collection, which would cost whichever loop it fell in tens of thousands of
            # instructions a request, costs every loop the same: next to nothing.
            gc.collect()
            gc.freeze()
            previous = None
            for _ in range(plan.warmup):
                response = one()
                if not name.startswith("raw"):
                    check(name, response, previous)
                    previous = response
            run(plan.requests[size], before, after)
            names.append({"name": name, "requests": plan.requests[size]})
        result: dict[str, Any] = {"segments": names}
        if plan.count:
            directories = [*self.app.directories, *self.baselines_directory()]
            counter = counter_for(self.backend, self.servers, directories)
            result["roundtrips"] = {
                name: per_request(counter, one, plan.count)
                for name, _, _, one in segments
                if not name.startswith("bare")
            }
        return result

    def baselines_directory(self) -> list[Path]:
        directory = getattr(self.raw, "directory", None)
        return [] if directory is None else [directory]

    def close(self) -> None:
        self.app.close()
        self.bare.close()
        self.raw.close()
