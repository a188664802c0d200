"""Instructions and Redis commands per aiohttp request: sessionkit's adapter beside
aiohttp-session's RedisStorage, on a stored ~300-byte session.

Each case runs in its own process: an ``aiohttp.web`` server on 127.0.0.1 and a minimal
keep-alive HTTP client (asyncio streams) share one event loop, so callgrind counts the
whole request: client, aiohttp, the session library and its Redis client. Only the loop
of N requests is counted (callgrind zeroes its counters at ``math.gcd`` just before it and
dumps them at ``math.lcm`` just after), divided by N. The bare app, with no session
middleware, gives what aiohttp and the client cost by themselves; a library's share is its
figure minus the bare one. The Redis commands per request come from ``INFO commandstats``
of a throwaway ``redis-server`` that only this script uses.

Cases: ``read`` (the handler reads ``session["user"]["name"]``: a dict it could change in
place, so sessionkit serialises the session again at the end to see whether it did),
``read-flat`` (``session["locale"]``, a string), ``modify`` (``session["views"] += 1``, so the
session is written back) and ``untouched`` (the handler never asks for it).

Usage::

    python scripts/aiohttp_cost.py [--requests 1000] [--serializer json|orjson]
        [--protect sign|none|encrypt]

Needs valgrind and redis-server (``apt-get install valgrind redis-server``), aiohttp-session
(``pip install aiohttp-session``) and a Python whose ``math`` module keeps its symbol table
(pyenv and python.org builds do); takes a few minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import callgrind

ROOT = Path(__file__).resolve().parent.parent
LIBRARIES = ("bare", "sessionkit", "aiohttp-session")
CASES = ("read", "read-flat", "modify", "untouched")
MAX_AGE = 14 * 24 * 3600
WARM_UP = 50
OBSERVER = {"info", "config|resetstat"}  # the counting itself


def session_app(library: str, redis_url: str) -> Any:
    """The aiohttp app of ``library``: /seed stores the session, then one route per case."""
    sys.path.insert(0, str(ROOT))
    from aiohttp import web

    from tests.benchmarks.targets import SMALL

    app = web.Application()
    routes = web.RouteTableDef()
    if library == "bare":

        @routes.get("/{case}")
        async def constant(request: web.Request) -> web.Response:
            return web.Response(text="Ann Example")

        app.add_routes(routes)
        return app
    get_session: Callable[[web.Request], Any]
    if library == "sessionkit":
        from sessionkit import SessionManager
        from sessionkit.adapters import aiohttp as adapter

        serializer = os.environ["BENCH_SERIALIZER"]
        protect = None if os.environ["BENCH_PROTECT"] == "none" else os.environ["BENCH_PROTECT"]
        manager = SessionManager(
            redis_url,
            "cost-secret-0123456789abcdefghijklmnopqrstuv",
            serializer=serializer,
            protect=protect,
        )
        adapter.setup(app, manager)
        get_session = adapter.get_session
    else:
        import aiohttp_session
        from aiohttp_session.redis_storage import RedisStorage
        from redis.asyncio import Redis

        client = Redis.from_url(redis_url)
        storage = RedisStorage(client, max_age=MAX_AGE)
        aiohttp_session.setup(app, storage)
        get_session = aiohttp_session.get_session

    @routes.get("/seed")
    async def seed(request: web.Request) -> web.Response:
        (await get_session(request)).update(SMALL)
        return web.Response(text="seeded")

    @routes.get("/read")
    async def read(request: web.Request) -> web.Response:
        return web.Response(text=(await get_session(request))["user"]["name"])

    @routes.get("/read-flat")
    async def read_flat(request: web.Request) -> web.Response:
        return web.Response(text=(await get_session(request))["locale"])

    @routes.get("/modify")
    async def modify(request: web.Request) -> web.Response:
        session = await get_session(request)
        session["views"] += 1
        return web.Response(text=str(session["views"]))

    @routes.get("/untouched")
    async def untouched(request: web.Request) -> web.Response:
        return web.Response(text="Ann Example")

    app.add_routes(routes)
    return app


class Client:
    """HTTP/1.1 on one kept-alive connection, reading responses by their Content-Length."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def get(self, path: str, cookie: str = "") -> bytes:
        header = f"Cookie: {cookie}\r\n" if cookie else ""
        self.writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{header}\r\n".encode())
        head = await self.reader.readuntil(b"\r\n\r\n")
        length = re.search(rb"(?i)\r\ncontent-length: (\d+)", head)
        assert head.startswith(b"HTTP/1.1 200"), head
        assert length is not None, head
        await self.reader.readexactly(int(length.group(1)))
        return head


