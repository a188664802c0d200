"""The peer comparison runs end to end: one cell per framework, a few requests.

Collected only with ``--benchmarks`` (like the rest of ``tests/benchmarks``): it needs the peers
of ``requirements.txt``, which the ordinary test environment does not install, and the
``redis-server`` and ``memcached`` binaries. The wall-clock run covers every framework and every
backend once; a second run puts one cell under callgrind, when valgrind is installed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

for module in ("beaker", "flask_session", "starsessions", "django_redis", "matplotlib"):
    pytest.importorskip(module, reason="pip install -r tests/benchmarks/peers/requirements.txt")
for binary in ("redis-server", "memcached"):
    if shutil.which(binary) is None:
        pytest.skip(f"{binary} is not installed", allow_module_level=True)

SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "peer_bench.py"
CELLS = "wsgi:file,flask:sqlite,starlette:memory,fastapi:redis,django:memcached"
QUICK = ["--sizes", "300B", "--warmup", "2", "--reps", "1", "--wall-requests", "300B=3"]


def run(out: Path, *options: str) -> dict[str, Any]:
    command = [sys.executable, str(SCRIPT), "--out", str(out), "--no-probes", *QUICK, *options]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    results: dict[str, Any] = json.loads((out / "results.json").read_text())
    return results


def test_every_framework_and_backend_by_wall_clock(tmp_path: Path) -> None:
    results = run(tmp_path, "--no-callgrind", "--cells", CELLS)
    cells = {(c["framework"], c["backend"], c["op"]): c for c in results["cells"]}
    assert {(f, b) for f, b, _ in cells} == {tuple(c.split(":")) for c in CELLS.split(",")}
    for (framework, backend, op), cell in cells.items():
        for impl in ("peer", "sessionkit-json", "sessionkit-orjson"):  # every cell has a peer
            assert cell["wall_us"][impl]["median"] is not None, (framework, backend, op, impl)
        if backend == "memory":  # nothing to count
            assert cell["roundtrips"]["sessionkit-json"] is None
            continue
        expected = 1 if op == "read" else 2  # a get; a get and a replace
        assert cell["raw_roundtrips"] == expected
        assert cell["roundtrips"]["peer"] >= 1
        sessionkit = cell["roundtrips"]["sessionkit-json"]
        # a file store's write opens a temporary file and a lock besides the session's file
        assert sessionkit >= expected if backend == "file" else sessionkit == expected
    table = (tmp_path / "results.md").read_text()
    assert "| django | memcached | 300B | modify | Django cache + PyMemcacheCache |" in table


@pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind is not installed")
def test_one_cell_under_callgrind(tmp_path: Path) -> None:
    results = run(
        tmp_path, "--cells", "wsgi:memory", "--callgrind-requests", "300B=3", "--jobs", "2"
    )
    for cell in results["cells"]:
        costs = cell["cost"]
        assert set(costs) == {"peer", "sessionkit-json", "sessionkit-orjson"}
        assert all(cost is not None and cost > 0 for cost in costs.values()), costs
        assert cell["ratio"]["sessionkit-json"] == costs["sessionkit-json"] / costs["peer"]
    assert (tmp_path / "ratio.png").stat().st_size > 0
    assert (tmp_path / "profiles.md").read_text().startswith("# Where sessionkit's")
