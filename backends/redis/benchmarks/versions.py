"""How should the Redis store version its entries? Four designs measured side by side.

- ``content`` (what the store does): the version is the bytes read. A lookup is a plain
  GET; a save sends the bytes it read and the new ones to a script that compares and SETs.
- ``digest``: the same, but a save sends the SHA-1 of the bytes it read, and the script
  hashes what the key holds (``redis.sha1hex``) to compare.
- ``counter``: an 8-byte counter in front of the data, in the same string. A lookup is a
  GET and a slice; a save sends the counter read and counter + 1 in front of the new data.
- ``hash``: the counter beside the data, as two fields of a hash. A lookup is HMGET; a save
  sends the counter read and the new data to a script that compares and HSETs.

Each is written here on a bare redis-py client; ``content, RedisStore`` is the first through
the store itself (its lookup ``get_versioned``, its save ``replace_versioned``).

For each design and a session of 300 B, 4 KB and 60 KB this prints the client instructions
per lookup and per save (callgrind, around a loop of redis-py calls only, as in
scripts/request_cost.py), the bytes on the wire each way (the server's INFO stats), and the
server's own microseconds per command (INFO commandstats). Needs valgrind and
``redis-server`` (``REDIS_SERVER``); starts its own server on a free port.

Usage::

    python backends/redis/benchmarks/versions.py [--calls 2000]
"""

from __future__ import annotations

import argparse
import hashlib
import math
import os
import re
import struct
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis
from sessionkit_redis import RedisStore

from sessionkit.netutil import free_port, wait_for_port

SIZES = {"300 B": 300, "4 KB": 4 * 1024, "60 KB": 60 * 1024}
OPERATIONS = ("lookup", "save")
TTL = 3600
PREFIX, SID = "versions:", "measured-session"
KEY = PREFIX + SID
COUNTER = struct.Struct(">Q")

CONTENT = """
local current = redis.call('GET', KEYS[1])
if not current then return false end
if current ~= ARGV[1] then return current end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
return 1
"""
DIGEST = """
local current = redis.call('GET', KEYS[1])
if not current then return false end
if redis.sha1hex(current) ~= ARGV[1] then return current end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
return 1
"""
COUNTED = """
local current = redis.call('GET', KEYS[1])
if not current then return false end
if string.sub(current, 1, 8) ~= ARGV[1] then return current end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
return 1
"""
HASHED = """
local version = redis.call('HGET', KEYS[1], 'v')
if not version then return false end
if version ~= ARGV[1] then return redis.call('HMGET', KEYS[1], 'v', 'd') end
redis.call('HSET', KEYS[1], 'v', ARGV[2], 'd', ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[4])
return 1
"""


class Design:
    """One way to version, on a raw redis-py client: seed, look up, save (nobody racing)."""

    script = ""
    save_command = "evalsha"
    lookup_command = "get"

    def __init__(self, client: redis.Redis, data: bytes) -> None:
        self.client = client
        self.data = data
        self.cas = client.register_script(self.script)
        self.version: Any = None

    def seed(self) -> None:
        self.client.set(KEY, self.data, ex=TTL)

    def lookup(self) -> tuple[bytes, Any]:
        data = self.client.get(KEY)
        assert data is not None
        return data, data

    def save(self) -> None:
        assert self.cas(keys=[KEY], args=[self.data, self.data, TTL]) == 1


class Content(Design):
    script = CONTENT


class Digest(Design):
    script = DIGEST

    def save(self) -> None:
        read = hashlib.sha1(self.data).hexdigest()  # noqa: S324 - a version, not a secret
        assert self.cas(keys=[KEY], args=[read, self.data, TTL]) == 1


class Counter(Design):
    script = COUNTED

    def seed(self) -> None:
        self.version = 0
        self.client.set(KEY, COUNTER.pack(0) + self.data, ex=TTL)

    def lookup(self) -> tuple[bytes, Any]:
        stored = self.client.get(KEY)
        assert stored is not None
        return stored[COUNTER.size :], stored[: COUNTER.size]

    def save(self) -> None:
        read, new = COUNTER.pack(self.version), COUNTER.pack(self.version + 1)
        assert self.cas(keys=[KEY], args=[read, new + self.data, TTL]) == 1
        self.version += 1


class Hash(Design):
    script = HASHED
    lookup_command = "hmget"

    def seed(self) -> None:
        self.version = 0
        self.client.hset(KEY, mapping={"v": 0, "d": self.data})
        self.client.expire(KEY, TTL)

    def lookup(self) -> tuple[bytes, Any]:
        version, data = self.client.hmget(KEY, ["v", "d"])
        assert data is not None
        return data, version

    def save(self) -> None:
        assert self.cas(keys=[KEY], args=[self.version, self.version + 1, self.data, TTL]) == 1
        self.version += 1


