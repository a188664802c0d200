"""Every request of a run on a time line, and what happened around each fault window.

The Locust processes write one JSON line per request (see :mod:`loadtests.recorder`) into
``PREFIX_requests_PID.jsonl``; the harness reads them back here, after the run, beside the
times when it cut or froze the store (:class:`Window`). No Locust import here.
"""

from __future__ import annotations

import json
import statistics
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loadtests.checks import LOST

START_FD_ENV = "LOADTESTS_START_FD"  # the pipe on which Locust tells when the load starts
CLOSED = "no status line: closed"
TIMEOUT = "no status line: timeout"
NO_STATUS = (CLOSED, TIMEOUT)


def records_pattern(prefix: Path) -> str:
    """The glob, in ``prefix.parent``, of the record files of a run."""
    return f"{prefix.name}_requests_*.jsonl"


def records_file(prefix: Path, pid: int) -> Path:
    """Where the Locust process ``pid`` writes its records."""
    return prefix.parent / f"{prefix.name}_requests_{pid}.jsonl"


@dataclass(frozen=True)
class Record:
    """One request: when it started (Unix time), how long it took, and how it failed."""

    start: float
    ms: float
    name: str
    status: int | None  # the HTTP status; 0 when no status line came, None for a store call
    error: str | None  # None for a success, else its kind: "HTTP 500", CLOSED, LOST, ...
    store: bool = True  # whether the request needs the store (GET /health does not)

    @property
    def end(self) -> float:
        return self.start + self.ms / 1000


@dataclass(frozen=True)
class CartCheck:
    """The check after a browser's parallel cart updates: items added, items missing."""

    added: int
    missing: int


@dataclass
class Records:
    """What the Locust processes of a run recorded."""

    requests: list[Record] = field(default_factory=list)
    carts: list[CartCheck] = field(default_factory=list)

    @property
    def updates(self) -> int:
        return sum(check.added for check in self.carts)

    @property
    def lost_updates(self) -> int:
        return sum(check.missing for check in self.carts)


def read_records(prefix: Path) -> Records:
    """The records of every Locust process of the run behind ``prefix``."""
    records = Records()
    for path in sorted(prefix.parent.glob(records_pattern(prefix))):
        with path.open() as file:
            for line in file:
                entry: dict[str, Any] = json.loads(line)
                if entry.pop("type") == "cart":
                    records.carts.append(CartCheck(**entry))
                else:
                    records.requests.append(Record(**entry))
    records.requests.sort(key=lambda record: record.start)
    return records


@dataclass(frozen=True)
class Window:
    """A fault as it happened: its spec (``cut@15s+5s``), and when the store went away and
    came back (Unix times)."""

    spec: str
    start: float
    end: float


@dataclass(frozen=True)
class Period:
    """The requests of one period around a fault window."""

    requests: int
    failed: int
    no_status: int  # failures without any HTTP answer: connection closed, reset or timed out
    kinds: dict[str, int]  # failures by kind
    ms_median: float | None  # response times of all the period's requests
    ms_max: float | None
    failed_ms_median: float | None  # ... and of the failed ones
    failed_ms_max: float | None

    @classmethod
    def of(cls, records: list[Record]) -> Period:
        failures = [record for record in records if record.error is not None]
        kinds = Counter(record.error for record in failures if record.error is not None)
        times = [record.ms for record in records]
        failed_times = [record.ms for record in failures]
        return cls(
            requests=len(records),
            failed=len(failures),
            no_status=sum(kinds[kind] for kind in NO_STATUS),
            kinds=dict(kinds.most_common()),
            ms_median=statistics.median(times) if times else None,
            ms_max=max(times) if times else None,
            failed_ms_median=statistics.median(failed_times) if failed_times else None,
            failed_ms_max=max(failed_times) if failed_times else None,
        )


@dataclass(frozen=True)
class FaultReport:
    """What one fault window did to the run. Times in seconds."""

    spec: str
    began: float  # after the load started
    lasted: float
    before: Period  # requests that ended before the window, since the previous one
    during: Period  # requests that overlapped the window
    after: Period  # requests that started after it, until the next one
    recovery: float | None  # from the store's return to the first success that needed the store
    lost_sessions: int  # sessions found lost from the window's start until the next window


def fault_reports(
    records: list[Record], windows: list[Window], load_start: float
) -> list[FaultReport]:
    """A :class:`FaultReport` per window (in time order); ``records`` sorted by start."""
    ordered = sorted(windows, key=lambda window: window.start)
    reports = []
    for number, window in enumerate(ordered):
        since = ordered[number - 1].end if number else float("-inf")
        until = ordered[number + 1].start if number + 1 < len(ordered) else float("inf")
        before = [r for r in records if since <= r.start and r.end < window.start]
        during = [r for r in records if r.start < window.end and r.end >= window.start]
        after = [r for r in records if window.end <= r.start < until]
        successes = [r.end for r in records if r.store and r.error is None and r.end >= window.end]
        lost = [r for r in records if r.error == LOST and window.start <= r.start < until]
        reports.append(
            FaultReport(
                spec=window.spec,
                began=window.start - load_start,
                lasted=window.end - window.start,
                before=Period.of(before),
                during=Period.of(during),
                after=Period.of(after),
                recovery=min(successes) - window.end if successes else None,
                lost_sessions=len(lost),
            )
        )
    return reports


def render_faults(reports: list[FaultReport]) -> str:
    """The fault reports as text tables."""
    lines = []
    for report in reports:
        lines.append(
            f"fault {report.spec}: the store was away {report.began:.1f}-"
            f"{report.began + report.lasted:.1f} s into the load"
        )
        lines.append(
            f"  {'period':<7} {'requests':>8} {'ms p50':>7} {'max':>7} {'failed':>7} "
            f"{'no status':>9} {'failed ms p50':>13} {'max':>7}  failures by kind"
        )
        for name, period in (
            ("before", report.before),
            ("during", report.during),
            ("after", report.after),
        ):
            kinds = ", ".join(f"{kind}: {count}" for kind, count in period.kinds.items())
            lines.append(
                f"  {name:<7} {period.requests:>8} {_ms(period.ms_median):>7} "
                f"{_ms(period.ms_max):>7} {period.failed:>7} {period.no_status:>9} "
                f"{_ms(period.failed_ms_median):>13} {_ms(period.failed_ms_max):>7}  {kinds or '-'}"
            )
        recovery = (
            f"{report.recovery:.3f} s after the store's return"
            if report.recovery is not None
            else "never after the store's return"
        )
        lines.append(
            f"  first request needing the store answered {recovery}; "
            f"lost sessions found from the fault on: {report.lost_sessions}"
        )
    return "\n".join(lines)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"
