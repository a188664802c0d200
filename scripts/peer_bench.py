"""sessionkit beside the session library each framework's users would otherwise pick.

For every framework (plain WSGI, Flask, Starlette, FastAPI, Django), backend (redis,
memcached, file, sqlite, memory), session size (300 B, 4 KB, 60 KB) and operation (``read``:
the request reads the session; ``modify``: it changes one value), this measures per request:

- CPU instructions, counted by valgrind's callgrind around the measured loop only, every
  thread included (the headline figure: deterministic, unlike time on a shared machine);
- wall-clock time, the median and the min-max over ``--reps`` repetitions that alternate
  between the peer and sessionkit (each repetition a fresh process per implementation);
- store round trips, counted at the store (see ``tests/benchmarks/peers/roundtrips.py``).

The peer is Beaker (WSGI), Flask-Session (Flask), starsessions (Starlette, FastAPI: redis
and memory only), Django's ``cache`` engine (django-redis, PyMemcacheCache, FileBasedCache,
LocMemCache) and its ``db`` engine (SQLite); sessionkit runs through its adapter for the
framework, with ``serializer="json"`` (the default) and ``"orjson"``. Every request is a direct
call into the app with a prepared Cookie header; store calls go over loopback to a
``redis-server`` and a ``memcached`` this script starts on free ports and stops at the end.

A session's cost is what it adds beyond the framework and the raw store client::

    cost = request with the session - same request on the bare app - raw client calls

where the bare app is the same app, routes and views with no session library: its views use
a dict the app holds in place of the session (so the cost leaves out the route's own
matching and the view's response, which differ from route to route), and the raw calls are
a get (read) or a get and a set (modify) of the same bytes with the store's plain client, all
measured in the same process. Each cell reports the peer's cost,
sessionkit's (json, orjson) and sessionkit / peer; the target is at most 0.5x.

Usage (with the peers installed: ``pip install -r tests/benchmarks/peers/requirements.txt``;
valgrind with ``callgrind_control``, ``redis-server`` and ``memcached`` on the PATH)::

    .venv/bin/python scripts/peer_bench.py                 # the whole matrix (~15 min)
    .venv/bin/python scripts/peer_bench.py --frameworks flask --backends redis --sizes 300B
    .venv/bin/python scripts/peer_bench.py --cells wsgi:file,django:sqlite
    .venv/bin/python scripts/peer_bench.py --no-callgrind --reps 5   # wall clock only
    tox -e bench-frameworks -- [the same options]

    # on a busy machine, the two phases side by side, then one report:
    .venv/bin/python scripts/peer_bench.py --no-wall --out reports/peers &
    .venv/bin/python scripts/peer_bench.py --no-callgrind --out reports/peers-wall
    .venv/bin/python scripts/peer_report.py reports/peers --merge reports/peers-wall

It writes, under ``--out`` (default ``reports/peers``): ``results.json`` (every figure),
``results.md`` (the tables), ``ratio.png`` (sessionkit / peer per cell, in instructions),
``profiles.md`` (for each cell above 0.5x, callgrind's top functions by inclusive
instructions in sessionkit's request), ``probes.md`` (the known suspects measured alone) and
the callgrind dumps themselves (``callgrind/FRAMEWORK-BACKEND-IMPL/callgrind.out.N``, one per
loop, in the order of ``tests/benchmarks/peers/measure.py``).

Runs are deterministic: fixed session contents, fixed request counts, no randomness but the
session ids the libraries draw. A callgrind process imports and sets up uninstrumented and is
switched on just before its loops (``scripts/callgrind.py``); callgrind runs go ``--jobs`` at a
time (counts do not depend on load), the wall-clock runs one at a time after them. The whole
matrix took 12-14 minutes on a shared 2-core machine (its wall-clock phase about 5 of them).
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import Any

import callgrind

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.benchmarks.peers.matrix import BACKENDS, FRAMEWORKS, OPERATIONS, impls  # noqa: E402
from tests.benchmarks.peers.measure import Measurement, Plan, Timer  # noqa: E402
from tests.benchmarks.peers.servers import ServerProcesses, Servers  # noqa: E402
from tests.benchmarks.peers.sessions import SIZES  # noqa: E402

CALLGRIND_REQUESTS = {"300B": 50, "4KB": 20, "60KB": 5}  # deterministic: few suffice
CALLGRIND_WARMUP = 3
WALL_REQUESTS = {"300B": 100, "4KB": 50, "60KB": 15}
ROUND_TRIP_REQUESTS = 20
Job = tuple[str, str, str]  # framework, backend, impl


def child(spec: dict[str, Any]) -> None:
    """One measurement process: writes its segments (and seconds, round trips) to spec["out"]."""
    servers = Servers(spec["redis_port"], spec["memcached_port"], Path(spec["workdir"]))
    plan = Plan(**spec["plan"])
    measurement = Measurement(
        spec["framework"], spec["backend"], spec["impl"], servers, list(plan.requests)
    )
    try:
        if spec["mode"] == "callgrind":
            callgrind.instrumentation_on()
            result = measurement.run(plan, callgrind.before, callgrind.after)
        else:
            timer = Timer()
            result = measurement.run(plan, timer.before, timer.after)
            result["seconds"] = timer.seconds
    finally:
        measurement.close()
    Path(spec["out"]).write_text(json.dumps(result))


def child_argv(spec: dict[str, Any]) -> list[str]:
    return [sys.executable, __file__, "--child", json.dumps(spec)]


class Runner:
    """Runs the child processes of one invocation and collects their figures."""

    def __init__(self, args: argparse.Namespace, servers: Servers, out: Path) -> None:
        self.args = args
        self.servers = servers
        self.out = out
        self.runs: dict[Job, dict[str, Any]] = {}

    def spec(self, job: Job, mode: str, plan: Plan, out: Path) -> dict[str, Any]:
        framework, backend, impl = job
        return {
            "framework": framework, "backend": backend, "impl": impl, "mode": mode,
            "plan": asdict(plan), "out": str(out), "workdir": str(self.servers.workdir),
            "redis_port": self.servers.redis_port,
            "memcached_port": self.servers.memcached_port,
        }  # fmt: skip

    def record(self, job: Job) -> dict[str, Any]:
        return self.runs.setdefault(job, {"instructions": {}, "seconds": {}, "roundtrips": {}})

    def callgrind_job(self, job: Job) -> None:
        plan = Plan(requests=self.args.callgrind_requests, warmup=CALLGRIND_WARMUP)
        dumps = self.out / "callgrind" / "-".join(job)
        result_file = dumps / "segments.json"
        # bare, untouched, bare per operation; each operation and its raw calls per size
        expected = 2 + len(OPERATIONS) + 4 * len(plan.requests)
        done = self.args.resume and result_file.exists()
        if not done:
            shutil.rmtree(dumps, ignore_errors=True)
            dumps.mkdir(parents=True)
            argv = child_argv(self.spec(job, "callgrind", plan, result_file))
            callgrind.run(dumps / "callgrind.out", argv, expected, set_up_first=True)
        files = [dumps / f"callgrind.out.{n}" for n in range(1, expected + 1)]
        segments = json.loads(result_file.read_text())["segments"]
        record = self.record(job)
        for segment, dump in zip(segments, files, strict=True):
            per_request = callgrind.instructions(dump) / segment["requests"]
            record["instructions"][segment["name"]] = per_request
            record.setdefault("dumps", {})[segment["name"]] = str(dump.relative_to(self.out))
        print(f"callgrind {'/'.join(job)}: {'kept' if done else 'done'}", flush=True)

    def wall_job(self, job: Job, count: bool) -> None:
        plan = Plan(
            requests=self.args.wall_requests,
            warmup=self.args.warmup,
            count=ROUND_TRIP_REQUESTS if count else 0,
        )
        with tempfile.TemporaryDirectory() as tmp:
            result_file = Path(tmp) / "result.json"
            argv = child_argv(self.spec(job, "wall", plan, result_file))
            done = subprocess.run(argv, capture_output=True, text=True, check=False)
            if done.returncode:
                raise RuntimeError(f"{'/'.join(job)} failed:\n{done.stderr[-3000:]}")
            result = json.loads(result_file.read_text())
        record = self.record(job)
        for segment, seconds in zip(result["segments"], result["seconds"], strict=True):
            per_request = seconds / segment["requests"]
            record["seconds"].setdefault(segment["name"], []).append(per_request)
        if count:
            record["roundtrips"] = result["roundtrips"]

    def run_callgrind(self, jobs: list[Job]) -> None:
        pool = ThreadPoolExecutor(self.args.jobs)
        try:
            for future in [pool.submit(self.callgrind_job, job) for job in jobs]:
                future.result()
        finally:  # on a failure or a stop, start no further job
            pool.shutdown(wait=False, cancel_futures=True)

    def run_wall(self, jobs: list[Job]) -> None:
        """Repetitions alternate between a cell group's implementations, rotating the order."""
        groups: dict[tuple[str, str], list[Job]] = {}
        for job in jobs:
            groups.setdefault(job[:2], []).append(job)
        for rep in range(self.args.reps):
            for group in groups.values():
                shift = rep % len(group)
                for job in group[shift:] + group[:shift]:
                    self.wall_job(job, count=rep == 0)
            print(f"wall clock: repetition {rep + 1} of {self.args.reps} done", flush=True)


