"""Faults on demand: a relay between the demo and its store, cut or frozen on a schedule.

``--fault cut@15s+5s`` makes the store look dead from 15 s after the load starts, for 5 s
(connections closed, new ones refused); ``--fault hang@15s+5s`` makes it look frozen (nothing
answers, connections stay open). The demo talks to the store through a
:class:`~sessionkit.netutil.TCPRelay`, so the real server is never touched.
"""

from __future__ import annotations

import itertools
import os
import re
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from loadtests.settings import parse_timespan
from loadtests.timeline import Window
from sessionkit.netutil import TCPRelay
from sessionkit.url import mask_url

KINDS = ("cut", "hang")
DEFAULT_PORTS = {
    "redis": 6379,
    "rediss": 6379,
    "memcached": 11211,
    "postgresql": 5432,
    "mysql": 3306,
    "mariadb": 3306,
}
# Their clients find the servers themselves, so a relay in front of the first one would miss them.
SELF_DISCOVERING = ("redis+sentinel", "redis+cluster")


@dataclass(frozen=True)
class Fault:
    """``kind`` from ``at`` seconds after the load starts, for ``duration`` seconds."""

    kind: str
    at: int
    duration: int

    @property
    def spec(self) -> str:
        return f"{self.kind}@{self.at}s+{self.duration}s"

    @property
    def end(self) -> int:
        return self.at + self.duration


def parse_fault(text: str) -> Fault:
    """``cut@15s+5s`` or ``hang@1m+10s``; ValueError with the expected form otherwise."""
    match = re.fullmatch(r"(\w+)@([^+]+)\+(.+)", text.strip())
    if match is None or match[1] not in KINDS:
        raise ValueError(f"--fault {text!r}: expected cut@START+DURATION or hang@START+DURATION")
    try:
        at, duration = parse_timespan(match[2]), parse_timespan(match[3])
    except ValueError as exc:
        raise ValueError(f"--fault {text!r}: {exc}") from None
    if duration < 1:
        raise ValueError(f"--fault {text!r}: the fault must last at least 1 s")
    return Fault(match[1], at, duration)


def check_schedule(faults: list[Fault], run_time: int) -> None:
    """ValueError unless the faults are apart from each other and end before the run does."""
    ordered = sorted(faults, key=lambda fault: fault.at)
    for earlier, later in itertools.pairwise(ordered):
        if later.at < earlier.end:
            raise ValueError(f"--fault {earlier.spec} and {later.spec} overlap")
    if ordered and ordered[-1].end >= run_time:
        raise ValueError(
            f"--fault {ordered[-1].spec} does not end before the run does ({run_time} s): "
            "the time after it shows the recovery"
        )


def store_address(url: str) -> tuple[str, int]:
    """The one ``(host, port)`` that the store at ``url`` is reached at over TCP.

    :raises ValueError: for stores without a connection to cut (memory, file, SQLite,
        Unix sockets) or with servers that their client finds by itself.
    """
    scheme = url.partition("://")[0].lower()
    if scheme in SELF_DISCOVERING:
        raise ValueError(
            f"--fault cannot relay {scheme}://: its client finds the servers itself; "
            "give the URL of one server"
        )
    parts = urlsplit(url)
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        host = None  # several hosts, or a port that is not a number
    if not host:
        raise ValueError(
            f"--fault needs a store reached over TCP at one host:port, and {mask_url(url)} "
            "has no connection to cut"
        )
    if port is None:
        port = DEFAULT_PORTS.get(scheme.partition("+")[0])
        if port is None:
            raise ValueError(f"--fault: give the port in the store URL {mask_url(url)}")
    return host, port


def through_relay(url: str, address: tuple[str, int]) -> str:
    """``url`` with its host and port replaced by ``address``; everything else kept as is
    (credentials, path, query)."""
    scheme, _, rest = url.partition("://")
    ends = [index for index in (rest.find(mark) for mark in "/?#") if index >= 0]
    netloc, tail = rest[: min(ends, default=len(rest))], rest[min(ends, default=len(rest)) :]
    userinfo, at, _ = netloc.rpartition("@")
    host, port = address
    return f"{scheme}://{userinfo}{at}{host}:{port}{tail}"


class FaultInjector:
    """Runs ``faults`` on ``relay``, timed from the moment Locust says the load started.

    :meth:`start` takes the read end of a pipe on which the Locust process writes that moment
    (a Unix time) when its test starts; a thread then cuts or freezes the relay for each
    window and records when it really did (:attr:`windows`). :meth:`stop` ends the schedule
    early, restoring the relay if a window is open.
    """

    def __init__(self, relay: TCPRelay, faults: list[Fault]) -> None:
        self.relay = relay
        self.faults = sorted(faults, key=lambda fault: fault.at)
        self.windows: list[Window] = []
        self.load_start: float | None = None
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, start_pipe: int) -> None:
        self._thread = threading.Thread(target=self._run, args=(start_pipe,), daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self, start_pipe: int) -> None:
        with os.fdopen(start_pipe) as pipe:
            told = pipe.readline()  # empty if Locust ended without starting
        if not told or self._stopping.is_set():
            return
        self.load_start = float(told)
        for fault in self.faults:
            if self._stopping.wait(max(self.load_start + fault.at - time.time(), 0)):
                return
            began = time.time()
            if fault.kind == "cut":
                self.relay.cut()
            else:
                self.relay.hang()
            self._stopping.wait(max(self.load_start + fault.end - time.time(), 0))
            self.relay.restore()
            self.windows.append(Window(fault.spec, began, time.time()))
