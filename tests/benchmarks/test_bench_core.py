"""The core's full request cycle on memory:// beside the primitives it cannot avoid.

Run: pytest tests/benchmarks/test_bench_core.py --benchmarks
The ``cycle`` group holds both: sessionkit's open + read + modify + commit, and a baseline
doing the same work by hand (HMAC verify of the cookie, JSON decode + encode, dict get + set).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import pytest

from sessionkit import SessionManager

from .targets import SMALL as SESSION


@pytest.mark.benchmark(group="core-cycle-memory")
def test_sessionkit_cycle(benchmark: Any) -> None:
    manager = SessionManager("memory://", secret="benchmark-secret", max_age=None)
    first = manager.open(None)
    first.update(SESSION)
    set_cookie = manager.commit(first)
    assert set_cookie is not None
    cookie = set_cookie.split(";", 1)[0]

    def cycle() -> str | None:
        session = manager.open(cookie)
        session["views"] += 1
        return manager.commit(session)

    benchmark(cycle)
    assert manager.open(cookie)["views"] > 1


@pytest.mark.benchmark(group="core-cycle-memory")
def test_primitives_baseline(benchmark: Any) -> None:
    key = hashlib.sha256(b"benchmark-secret").digest()
    sid = "x" * 43
    signature = hmac.new(key, sid.encode(), hashlib.sha256).digest()
    table = {sid: json.dumps(SESSION, separators=(",", ":")).encode()}

    def cycle() -> None:
        expected = hmac.new(key, sid.encode(), hashlib.sha256).digest()
        assert hmac.compare_digest(expected, signature)
        data = json.loads(table.get(sid))  # type: ignore[arg-type]
        data["views"] += 1
        table[sid] = json.dumps(data, separators=(",", ":")).encode()

    benchmark(cycle)
