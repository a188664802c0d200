"""A run's outcome: per-request figures, failures, lost and mixed-up sessions, lost updates,
and what each fault window did.

The figures come from the CSV files that :mod:`loadtests.recorder` writes once the users have
stopped (so they match Locust's HTML report), the rest from the per-request records.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from loadtests.checks import LOST, MIXED
from loadtests.timeline import FaultReport, Window, fault_reports, read_records, render_faults


@dataclass(frozen=True)
class Row:
    """One request type's figures (times in milliseconds)."""

    type: str
    name: str
    requests: int
    failures: int
    rps: float
    mean: float
    p50: float
    p95: float
    p99: float


@dataclass
class Summary:
    """A run's outcome, read from the files written under ``PREFIX``."""

    rows: list[Row] = field(default_factory=list)  # the last one is "Aggregated"
    lost: int = 0
    mixed: int = 0
    errors: int = 0  # exceptions raised inside users (bugs in the load test or its client)
    updates: int = 0  # cart items that parallel requests were told they added
    lost_updates: int = 0  # ... and that were missing from the cart afterwards
    faults: list[FaultReport] = field(default_factory=list)

    @property
    def total(self) -> Row:
        return self.rows[-1]

    @property
    def ok(self) -> bool:
        """No session lost or mixed up, no update lost, no error in a user, and no failed
        request, except inside fault windows where only answers without a status line count."""
        if not self.rows or self.lost or self.mixed or self.errors or self.lost_updates:
            return False
        if not self.faults:
            return not self.total.failures
        return all(
            not (fault.before.failed or fault.after.failed or fault.during.no_status)
            for fault in self.faults
        )

    def write_json(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2) + "\n")


def _number(text: str) -> float:
    return float(text) if text not in ("", "N/A") else 0.0


def read_summary(
    prefix: Path, windows: Sequence[Window] = (), load_start: float | None = None
) -> Summary:
    """Parse ``PREFIX_stats.csv``, ``PREFIX_failures.csv``, ``PREFIX_exceptions.csv`` and the
    records; report on the fault ``windows`` (times from ``load_start``) if any."""
    summary = Summary()
    with open(f"{prefix}_stats.csv", newline="") as file:
        for record in csv.DictReader(file):
            summary.rows.append(
                Row(
                    record["Type"],
                    record["Name"],
                    int(record["Request Count"]),
                    int(record["Failure Count"]),
                    _number(record["Requests/s"]),
                    _number(record["Average Response Time"]),
                    _number(record["50%"]),
                    _number(record["95%"]),
                    _number(record["99%"]),
                )
            )
    with open(f"{prefix}_failures.csv", newline="") as file:
        for record in csv.DictReader(file):
            count = int(record["Occurrences"])
            summary.lost += count if LOST in record["Error"] else 0
            summary.mixed += count if MIXED in record["Error"] else 0
    exceptions = Path(f"{prefix}_exceptions.csv")
    if exceptions.exists():
        with exceptions.open(newline="") as file:
            summary.errors = sum(int(record["Count"]) for record in csv.DictReader(file))
    records = read_records(prefix)
    summary.updates, summary.lost_updates = records.updates, records.lost_updates
    if windows and load_start is not None:
        summary.faults = fault_reports(records.requests, list(windows), load_start)
    return summary


def render(summary: Summary) -> str:
    """The figures as a text table, then the session verdicts."""
    lines = [
        f"{'type':<6} {'name':<22} {'requests':>9} {'fails':>6} {'req/s':>8} "
        f"{'mean ms':>8} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7}"
    ]
    for row in summary.rows:
        lines.append(
            f"{row.type:<6} {row.name:<22} {row.requests:>9} {row.failures:>6} {row.rps:>8.1f} "
            f"{row.mean:>8.2f} {row.p50:>7.0f} {row.p95:>7.0f} {row.p99:>7.0f}"
        )
    updates = (
        f"lost updates: {summary.lost_updates} of {summary.updates} cart items, "
        if summary.updates
        else ""
    )
    lines.append(
        f"lost sessions: {summary.lost}, {updates}mixed-up sessions: {summary.mixed}, "
        f"errors in users: {summary.errors}"
    )
    if summary.faults:
        lines.append(render_faults(summary.faults))
    return "\n".join(lines)
