"""``python -m loadtests run``: the demo server on a store, Locust headless against it, a verdict.

The demo starts on a free loopback port with the given store; Locust runs headless (one
process, or a master and ``--processes`` workers on this machine) and writes CSV stats and its
HTML report under ``reports/<backend>/``; the figures per request type, the lost and
mixed-up sessions and the lost updates are printed; the server is stopped. The exit status is
1 if any request failed, any session was lost or mixed up or any update lost.
``--mode store`` runs :mod:`loadtests.storefile` against the store itself instead, without a
server.

``--scenario parallel-cart`` replaces the browsing users with browsers that send
``--parallel`` cart updates on one session at once and count the items lost;
``--concurrency`` sets the demo manager's option of that name.

``--fault cut@15s+5s`` (or ``hang@...``, repeatable) puts a relay between the demo and a
network store and cuts or freezes it for that window (see :mod:`loadtests.faults`); the
report then adds, per window, the requests and failures before, during and after it, the
answers without a status line, the failed requests' times, and how soon a session request
succeeded after the store came back. Failures inside a window do not fail the run; answers
without a status line there, failures outside the windows and lost sessions do.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path

from loadtests.faults import (
    Fault,
    FaultInjector,
    check_schedule,
    parse_fault,
    store_address,
    through_relay,
)
from loadtests.report import Summary, read_summary, render
from loadtests.server import HOST, DemoServer, ServerError
from loadtests.settings import DEFAULT_PARALLEL, parse_timespan
from loadtests.timeline import START_FD_ENV, records_pattern
from sessionkit.netutil import TCPRelay, free_port
from sessionkit.url import mask_url

HERE = Path(__file__).resolve().parent
LOCUSTFILES = {"http": HERE / "locustfile.py", "store": HERE / "storefile.py"}
USER_CLASSES = {
    "browse": ["AnonymousUser", "Visitor"],
    "parallel-cart": ["ParallelShopper"],
    "store": ["StoreUser"],
}
GRACE = 60.0  # seconds Locust may take beyond --time to start and stop
TIMED_OUT = -1
LOCUST_DONE = (0, 1)  # Locust's exit status: 1 means some requests failed


def backend_of(url: str) -> str:
    """``postgresql+psycopg://…`` -> ``postgresql``: the name of a backend's reports."""
    return url.partition("://")[0].partition("+")[0] or "store"


