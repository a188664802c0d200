"""The core's full request cycle on memory:// beside the primitives it cannot avoid.

Run: pytest tests/benchmarks/test_bench_core.py --benchmarks [--bench-reps 5]
Group ``core-cycle-memory``: sessionkit's open + read + modify + commit with the default
settings (the 14-day cookie is re-sent, as it is after every change), the same with the orjson
serializer, and a baseline doing the unavoidable work by hand: an HMAC-SHA256 check of the
cookie, JSON decode and encode, a dict get and set. The three alternate ``--bench-reps`` times.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from typing import Any

import pytest

from sessionkit import SessionManager

from .targets import SMALL as SESSION
from .targets import stored_cookie

IMPLS = ("sessionkit", "sessionkit-orjson", "raw")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    reps = metafunc.config.getoption("--bench-reps")
    points = [(rep, impl) for rep in range(reps) for impl in IMPLS]
    metafunc.parametrize(("rep", "impl"), points, ids=[f"r{r}-{i}" for r, i in points])


def sessionkit_cycle(serializer: str) -> Callable[[], Any]:
    manager = SessionManager(
        "memory://",
        secret="benchmark-secret-0123456789abcdefghijklmnopqrstuv",
        serializer=serializer,
    )
    cookie, _ = stored_cookie(manager, SESSION)

    def cycle() -> str | None:
        session = manager.open(cookie)
        session["views"] += 1
        return manager.commit(session)

    return cycle


def primitives() -> Callable[[], Any]:
    key = hashlib.sha256(b"benchmark-secret-0123456789abcdefghijklmnopqrstuv").digest()
    sid = "x" * 43
    signature = hmac.digest(key, sid.encode(), "sha256")
    table = {sid: json.dumps(SESSION, separators=(",", ":")).encode()}

    def cycle() -> None:
        assert hmac.compare_digest(hmac.digest(key, sid.encode(), "sha256"), signature)
        data = json.loads(table[sid])
        data["views"] += 1
        table[sid] = json.dumps(data, separators=(",", ":")).encode()

    return cycle


def test_cycle(benchmark: Any, rep: int, impl: str) -> None:
    benchmark.group = "core-cycle-memory"
    benchmark.extra_info.update(backend="memory", case="cycle", size="300B", rep=rep, impl=impl)
    if impl == "raw":
        benchmark(primitives())
    else:
        set_cookie = benchmark(sessionkit_cycle("orjson" if impl.endswith("orjson") else "json"))
        assert set_cookie is not None  # a changed session re-sends its cookie