async def serve_and_measure(library: str, case: str, count: int, redis_url: str, mode: str) -> None:
    import redis
    from aiohttp import web

    runner = web.AppRunner(session_app(library, redis_url), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    client = Client(*await asyncio.open_connection("127.0.0.1", port))
    cookie = ""
    if library != "bare":
        head = await client.get("/seed")
        found = re.search(rb"(?i)\r\nset-cookie: ([^;\r]+)", head)
        assert found is not None
        cookie = found.group(1).decode()
    path = f"/{case}"
    for _ in range(WARM_UP):  # warm caches, pools and lazily made objects
        await client.get(path, cookie)
    observer = redis.Redis.from_url(redis_url)
    if mode == "commands":
        observer.config_resetstat()
    callgrind.before()
    for _ in range(count):
        await client.get(path, cookie)
    callgrind.after()
    if mode == "commands":
        stats = observer.info("commandstats")
        calls = {k.removeprefix("cmdstat_"): int(v["calls"]) for k, v in stats.items()}
        print({k: v / count for k, v in calls.items() if k not in OBSERVER and v})
    client.writer.close()
    await runner.cleanup()
    observer.close()


@contextmanager
def redis_server() -> Iterator[str]:
    """A throwaway redis-server on a free port, stopped (by its PID) at the end."""
    sys.path.insert(0, str(ROOT))
    from sessionkit.netutil import free_port, wait_for_port

    binary = shutil.which("redis-server") or sys.exit("redis-server is not installed")
    port = free_port()
    with tempfile.TemporaryDirectory() as directory:
        command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
        command += ["--appendonly", "no", "--dir", directory]
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for_port("127.0.0.1", port, 10, process=process)
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            process.terminate()
            process.wait(timeout=10)


def child_command(args: argparse.Namespace, library: str, case: str, mode: str) -> list[str]:
    return [
        sys.executable, __file__, "--child", library, case, mode, "--redis", args.redis,
        "--requests", str(args.requests if mode == "instructions" else 200),
        "--serializer", args.serializer, "--protect", args.protect,
    ]  # fmt: skip


def commands(args: argparse.Namespace, library: str, case: str) -> str:
    done = subprocess.run(
        child_command(args, library, case, "commands"), capture_output=True, text=True, check=False
    )
    if done.returncode:
        raise SystemExit(f"{library} {case} failed:\n{done.stderr[-2000:]}")
    return done.stdout.strip()


def instructions(args: argparse.Namespace, library: str, case: str) -> float:
    argv = child_command(args, library, case, "instructions")
    try:
        return callgrind.per_call(argv, args.requests)
    except RuntimeError as failed:
        raise SystemExit(str(failed)) from None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1000, help="requests per counted run")
    parser.add_argument("--serializer", default="json", choices=("json", "orjson"))
    parser.add_argument(
        "--protect", default="sign", choices=("none", "sign", "encrypt"), help="stored bytes"
    )
    parser.add_argument("--redis", help=argparse.SUPPRESS)
    parser.add_argument("--child", nargs=3, metavar=("LIB", "CASE", "MODE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ["BENCH_SERIALIZER"] = args.serializer
    os.environ["BENCH_PROTECT"] = args.protect
    if args.child:
        library, case, mode = args.child
        asyncio.run(serve_and_measure(library, case, args.requests, args.redis, mode))
        return
    with redis_server() as args.redis:
        runs = [(lib, case) for lib in LIBRARIES[1:] for case in CASES]
        print("Redis commands per request (INFO commandstats of a server used by nothing else)")
        for library, case in runs:
            print(f"  {library:16} {case:9} {commands(args, library, case)}")
        bare = instructions(args, "bare", "untouched")
        cost = {run: instructions(args, *run) for run in runs}
    print(
        f"\ninstructions per request, {args.requests} requests, serializer {args.serializer}, "
        f"protect {args.protect}"
    )
    print(f"bare aiohttp app and client: {bare:,.0f}\n")
    print("| case | sessionkit | aiohttp-session | sessionkit's share | aiohttp-session's share |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for case in CASES:
        ours, theirs = cost["sessionkit", case], cost["aiohttp-session", case]
        print(
            f"| {case} | {ours:,.0f} | {theirs:,.0f} | {ours - bare:,.0f} | {theirs - bare:,.0f} |"
        )


if __name__ == "__main__":
    main()
