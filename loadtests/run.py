"""``python -m loadtests run``: the demo server on a store, Locust headless against it, a verdict.

The demo starts on a free loopback port with the given store; Locust runs headless (one
process, or a master and ``--processes`` workers on this machine) and writes CSV stats and its
HTML report under ``reports/<backend>/``; the figures per request type and the lost and
mixed-up sessions are printed; the server is stopped. The exit status is 1 if any request
failed or any session was lost or mixed up. ``--mode store`` runs :mod:`loadtests.storefile`
against the store itself instead, without a server.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path

from loadtests.report import Summary, read_summary, render
from loadtests.server import HOST, DemoServer, ServerError
from loadtests.settings import parse_timespan
from sessionkit.netutil import free_port
from sessionkit.url import mask_url

HERE = Path(__file__).resolve().parent
LOCUSTFILES = {"http": HERE / "locustfile.py", "store": HERE / "storefile.py"}
USER_CLASSES = {"http": ["AnonymousUser", "Visitor"], "store": ["StoreUser"]}
GRACE = 60.0  # seconds Locust may take beyond --time to start and stop
TIMED_OUT = -1
LOCUST_DONE = (0, 1)  # Locust's exit status: 1 means some requests failed


def backend_of(url: str) -> str:
    """``postgresql+psycopg://…`` -> ``postgresql``: the name of a backend's reports."""
    return url.partition("://")[0].partition("+")[0] or "store"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m loadtests", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = commands.add_parser("run", help="a load test of one store; see the module docstring")
    run.add_argument("--store", default="memory://", help="store URL (default %(default)s)")
    run.add_argument("--users", type=int, default=50, help="concurrent users (default 50)")
    run.add_argument("--spawn-rate", type=float, default=10, help="users started per second")
    run.add_argument("--time", default="60s", help="run time, e.g. 60s, 2m (default 60s)")
    run.add_argument(
        "--processes", type=int, default=0,
        help="Locust workers on this machine under a master (default 0: one process)",
    )  # fmt: skip
    run.add_argument(
        "--mode",
        choices=sorted(LOCUSTFILES),
        default="http",
        help="http: through the demo server (default); store: the store directly",
    )
    run.add_argument("--weights", default="", help="NAME=WEIGHT,... (see loadtests/settings.py)")
    run.add_argument("--think-time", type=float, help="most seconds between a user's actions")
    run.add_argument("--server-workers", type=int, default=1, help="demo server processes")
    run.add_argument("--server", choices=("uvicorn", "gunicorn"), default="uvicorn")
    run.add_argument("--reports", type=Path, help="report directory (default reports/<backend>)")
    return parser


def locust_command(args: argparse.Namespace, prefix: Path, host: str) -> list[str]:
    """The command line of a single Locust process, or of the master in distributed mode."""
    command = [
        sys.executable, "-m", "locust", "-f", str(LOCUSTFILES[args.mode]), "--headless",
        "--only-summary", "-u", str(args.users), "-r", str(args.spawn_rate),
        "-t", args.time, "--host", host, "--csv", str(prefix), "--html", f"{prefix}.html",
        "--weights", args.weights,
    ]  # fmt: skip
    if args.think_time is not None:
        command += ["--think-time", str(args.think_time)]
    return [*command, *USER_CLASSES[args.mode]]


def run_locust(args: argparse.Namespace, prefix: Path, host: str) -> int:
    """Run Locust to its end, its output in ``PREFIX*.log``; its exit status."""
    # The store URL travels in the environment, so that no password shows in a process list;
    # PYTHONPATH lets the locustfiles import this package from any working directory.
    path = os.pathsep.join(filter(None, [str(HERE.parent), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "LOCUST_STORE_URL": args.store, "PYTHONPATH": path}
    command = locust_command(args, prefix, host)
    timeout = parse_timespan(args.time) + GRACE
    with ExitStack() as stack:
        workers: list[subprocess.Popen[bytes]] = []
        if args.processes:
            port = str(free_port())
            command += [
                "--master", "--master-bind-host", HOST, "--master-bind-port", port,
                "--expect-workers", str(args.processes), "--expect-workers-max-wait", "30",
            ]  # fmt: skip
            worker = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILES[args.mode]),
                      "--worker", "--master-host", HOST, "--master-port", port]  # fmt: skip
            for number in range(args.processes):
                log = stack.enter_context(open(f"{prefix}-worker{number}.log", "wb"))
                workers.append(subprocess.Popen(worker, stdout=log, stderr=subprocess.STDOUT,
                                                env=env))  # fmt: skip
        log = stack.enter_context(open(f"{prefix}.log", "wb"))
        master = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            code = master.wait(timeout)
        except subprocess.TimeoutExpired:
            print(f"loadtests: Locust ran {GRACE:.0f} s past --time; stopped", file=sys.stderr)
            master.terminate()
            code = TIMED_OUT
        finally:
            for process in [master, *workers]:
                _end(process)
    return code


def _end(process: subprocess.Popen[bytes]) -> None:
    """Let a Locust process finish on its own for a while, then stop it."""
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.terminate()
        process.wait()


def run(args: argparse.Namespace) -> int:
    backend = backend_of(args.store)
    if backend == "memory" and args.mode == "http" and args.server_workers != 1:
        print("memory:// lives in one process: use --server-workers 1", file=sys.stderr)
        return 2
    reports: Path = args.reports or Path("reports") / backend
    reports.mkdir(parents=True, exist_ok=True)
    prefix = reports / args.mode
    where = f"{args.processes} worker processes" if args.processes else "1 process"
    print(f"{mask_url(args.store)}: {args.mode}, {args.users} users, {args.time}, Locust {where}")
    with ExitStack() as stack:
        host = f"http://{HOST}"
        if args.mode == "http":
            server = DemoServer(args.store, reports / "server.log",
                                workers=args.server_workers, server=args.server)  # fmt: skip
            try:
                host = stack.enter_context(server).url
            except ServerError as exc:
                print(f"loadtests: {exc}", file=sys.stderr)
                return 2
        code = run_locust(args, prefix, host)
    try:
        summary = read_summary(prefix)
    except (OSError, KeyError, ValueError) as exc:
        print(f"loadtests: Locust exited with {code} and left no readable report ({exc}); "
              f"see {prefix}.log", file=sys.stderr)  # fmt: skip
        return 2
    if code not in LOCUST_DONE:
        print(f"loadtests: Locust exited with {code}; see {prefix}.log", file=sys.stderr)
        return 2
    return report(summary, prefix)


def report(summary: Summary, prefix: Path) -> int:
    print(render(summary))
    summary.write_json(Path(f"{prefix}_summary.json"))
    print(f"reports: {prefix}_stats.csv, {prefix}.html")
    if summary.ok:
        return 0
    print("FAILED: see the failures in the report", file=sys.stderr)
    return 1


def main(argv: Sequence[str] | None = None) -> int:
    return run(build_parser().parse_args(argv))
