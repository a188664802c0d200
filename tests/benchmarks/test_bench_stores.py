"""Every installed backend, four cases, two session sizes: sessionkit beside the raw client.

Run: pytest tests/benchmarks/test_bench_stores.py --benchmarks [--bench-backend redis]
Groups are ``<backend>-<case>-<size>``; each holds sessionkit and the raw client, measured
alternately ``--bench-reps`` times. ``scripts/bench_table.py`` turns a saved run into the table
(median of the per-repetition medians, ratio to raw).

- ``lookup``: ``manager.open(cookie)`` and one read of the session, beside a raw read.
- ``save``: open, modify, commit (read + update-only write), beside a raw read + write.
- ``touch``: a rolling manager refreshing an unread session, beside a raw TTL refresh.
- ``create``: a new session filled and committed (create-only write, signed cookie), beside a
  raw create-only write of the same bytes under a fresh key.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .conftest import Targets
from .targets import SESSIONS, TTL, Target

Case = Callable[[], Any]


def sessionkit_case(target: Target, case: str, size: str) -> Case:
    manager, cookie = target.manager, target.seeded[size].cookie
    data = SESSIONS[size]

    def lookup() -> Any:
        return manager.open(cookie)["user"]

    def save() -> str | None:
        session = manager.open(cookie)
        session["views"] += 1
        return manager.commit(session)

    def touch() -> str | None:
        return target.rolling.commit(target.rolling.open(cookie))

    def create() -> str | None:
        session = manager.open(None)
        session.update(data)
        return manager.commit(session)

    return {"lookup": lookup, "save": save, "touch": touch, "create": create}[case]


def raw_case(target: Target, case: str, size: str) -> Case:
    raw, seeded = target.raw, target.seeded[size]
    key, payload = seeded.raw_key, seeded.payload

    def lookup() -> bytes | None:
        return raw.get(key)

    def save() -> None:
        raw.get(key)
        raw.put(key, payload, TTL)

    def touch() -> None:
        raw.expire(key, TTL)

    def create() -> None:
        raw.create(target.raw_key(), payload, TTL)

    return {"lookup": lookup, "save": save, "touch": touch, "create": create}[case]


def percentile(data: list[float], fraction: float) -> float:
    ordered = sorted(data)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def test_store(
    benchmark: Any, targets: Targets, backend: str, case: str, size: str, rep: int, impl: str
) -> None:
    target = targets.get(backend)
    seeded = target.seeded[size]
    benchmark.group = f"{backend}-{case}-{size}"
    benchmark.extra_info.update(
        backend=backend, case=case, size=size, rep=rep, impl=impl, bytes=len(seeded.payload)
    )
    make = sessionkit_case if impl == "sessionkit" else raw_case
    result = benchmark(make(target, case, size))
    benchmark.extra_info["p99"] = percentile(benchmark.stats.stats.data, 0.99)

    if impl == "raw":
        assert target.raw.get(seeded.raw_key) == seeded.payload
    elif case == "lookup":
        assert result == SESSIONS[size]["user"]
    else:
        assert result is not None  # a cookie was sent
        assert result.startswith("session=")
        assert target.manager.open(seeded.cookie)["user"] == SESSIONS[size]["user"]
