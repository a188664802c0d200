"""What a Locust process writes for the harness, beside Locust's own HTML report.

With ``--output-prefix PREFIX`` (the harness always gives one):

- every process that runs users writes each request as a JSON line to
  ``PREFIX_requests_PID.jsonl`` (see :mod:`loadtests.timeline`), and each parallel cart check;
- the process that owns the stats (the only one, or the master) writes ``PREFIX_stats.csv``,
  ``PREFIX_failures.csv`` and ``PREFIX_exceptions.csv`` once the users have stopped, so they
  count exactly what the HTML report counts (Locust's own ``--csv`` files are rewritten once a
  second while the run goes on, so they miss its last second);
- that process also writes the Unix time at which the load starts to the pipe named by
  ``$LOADTESTS_START_FD``, if set, so that the harness can time its faults from then.

Importing this module also makes Locust sample the history behind the HTML report's charts
every second instead of every five.
"""

from __future__ import annotations

import csv
import json
import os
import time
from pathlib import Path
from typing import IO, Any

import gevent  # type: ignore[import-untyped]
import locust.stats
from locust import events
from locust.env import Environment
from locust.runners import MasterRunner, WorkerRunner

from loadtests.checks import kind_of
from loadtests.timeline import CLOSED, START_FD_ENV, TIMEOUT, records_file

# Locust reads this module constant at each sample of its charts' history (default 5 s).
locust.stats.HISTORY_STATS_INTERVAL_SEC = 1


def output_prefix(environment: Environment) -> Path | None:
    prefix = getattr(environment.parsed_options, "output_prefix", "")
    return Path(prefix) if prefix else None


def owns_stats(environment: Environment) -> bool:
    return not isinstance(environment.runner, WorkerRunner)


class RequestLog:
    """The JSON lines of one process's requests."""

    def __init__(self, path: Path) -> None:
        self.file: IO[str] = path.open("w", buffering=1 << 16)

    def request(
        self,
        request_type: str,
        name: str,
        response_time: float,
        exception: BaseException | None,
        response: Any = None,
        context: dict[str, Any] | None = None,
        start_time: float | None = None,
        **kwargs: Any,
    ) -> None:
        status = getattr(response, "status_code", None)
        started = start_time if start_time is not None else time.time() - response_time / 1000
        self.write(
            type="request",
            start=round(started, 6),
            ms=round(response_time, 3),
            name=name,
            status=status,
            error=None if exception is None else error_kind(status, response, exception),
            store=(context or {}).get("store", True),
        )

    def cart_check(self, added: int, missing: int) -> None:
        self.write(type="cart", added=added, missing=missing)

    def write(self, **entry: Any) -> None:
        self.file.write(json.dumps(entry, separators=(",", ":")) + "\n")

    def close(self) -> None:
        self.file.close()


def error_kind(status: int | None, response: Any, exception: BaseException) -> str:
    """How a request failed, in the words of :mod:`loadtests.timeline`."""
    if status == 0:
        cause = getattr(response, "error", None)
        return TIMEOUT if isinstance(cause, (TimeoutError, gevent.Timeout)) else CLOSED
    if status is not None and status != 200:
        return f"HTTP {status}"
    kind = kind_of(str(exception))
    if kind is not None:
        return kind
    return "wrong answer" if status is not None else type(exception).__name__


_log: RequestLog | None = None


def cart_check(added: int, missing: int) -> None:
    """Record the outcome of a browser's parallel cart updates (when records are written)."""
    if _log is not None:
        _log.cart_check(added, missing)


@events.test_start.add_listener  # type: ignore[untyped-decorator]
def _start(environment: Environment, **kwargs: Any) -> None:
    # A worker has the master's options (--output-prefix among them) from its test's start on.
    global _log
    prefix = output_prefix(environment)
    if prefix is not None and _log is None and not isinstance(environment.runner, MasterRunner):
        _log = RequestLog(records_file(prefix, os.getpid()))
        environment.events.request.add_listener(_log.request)  # type: ignore[no-untyped-call]
    fd = os.environ.pop(START_FD_ENV, "")
    if fd and owns_stats(environment):
        with os.fdopen(int(fd), "w") as pipe:
            pipe.write(f"{time.time()}\n")


@events.quitting.add_listener  # type: ignore[untyped-decorator]
def _finish(environment: Environment, **kwargs: Any) -> None:
    global _log
    if _log is not None:
        _log.close()
        _log = None
    prefix = output_prefix(environment)
    if prefix is None or not owns_stats(environment):
        return
    writer = locust.stats.StatsCSV(environment, locust.stats.PERCENTILES_TO_REPORT)
    for suffix, write in (
        ("stats", writer.requests_csv),
        ("failures", writer.failures_csv),
        ("exceptions", writer.exceptions_csv),
    ):
        with open(f"{prefix}_{suffix}.csv", "w", newline="") as file:
            write(csv.writer(file))
