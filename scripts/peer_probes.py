"""The known suspects of sessionkit's cost, measured alone (``tests/benchmarks/peers/probes.py``).

Run by ``scripts/peer_bench.py`` after the matrix, on the same servers; it returns the
Markdown of ``probes.md``: instructions per call of each part under callgrind, and how many
times each adapter serialises and parses a session per request.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import callgrind

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.benchmarks.peers.probes import (  # noqa: E402
    calls_of,
    instruction_parts,
    run_parts,
    serializer_calls,
)
from tests.benchmarks.peers.servers import ServerProcesses, Servers  # noqa: E402


def child(spec: dict[str, Any]) -> None:
    servers = Servers(spec["redis_port"], spec["memcached_port"], Path(spec["workdir"]))
    if spec["mode"] == "callgrind":
        parts = instruction_parts(servers)
        callgrind.instrumentation_on()
        names = run_parts(parts, callgrind.before, callgrind.after)
        Path(spec["out"]).write_text(json.dumps(names))
    else:
        Path(spec["out"]).write_text(json.dumps(serializer_calls(servers)))


def measure(processes: ServerProcesses, mode: str, out: Path) -> Any:
    servers = processes.servers
    spec = {
        "mode": mode, "out": str(out), "workdir": str(servers.workdir),
        "redis_port": servers.redis_port, "memcached_port": servers.memcached_port,
    }  # fmt: skip
    argv = [sys.executable, __file__, json.dumps(spec)]
    if mode == "callgrind":
        names = None
        with tempfile.TemporaryDirectory() as tmp:
            # the number of parts is known only once they are made: count them natively first
            count_spec = {**spec, "mode": "names", "out": str(Path(tmp) / "n.json")}
            subprocess.run([sys.executable, __file__, json.dumps(count_spec)], check=True)
            expected = len(json.loads(Path(count_spec["out"]).read_text()))
        dumps = callgrind.run(out.with_suffix(".out"), argv, expected, set_up_first=True)
        names = json.loads(out.read_text())
        return {
            name: callgrind.instructions(d) / calls_of(name)
            for name, d in zip(names, dumps, strict=True)
        }
    subprocess.run(argv, check=True)
    return json.loads(out.read_text())


def run_probes(out: Path, processes: ServerProcesses) -> str:
    directory = out / "callgrind" / "probes"
    directory.mkdir(parents=True, exist_ok=True)
    parts = measure(processes, "callgrind", directory / "parts.json")
    calls = measure(processes, "serializer", directory / "serializer.json")
    lines = [
        "# The suspects, measured alone",
        "",
        "Instructions per call under callgrind (loops of 200 calls at 300 B, 50 at 4 KB, 10 at "
        "60 KB; every thread counted).",
        "",
        "| part | k instructions per call |",
        "| --- | ---: |",
        *(f"| {name} | {value / 1000:,.1f} |" for name, value in parts.items()),
        "",
        "Serializer calls per request, per adapter (memory store, 300 B session, a counting "
        "serializer passed to `SessionManager`):",
        "",
        "| adapter | read: dumps / loads | modify: dumps / loads |",
        "| --- | --- | --- |",
        *(
            f"| {name} | {ops['read'][0]:g} / {ops['read'][1]:g} "
            f"| {ops['modify'][0]:g} / {ops['modify'][1]:g} |"
            for name, ops in calls.items()
        ),
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    spec = json.loads(sys.argv[1])
    if spec["mode"] == "names":
        servers = Servers(spec["redis_port"], spec["memcached_port"], Path(spec["workdir"]))
        Path(spec["out"]).write_text(json.dumps(list(instruction_parts(servers))))
    else:
        child(spec)