class ContentStore(Content):
    """``content`` through :class:`RedisStore`, to show what the store's own code adds."""

    def __init__(self, client: redis.Redis, data: bytes) -> None:
        super().__init__(client, data)
        port = client.connection_pool.connection_kwargs["port"]
        self.store = RedisStore.from_url(f"redis://127.0.0.1:{port}/0?prefix={PREFIX}")

    def lookup(self) -> tuple[bytes, Any]:
        entry = self.store.get_versioned(SID)
        assert entry is not None
        return entry

    def save(self) -> None:
        assert self.store.replace_versioned(SID, self.data, TTL, self.data).stored


DESIGNS: dict[str, type[Design]] = {
    "content": Content,
    "content, RedisStore": ContentStore,
    "digest": Digest,
    "counter": Counter,
    "hash": Hash,
}


def prepared(port: int, design: str, size: int) -> tuple[Design, redis.Redis]:
    client = redis.Redis("127.0.0.1", port)
    chosen = DESIGNS[design](client, bytes(index % 251 for index in range(size)))
    client.delete(KEY)
    chosen.seed()
    chosen.lookup()
    chosen.save()  # connected, script loaded
    return chosen, client


def child(port: int, design: str, count: int) -> None:
    """Each size and operation of ``design`` in turn, run under callgrind: it zeroes its
    counters when ``math.gcd`` is called and dumps them when ``math.lcm`` is, so each loop
    is counted alone, in its own numbered file."""
    for size in SIZES.values():
        for operation in OPERATIONS:
            chosen, client = prepared(port, design, size)
            call: Callable[[], object] = getattr(chosen, operation)
            for _ in range(50):
                call()
            math.gcd(1, 1)
            for _ in range(count):
                call()
            math.lcm(1, 1)
            client.close()


def instructions(port: int, design: str, count: int) -> dict[tuple[int, str], float]:
    """Instructions per call of ``design``, by size and operation: one valgrind run."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        command = [
            "valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
            "--zero-before=math_gcd", "--dump-before=math_lcm",
            sys.executable, __file__, "--child", str(port), design, str(count),
        ]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
        loops = [(size, operation) for size in SIZES.values() for operation in OPERATIONS]
        counts = {}
        for number, loop in enumerate(loops, start=1):
            dump = Path(f"{out}.{number}")
            text = dump.read_text() if dump.exists() and not done.returncode else ""
            summary = re.search(r"^summary: (\d+)", text, re.M)
            if summary is None:
                raise SystemExit(f"valgrind run failed or dumped nothing:\n{done.stderr[-2000:]}")
            counts[loop] = int(summary.group(1)) / count
        return counts


def traffic(port: int, design: str, size: int, operation: str, count: int) -> tuple[float, ...]:
    """Bytes to and from the server per call, and the server's microseconds per call."""
    chosen, client = prepared(port, design, size)
    command = chosen.save_command if operation == "save" else chosen.lookup_command
    call: Callable[[], object] = getattr(chosen, operation)

    def stats() -> tuple[int, int]:
        info = client.info("stats")
        return info["total_net_input_bytes"], info["total_net_output_bytes"]

    idle = [stats(), stats()]  # what one INFO costs on the wire
    client.config_resetstat()
    before = stats()
    for _ in range(count):
        call()
    after = stats()
    usec = client.info("commandstats")[f"cmdstat_{command}"]["usec_per_call"]
    client.close()
    per_info = [idle[1][side] - idle[0][side] for side in (0, 1)]
    sent, received = ((after[side] - before[side] - per_info[side]) / count for side in (0, 1))
    return sent, received, float(usec)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=2000, help="calls per counted run")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        port, design, count = args.child
        child(int(port), design, int(count))
        return
    port = free_port()
    with tempfile.TemporaryDirectory() as directory:
        server = subprocess.Popen(  # noqa: S603 - our own command line
            [os.environ.get("REDIS_SERVER", "redis-server"), "--port", str(port),
             "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", directory],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            wait_for_port("127.0.0.1", port, process=server)
            report(port, args.calls)
        finally:
            server.terminate()
            server.wait()


def report(port: int, count: int) -> None:
    print("| design | size | lookup: instructions | bytes sent / received | server µs |", end="")
    print(" save: instructions | bytes sent / received | server µs |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for design in DESIGNS:
        counted = instructions(port, design, count)
        for label, size in SIZES.items():
            cells = []
            for operation in OPERATIONS:
                sent, received, usec = traffic(port, design, size, operation, count)
                cost = counted[size, operation]
                cells += [f"{cost:,.0f}", f"{sent:,.0f} / {received:,.0f}", f"{usec:.2f}"]
            print(f"| {design} | {label} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