def sizes_option(value: str) -> dict[str, int]:
    """``300B=200,60KB=20`` -> {"300B": 200, "60KB": 20}."""
    pairs = dict(item.split("=") for item in value.split(","))
    unknown = sorted(set(pairs) - set(SIZES))
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown sizes {unknown}; choose from {SIZES}")
    return {size: int(count) for size, count in pairs.items()}


def _per_size(default: dict[str, int], given: dict[str, int], sizes: list[str]) -> dict[str, int]:
    chosen = {**default, **given}
    return {size: chosen[size] for size in sizes}


def choose(value: str | None, allowed: Iterable[str]) -> list[str]:
    allowed = list(allowed)
    if value is None:
        return allowed
    chosen = value.split(",")
    unknown = sorted(set(chosen) - set(allowed))
    if unknown:
        raise SystemExit(f"unknown {unknown}; choose from {allowed}")
    return [item for item in allowed if item in chosen]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frameworks", help=f"comma-separated subset of {FRAMEWORKS}")
    parser.add_argument("--backends", help=f"comma-separated subset of {BACKENDS}")
    parser.add_argument("--sizes", help=f"comma-separated subset of {SIZES}")
    parser.add_argument(
        "--cells", help="FRAMEWORK:BACKEND,... instead of every framework with every backend"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "peers")
    parser.add_argument("--jobs", type=int, default=2, help="callgrind runs at a time")
    parser.add_argument("--reps", type=int, default=3, help="wall-clock repetitions")
    parser.add_argument(
        "--warmup", type=int, default=5, help="requests before each wall-clock loop"
    )
    parser.add_argument(
        "--callgrind-requests", type=sizes_option, default={},
        help=f"requests per loop under callgrind (default {CALLGRIND_REQUESTS})",
    )  # fmt: skip
    parser.add_argument(
        "--wall-requests", type=sizes_option, default={},
        help=f"requests per wall-clock loop (default {WALL_REQUESTS})",
    )  # fmt: skip
    parser.add_argument("--no-callgrind", action="store_true", help="wall clock only")
    parser.add_argument(
        "--no-wall", action="store_true", help="callgrind only (and probes); merge a wall-clock "
        "run in later with scripts/peer_report.py DIR --merge WALL_DIR",
    )  # fmt: skip
    parser.add_argument("--no-probes", action="store_true", help="skip the suspects' probes")
    parser.add_argument(
        "--resume", action="store_true",
        help="keep the callgrind runs that --out already holds (same options) and do the rest",
    )  # fmt: skip
    parser.add_argument("--child", help=argparse.SUPPRESS)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if args.child:
        child(json.loads(args.child))
        return
    from peer_probes import run_probes
    from peer_report import write_report

    frameworks = choose(args.frameworks, FRAMEWORKS)
    backends = choose(args.backends, BACKENDS)
    sizes = choose(args.sizes, SIZES)
    args.callgrind_requests = _per_size(CALLGRIND_REQUESTS, args.callgrind_requests, sizes)
    args.wall_requests = _per_size(WALL_REQUESTS, args.wall_requests, sizes)
    pairs = [(f, b) for f in frameworks for b in backends]
    if args.cells:
        pairs = [(f, b) for f, b in (cell.split(":") for cell in args.cells.split(","))]
    jobs = [(f, b, i) for f, b in pairs for i in impls(f, b)]
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("stopped"))  # still stop the servers
    out: Path = args.out
    if out.exists() and not args.resume:
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.time()
    workdir = Path(tempfile.mkdtemp(prefix="sk-peers-"))
    processes = ServerProcesses(workdir)
    try:
        runner = Runner(args, processes.servers, out)
        if not args.no_callgrind:
            runner.run_callgrind(jobs)
        if not args.no_wall:
            runner.run_wall(jobs)
        probes = None if args.no_probes or args.no_callgrind else run_probes(out, processes)
    finally:
        processes.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    meta = {
        "command": " ".join(["python", "scripts/peer_bench.py", *sys.argv[1:]]),
        "minutes": round((time.time() - started) / 60, 1),
        "sizes": sizes,
        "callgrind_requests": args.callgrind_requests,
        "wall_requests": args.wall_requests,
        "reps": args.reps,
    }
    write_report(out, runner.runs, meta, probes)
    print(f"wrote {out}/results.json, results.md, ratio.png, profiles.md", flush=True)


if __name__ == "__main__":
    main()
