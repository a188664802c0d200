"""The sessions every library stores: fixed contents at three sizes, the same on every run.

A size is the length of the contents as compact JSON (what sessionkit's default serializer
stores): a small session of about 300 bytes, then the same keys plus a ``history`` list grown
entry by entry until the JSON reaches 4 KB or 60 KB. No randomness: the lead's re-run after an
optimisation measures the same bytes.
"""

from __future__ import annotations

import json
from typing import Any

from .. import targets

SECRET = "benchmark-secret-0123456789abcdef"
TTL = 3600

# The benchmark suite's small session, less two keys: 320 bytes of JSON.
SMALL: dict[str, Any] = {k: v for k, v in targets.SMALL.items() if k not in ("last_seen", "tz")}
TARGET_BYTES = {"300B": 300, "4KB": 4 * 1024, "60KB": 60 * 1024}
SIZES = tuple(TARGET_BYTES)


def json_size(data: dict[str, Any]) -> int:
    return len(json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode())


def contents(size: str) -> dict[str, Any]:
    """The session of ``size``: :data:`SMALL`, grown with history entries up to its target."""
    data = dict(SMALL)
    target = TARGET_BYTES[size]
    history: list[dict[str, Any]] = []
    n = 0
    while json_size(data) < target:
        history.append(
            {"path": f"/catalogue/item/{n:05d}", "at": f"2026-11-28T05:{n % 60:02d}:00Z", "ms": n}
        )
        data["history"] = history
        n += 1
    return data


#: The user id the bare app's stand-in session holds (the sessions' own is 4211).
STAND_IN_ID = 1234


def stand_in() -> dict[str, Any]:
    """The bare app's session: a dict the app holds, with the 300 B session's contents but
    another user id of as many digits, so that a check can tell which app answered."""
    data = contents("300B")
    data["user"] = {**data["user"], "id": STAND_IN_ID}
    return data