def _fault(text: str) -> Fault:
    try:
        return parse_fault(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


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
    run.add_argument(
        "--scenario",
        choices=("browse", "parallel-cart"),
        default="browse",
        help="http mode: browsing visitors (default), or browsers sending parallel cart updates",
    )
    run.add_argument(
        "--parallel", type=int, default=DEFAULT_PARALLEL,
        help="cart updates a parallel-cart browser sends at once (default %(default)s)",
    )  # fmt: skip
    run.add_argument(
        "--concurrency",
        choices=("last_write_wins", "merge"),
        help="the demo manager's concurrency option (default: the manager's default)",
    )
    run.add_argument(
        "--fault",
        type=_fault,
        action="append",
        default=[],
        metavar="KIND@START+DURATION",
        help="cut@15s+5s: the store looks dead for 5 s from 15 s after the load starts; "
        "hang@...: it looks frozen. Network stores only; repeatable",
    )
    return parser


def locust_command(args: argparse.Namespace, prefix: Path, host: str) -> list[str]:
    """The command line of a single Locust process, or of the master in distributed mode."""
    command = [
        sys.executable, "-m", "locust", "-f", str(LOCUSTFILES[args.mode]), "--headless",
        "--only-summary", "-u", str(args.users), "-r", str(args.spawn_rate),
        "-t", args.time, "--host", host, "--html", f"{prefix}.html",
        "--output-prefix", str(prefix), "--weights", args.weights,
        "--parallel", str(args.parallel),
    ]  # fmt: skip
    if args.think_time is not None:
        command += ["--think-time", str(args.think_time)]
    return [*command, *USER_CLASSES[scenario_of(args)]]


def scenario_of(args: argparse.Namespace) -> str:
    return "store" if args.mode == "store" else str(args.scenario)


def run_locust(
    args: argparse.Namespace,
    prefix: Path,
    host: str,
    store_url: str,
    faults: FaultInjector | None = None,
) -> int:
    """Run Locust to its end, its output in ``PREFIX*.log``; its exit status. ``faults``
    start when Locust says the load started."""
    # The store URL travels in the environment, so that no password shows in a process list;
    # PYTHONPATH lets the locustfiles import this package from any working directory.
    path = os.pathsep.join(filter(None, [str(HERE.parent), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "LOCUST_STORE_URL": store_url, "PYTHONPATH": path}
    env.pop(START_FD_ENV, None)
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
        if faults is None:
            master = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        else:
            told, tell = os.pipe()  # Locust writes on it when the load starts
            try:
                master = subprocess.Popen(
                    command, stdout=log, stderr=subprocess.STDOUT,
                    env={**env, START_FD_ENV: str(tell)}, pass_fds=(tell,),
                )  # fmt: skip
            except BaseException:
                os.close(told)
                raise
            finally:
                os.close(tell)
            faults.start(told)
        try:
            code = master.wait(timeout)
        except subprocess.TimeoutExpired:
            print(f"loadtests: Locust ran {GRACE:.0f} s past --time; stopped", file=sys.stderr)
            master.terminate()
            code = TIMED_OUT
        finally:
            for process in [master, *workers]:
                _end(process)
            if faults is not None:
                faults.stop()
    return code


def _end(process: subprocess.Popen[bytes]) -> None:
    """Let a Locust process finish on its own for a while, then stop it."""
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.terminate()
        process.wait()


def check(args: argparse.Namespace) -> tuple[str, int] | None:
    """The store's address if faults need a relay to it; ValueError for options that clash."""
    if backend_of(args.store) == "memory" and args.mode == "http" and args.server_workers != 1:
        raise ValueError("memory:// lives in one process: use --server-workers 1")
    if args.mode == "store" and (args.scenario != "browse" or args.concurrency):
        raise ValueError("--scenario and --concurrency apply to the demo server (--mode http)")
    if args.parallel < 1:
        raise ValueError("--parallel must be at least 1")
    check_schedule(args.fault, parse_timespan(args.time))
    return store_address(args.store) if args.fault else None


def clear_outputs(prefix: Path) -> None:
    """Remove what an earlier run left under ``prefix``, so that none of it is read as new."""
    for pattern in (f"{prefix.name}_*.csv", records_pattern(prefix)):
        for path in prefix.parent.glob(pattern):
            path.unlink()


def run(args: argparse.Namespace) -> int:
    try:
        target = check(args)
    except ValueError as exc:
        print(f"loadtests: {exc}", file=sys.stderr)
        return 2
    reports: Path = args.reports or Path("reports") / backend_of(args.store)
    reports.mkdir(parents=True, exist_ok=True)
    prefix = reports / (args.mode if args.scenario == "browse" else args.scenario)
    clear_outputs(prefix)
    where = f"{args.processes} worker processes" if args.processes else "1 process"
    print(f"{mask_url(args.store)}: {scenario_of(args)}, {args.users} users, {args.time}, "
          f"Locust {where}" + "".join(f", {fault.spec}" for fault in args.fault))  # fmt: skip
    with ExitStack() as stack:
        store_url, faults = args.store, None
        if target is not None:
            relay = stack.enter_context(TCPRelay(target))
            store_url = through_relay(args.store, relay.address)
            faults = FaultInjector(relay, args.fault)
        host = f"http://{HOST}"
        if args.mode == "http":
            server = DemoServer(store_url, reports / "server.log", workers=args.server_workers,
                                server=args.server, concurrency=args.concurrency)  # fmt: skip
            try:
                host = stack.enter_context(server).url
            except ServerError as exc:
                print(f"loadtests: {exc}", file=sys.stderr)
                return 2
        code = run_locust(args, prefix, host, store_url, faults)
    try:
        if faults is not None and faults.load_start is not None:
            summary = read_summary(prefix, faults.windows, faults.load_start)
        else:
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
    print(f"reports: {prefix}.html, {prefix}_summary.json, {prefix}_stats.csv")
    if summary.ok:
        return 0
    print("FAILED: see the failures in the report", file=sys.stderr)
    return 1


def main(argv: Sequence[str] | None = None) -> int:
    return run(build_parser().parse_args(argv))
