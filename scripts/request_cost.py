"""Count the CPU instructions of a session lookup and save, part by part, with callgrind.

Wall-clock ratios on a shared machine swing with the round-trip latency of the day; counts of
executed instructions do not. For a stored ~300-byte session this prints what the raw client's
read and write cost and what each piece of sessionkit's lookup and save costs around them.
Each figure counts only the loop of N calls (callgrind zeroes its counters when ``math.gcd``
is called just before the loop and dumps them when ``math.lcm`` is called just after), divided
by N. Instructions run in the kernel, and time spent waiting on the socket, are not counted:
they are the same for sessionkit and the raw client.

Usage::

    python scripts/request_cost.py redis [--serializer orjson] [--calls 2000]
    python scripts/request_cost.py memcached --memcached 127.0.0.1:11211

Backends are those of the benchmark suite (``tests/benchmarks/targets.py``), on the same servers.
Needs valgrind (``apt-get install valgrind``) and a Python whose ``math`` module keeps its
symbol table (pyenv and python.org builds do); takes a few minutes per backend.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PARTS = {
    "raw read": "the raw client reading the session's bytes (the lookup's baseline)",
    "raw write": "the raw client writing them with a TTL (read + write: the save's baseline)",
    "store get": "sessionkit's store reading them",
    "store replace": "sessionkit's store rewriting them (update-only)",
    "cookie parse": "finding the session cookie in the Cookie header",
    "cookie verify": "checking its HMAC-SHA256 signature",
    "open": "manager.open(): parse + verify + the Session object",
    "decode": "the serializer turning the bytes into a dict",
    "encode": "the serializer turning the dict into bytes",
    "lookup": "manager.open(cookie)['user']: a whole lookup",
    "save": "open, session['views'] += 1, manager.commit(): a whole save",
}


Parts = dict[str, Callable[[], Any]]


def calls(backend: str, serializer: str, memcached: str) -> tuple[Parts, Any]:
    """The parts as zero-argument callables over one seeded session, and the target to close."""
    sys.path.insert(0, str(ROOT))
    os.environ["BENCH_SERIALIZER"] = serializer
    from sessionkit.cookies import cookie_values
    from tests.benchmarks.targets import TTL, Target

    host, _, port = memcached.rpartition(":")
    workdir = Path(tempfile.mkdtemp(prefix="sk-cost-"))
    target = Target(backend, workdir, (host, int(port)) if backend == "memcached" else None)
    seeded = target.seeded["300B"]
    manager, cookie = target.manager, seeded.cookie
    name, value = cookie.split("=", 1)
    sid = manager.signer.unsign(value)
    assert sid is not None
    data = manager.serializer.loads(seeded.payload)

    def save() -> None:
        session = manager.open(cookie)
        session["views"] += 1
        manager.commit(session)

    parts: Parts = {
        "raw read": lambda: target.raw.get(seeded.raw_key),
        "raw write": lambda: target.raw.put(seeded.raw_key, seeded.payload, TTL),
        "store get": lambda: target.store.get(sid),
        "store replace": lambda: target.store.replace(sid, seeded.payload, TTL),
        "cookie parse": lambda: cookie_values(cookie, name),
        "cookie verify": lambda: manager.signer.verify(value),
        "open": lambda: manager.open(cookie),
        "decode": lambda: manager.serializer.loads(seeded.payload),
        "encode": lambda: manager.serializer.dumps(data),
        "lookup": lambda: manager.open(cookie)["user"],
        "save": save,
    }
    return parts, target


def child(part: str, count: int, backend: str, serializer: str, memcached: str) -> None:
    parts, target = calls(backend, serializer, memcached)
    call = parts[part]
    for _ in range(50):  # warm caches, pools and lazily made objects
        call()
    math.gcd(1, 1)  # callgrind zeroes its counters here
    for _ in range(count):
        call()
    math.lcm(1, 1)  # and dumps them here
    target.close()
    shutil.rmtree(target.workdir.parent, ignore_errors=True)


def instructions(args: argparse.Namespace, part: str) -> float:
    """Instructions per call of ``part``, from one callgrind run of ``args.calls`` calls."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        command = [
            "valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
            "--zero-before=math_gcd", "--dump-before=math_lcm",
            sys.executable, __file__, "--child", part, str(args.calls), args.backend,
            "--serializer", args.serializer, "--memcached", args.memcached,
        ]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        dump = out.with_name(out.name + ".1")
        match = re.search(r"^summary: (\d+)", dump.read_text(), re.M) if dump.exists() else None
        if done.returncode or match is None:
            raise SystemExit(f"valgrind run failed or dumped nothing:\n{done.stderr[-2000:]}")
        return int(match.group(1)) / args.calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("backend", help="memory, file, sqlite, postgresql, mysql, redis, memcached")
    parser.add_argument("--serializer", default="json", choices=("json", "orjson"))
    parser.add_argument("--calls", type=int, default=2000, help="calls per counted run")
    parser.add_argument("--memcached", default="127.0.0.1:11211", help="memcached host:port")
    parser.add_argument("--child", nargs=2, metavar=("PART", "COUNT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]), args.backend, args.serializer, args.memcached)
        return
    cost = {part: instructions(args, part) for part in PARTS}
    print(f"{args.backend}, serializer {args.serializer}: instructions per call")
    print("| part | instructions | what |\n| --- | ---: | --- |")
    for part, what in PARTS.items():
        print(f"| {part} | {cost[part]:,.0f} | {what} |")
    print()
    rows = [
        ("lookup", cost["raw read"], cost["store get"]),
        ("save", cost["raw read"] + cost["raw write"], cost["store get"] + cost["store replace"]),
    ]
    for case, raw, store in rows:
        print(
            f"{case}: {cost[case] / raw:.2f}x the raw client; sessionkit's work around its store "
            f"calls is {cost[case] - store:,.0f} instructions, and 1.15x would leave it "
            f"{1.15 * raw - store:,.0f}."
        )


if __name__ == "__main__":
    main()
