"""Reading Locust's CSV reports back: per-request figures, failures, lost and mixed-up sessions."""

from __future__ import annotations

import csv
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from loadtests.checks import LOST, MIXED


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
    """A run's outcome, read from the files ``locust --csv PREFIX`` wrote."""

    rows: list[Row] = field(default_factory=list)  # the last one is "Aggregated"
    lost: int = 0
    mixed: int = 0
    errors: int = 0  # exceptions raised inside users (bugs in the load test or its client)

    @property
    def total(self) -> Row:
        return self.rows[-1]

    @property
    def ok(self) -> bool:
        return bool(self.rows) and not (
            self.total.failures or self.lost or self.mixed or self.errors
        )

    def write_json(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2) + "\n")


def _number(text: str) -> float:
    return float(text) if text not in ("", "N/A") else 0.0


def read_summary(prefix: Path) -> Summary:
    """Parse ``PREFIX_stats.csv``, ``PREFIX_failures.csv`` and ``PREFIX_exceptions.csv``."""
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
    lines.append(
        f"lost sessions: {summary.lost}, mixed-up sessions: {summary.mixed}, "
        f"errors in users: {summary.errors}"
    )
    return "\n".join(lines)
