"""Lost updates over HTTP: parallel "add my item" requests on one session, through the demo.

For each store (``--store``, repeatable) and each server, gunicorn with 2 workers (the WSGI
app) and uvicorn with 1 worker (the ASGI app), the demo starts on that store. Then, in each of
``--trials`` trials, a fresh session is opened (``GET /``), ``--parallel`` requests each add
their own item to its cart (``POST /cart``) at the same moment, and ``GET /me`` shows which
of the items the server said it added the cart kept; the session is then logged out. The
table shows the items lost, of those added; the exit status is 1 if any was lost.

``memory://`` lives in one process, so gunicorn serves it with 1 worker; its sync worker then
handles one request at a time, so nothing can race there (the table says so).

Usage::

    python scripts/lost_updates.py --store memory:// \\
        --store 'redis://127.0.0.1:6379/0?prefix=lost-updates:' \\
        --store 'postgresql+psycopg://postgres@127.0.0.1:5432/test?table=lost_updates'
    python scripts/lost_updates.py --store ... --concurrency last_write_wins
"""

from __future__ import annotations

import argparse
import http.client
import json
import sys
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the load harness's modules, from a checkout

from loadtests.run import backend_of  # noqa: E402
from loadtests.server import DemoServer, ServerError  # noqa: E402
from sessionkit.url import mask_url  # noqa: E402

COOKIE = "session"
TIMEOUT = 30.0
SERVERS = {"gunicorn": "WSGI", "uvicorn": "ASGI"}
WORKERS = {"gunicorn": 2, "uvicorn": 1}


@dataclass
class Tally:
    """Items the server said it added, items then missing, and requests that failed."""

    added: int = 0
    lost: int = 0
    failed: int = 0


class Browser:
    """One cookie, and requests to the demo at ``port`` on fresh connections."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookie = ""

    def connect(self) -> http.client.HTTPConnection:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=TIMEOUT)
        connection.connect()
        return connection

    def send(
        self,
        method: str,
        path: str,
        body: object = None,
        connection: http.client.HTTPConnection | None = None,
    ) -> tuple[int, str]:
        """The status and body of one request; the cookie is taken from its answer."""
        connection = connection or self.connect()
        try:
            headers = {"Cookie": f"{COOKIE}={self.cookie}"} if self.cookie else {}
            data = None if body is None else json.dumps(body).encode()
            if data is not None:
                headers["Content-Type"] = "application/json"
            connection.request(method, path, body=data, headers=headers)
            response = connection.getresponse()
            for header in response.headers.get_all("Set-Cookie") or []:
                jar: SimpleCookie = SimpleCookie(header)
                if COOKIE in jar:
                    self.cookie = jar[COOKIE].value
            return response.status, response.read().decode()
        finally:
            connection.close()


def trial(port: int, parallel: int, number: int, tally: Tally) -> None:
    """Open a session, add ``parallel`` items to its cart at once, count those lost."""
    browser = Browser(port)
    status, _ = browser.send("GET", "/")
    if status != 200 or not browser.cookie:
        raise RuntimeError(f"GET / answered {status} without a session cookie")
    items = [f"item-{number}-{n}" for n in range(parallel)]
    added: list[str] = []  # list.append is atomic: the threads share it
    start = threading.Barrier(parallel)

    def add(item: str) -> None:
        try:
            connection = browser.connect()  # connected first, so the requests leave together
            start.wait(TIMEOUT)
            status, body = browser.send("POST", "/cart", {"add": item}, connection)
        except OSError:
            return
        if status == 200 and item in json.loads(body):
            added.append(item)

    threads = [threading.Thread(target=add, args=(item,)) for item in items]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    status, body = browser.send("GET", "/me")
    if status != 200:
        raise RuntimeError(f"GET /me answered {status}")
    cart = json.loads(body).get("cart", [])
    tally.added += len(added)
    tally.failed += parallel - len(added)
    tally.lost += sum(item not in cart for item in added)
    browser.send("POST", "/logout")


def measure(store: str, server: str, args: argparse.Namespace, logs: Path) -> tuple[Tally, int]:
    """The tally of ``args.trials`` trials on ``store`` served by ``server``; its workers."""
    workers = 1 if backend_of(store) == "memory" else WORKERS[server]
    tally = Tally()
    log = logs / f"{server}-{len(list(logs.iterdir()))}.log"
    demo = DemoServer(store, log, workers=workers, server=server, concurrency=args.concurrency)
    with demo:
        for number in range(args.trials):
            trial(demo.port, args.parallel, number, tally)
    return tally, workers


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", action="append", required=True, help="store URL; repeatable")
    parser.add_argument("--trials", type=int, default=20, help="sessions per cell (default 20)")
    parser.add_argument("--parallel", type=int, default=10, help="items added at once (default 10)")
    parser.add_argument(
        "--concurrency",
        choices=("last_write_wins", "merge"),
        help="the demo manager's concurrency option (default: the manager's default)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    rows = []
    lost_any = False
    with tempfile.TemporaryDirectory(prefix="lost-updates-") as temp:
        for store in args.store:
            cells = []
            for server in SERVERS:
                try:
                    tally, workers = measure(store, server, args, Path(temp))
                except (ServerError, RuntimeError, OSError) as exc:
                    print(f"{mask_url(store)} on {server}: {exc}", file=sys.stderr)
                    return 2
                lost_any = lost_any or tally.lost > 0
                note = f" ({workers} worker)" if workers != WORKERS[server] else ""
                failed = f", {tally.failed} failed" if tally.failed else ""
                cells.append(f"{tally.lost} of {tally.added}{failed}{note}")
            rows.append((mask_url(store), cells))
    print(render(rows, args))
    return 1 if lost_any else 0


def render(rows: list[tuple[str, list[str]]], args: argparse.Namespace) -> str:
    """The table: a row per store, a column per server."""
    heads = [f"{name} ({SERVERS[name]}, {WORKERS[name]} worker{'s' * (WORKERS[name] > 1)})"
             for name in SERVERS]  # fmt: skip
    width = max(len("store"), *(len(store) for store, _ in rows))
    policy = f", concurrency={args.concurrency}" if args.concurrency else ""
    lines = [
        f"items lost, of those added: {args.parallel} parallel requests x {args.trials} "
        f"sessions{policy}",
        f"{'store':<{width}}  " + "  ".join(f"{head:<28}" for head in heads),
    ]
    lines += [f"{store:<{width}}  " + "  ".join(f"{c:<28}" for c in cells) for store, cells in rows]
    return "\n".join(line.rstrip() for line in lines)


if __name__ == "__main__":
    sys.exit(main())
