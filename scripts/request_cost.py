"""Count the CPU instructions of a session lookup and save, part by part, with callgrind.

Wall-clock ratios on a shared machine swing with the round-trip latency of the day; counts of
executed instructions do not. For a stored ~300-byte session this prints what the raw client's
read and write cost and what each piece of sessionkit's lookup and save costs around them.
Each figure counts only the loop of N calls (``scripts/callgrind.py``: callgrind zeroes its
counters just before the loop and dumps them just after), divided by N. Instructions run in
the kernel, and time spent waiting on the socket, are not counted: they are the same for
sessionkit and the raw client.

Usage::

    python scripts/request_cost.py redis [--serializer orjson] [--protect none|sign|encrypt]
    python scripts/request_cost.py redis --parts lookup,save --calls 2000
    python scripts/request_cost.py redis --protect sign --size 4KB --fresh-cipher
    python scripts/request_cost.py memcached --memcached 127.0.0.1:11211

Backends are those of the benchmark suite (``tests/benchmarks/targets.py``), on the same servers.
Needs valgrind (``apt-get install valgrind``) and a Python whose ``math`` module keeps its
symbol table (pyenv and python.org builds do); takes a few minutes per backend.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import callgrind

ROOT = Path(__file__).resolve().parent.parent
PARTS = {
    "raw read": "the raw client reading the session's bytes (the lookup's baseline)",
    "raw write": "the raw client writing them with a TTL (read + write: the save's baseline)",
    "store get": "sessionkit's store reading them",
    "store replace": "sessionkit's store rewriting them (update-only)",
    "store read": "sessionkit's store reading them with their version",
    "store swap": "a versioned read and a compare-and-set of the same bytes",
    "cookie parse": "finding the session cookie in the Cookie header",
    "cookie verify": "checking its HMAC-SHA256 signature",
    "open": "manager.open(): parse + verify + the Session object",
    "decode": "the serializer turning the bytes into a dict",
    "encode": "the serializer turning the dict into bytes",
    "lookup": "manager.open(cookie)['user']: a whole lookup",
    "save": "open, session['views'] += 1, manager.commit(): a whole save",
    "read": "open, session['user'], manager.commit(): a request that only reads",
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
    seeded = target.seeded[os.environ.get("BENCH_SIZE", "300B")]
    manager, cookie = target.manager, seeded.cookie
    name, value = cookie.split("=", 1)
    verified = manager.signer.verify(value)
    assert verified is not None
    sid = verified[0]
    body = manager.codec.unpack(sid, seeded.payload)[1]  # the data behind header and seal
    data = manager.serializer.loads(body)

    read = getattr(target.store, "get_versioned", lambda sid: (target.store.get(sid), None))
    swap = getattr(target.store, "replace_versioned", None) or (
        lambda sid, data, ttl, version: target.store.replace(sid, data, ttl)
    )

    def read_request() -> None:
        session = manager.open(cookie)
        session["user"]
        manager.commit(session)

    def save() -> None:
        session = manager.open(cookie)
        session["views"] += 1
        manager.commit(session)

    parts: Parts = {
        "raw read": lambda: target.raw.get(seeded.raw_key),
        "raw write": lambda: target.raw.put(seeded.raw_key, seeded.payload, TTL),
        "store get": lambda: target.store.get(sid),
        "store replace": lambda: target.store.replace(sid, seeded.payload, TTL),
        "store read": lambda: read(sid),
        "store swap": lambda: swap(sid, seeded.payload, TTL, read(sid)[1]),
        "cookie parse": lambda: cookie_values(cookie, name),
        "cookie verify": lambda: manager.signer.verify(value),
        "open": lambda: manager.open(cookie),
        "decode": lambda: manager.serializer.loads(body),
        "encode": lambda: manager.serializer.dumps(data),
        "lookup": lambda: manager.open(cookie)["user"],
        "save": save,
        "read": read_request,
    }
    return parts, target


def child(
    part: str, count: int, backend: str, serializer: str, memcached: str, fresh: bool
) -> None:
    parts, target = calls(backend, serializer, memcached)
    call = parts[part]
    protection = target.manager.codec.protection
    if fresh and protection is not None:
        # As for a session not used lately: its cipher is derived again at its lookup (and
        # kept for its save), instead of kept from the previous call.
        kept = protection._keys._kept  # type: ignore[attr-defined]  # sign and encrypt have it
        measured = call

        def call() -> Any:
            for ciphers in kept:
                ciphers.clear()
            return measured()

    for _ in range(50):  # warm caches, pools and lazily made objects
        call()
    callgrind.before()
    for _ in range(count):
        call()
    callgrind.after()
    target.close()
    shutil.rmtree(target.workdir.parent, ignore_errors=True)


def instructions(args: argparse.Namespace, part: str) -> float:
    """Instructions per call of ``part``, from one callgrind run of ``args.calls`` calls."""
    argv = [
        sys.executable, __file__, "--child", part, str(args.calls), args.backend,
        "--serializer", args.serializer, "--memcached", args.memcached,
        "--protect", args.protect, "--size", args.size, "--options", args.options,
        *(["--fresh-cipher"] if args.fresh_cipher else []),
    ]  # fmt: skip
    try:
        return callgrind.per_call(argv, args.calls)
    except RuntimeError as failed:
        raise SystemExit(str(failed)) from None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("backend", help="memory, file, sqlite, postgresql, mysql, redis, memcached")
    parser.add_argument("--serializer", default="json", choices=("json", "orjson"))
    parser.add_argument("--calls", type=int, default=2000, help="calls per counted run")
    parser.add_argument("--memcached", default="127.0.0.1:11211", help="memcached host:port")
    parser.add_argument(
        "--protect", default="sign", choices=("none", "sign", "encrypt"), help="stored bytes"
    )
    parser.add_argument("--parts", help="a comma-separated subset of the parts (default: all)")
    parser.add_argument("--size", default="300B", choices=("300B", "4KB", "10KB"), help="session")
    parser.add_argument(
        "--options", default="{}", help="more manager options as JSON, e.g. '{\"rolling\": true}'"
    )
    parser.add_argument(
        "--fresh-cipher",
        action="store_true",
        help="with sign or encrypt: derive the session's cipher again for each call, as for a "
        "session not used among the last CIPHERS_KEPT (default: kept from the previous call)",
    )
    parser.add_argument("--child", nargs=2, metavar=("PART", "COUNT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ["BENCH_PROTECT"] = args.protect
    os.environ["BENCH_SIZE"] = args.size
    os.environ["BENCH_MANAGER_OPTIONS"] = args.options
    if args.child:
        child(
            args.child[0], int(args.child[1]), args.backend, args.serializer, args.memcached,
            args.fresh_cipher,
        )  # fmt: skip
        return
    chosen = args.parts.split(",") if args.parts else list(PARTS)
    cost = {part: instructions(args, part) for part in chosen}
    print(
        f"{args.backend}, {args.size} session, serializer {args.serializer}, "
        f"protect {args.protect}{', fresh cipher' if args.fresh_cipher else ''}: "
        "instructions per call"
    )
    print("| part | instructions | what |\n| --- | ---: | --- |")
    for part in chosen:
        print(f"| {part} | {cost[part]:,.0f} | {PARTS[part]} |")
    if {"raw read", "raw write", "lookup", "save"} <= cost.keys():
        raw_read, raw_save = cost["raw read"], cost["raw read"] + cost["raw write"]
        print(
            f"\nlookup: {cost['lookup'] / raw_read:.2f}x the raw read, "
            f"{cost['lookup'] - raw_read:,.0f} instructions beyond it; save: "
            f"{cost['save'] / raw_save:.2f}x the raw read + write, "
            f"{cost['save'] - raw_save:,.0f} beyond them."
        )


if __name__ == "__main__":
    main()
