"""Print the benchmark tables from saved pytest-benchmark runs.

Usage::

    python scripts/bench_table.py                 # the runs in .benchmarks/latest/ (else the
                                                  # newest run of each name under .benchmarks/)
    python scripts/bench_table.py PATH ...        # these JSON files, or every one in a folder

Store runs (``tests/benchmarks/test_bench_*.py``): one row per backend, case and session size
with the median and p99 of sessionkit and of the raw client, and their ratio. Each
implementation's figure is the median of its per-repetition medians (the repetitions alternate
sessionkit and raw, so both saw the same machine); "range" is the spread of the ratio between
repetitions. Runs without repetitions (one pair per group, e.g. ``test_bench_redis.py``) get
their own rows (size "300B pair"), and their p99 column shows the max of the rounds (marked ``*``).

The comparison with other session libraries has its own script: ``scripts/peer_bench.py``.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

BACKENDS = ("memory", "file", "sqlite", "postgresql", "mysql", "redis", "memcached")
CASES = ("cycle", "lookup", "save", "touch", "create")
NETWORK = ("postgresql", "mysql", "redis", "memcached")
TARGETS = {("memory", "cycle"): 1.5, **{(b, c): 1.15 for b in NETWORK for c in ("lookup", "save")}}


def latest_runs(storage: Path) -> list[Path]:
    """The newest saved file of each run name (``NNNN_<name>.json``) under ``storage``."""
    newest: dict[str, Path] = {}
    for path in sorted(storage.glob("*/*.json")):
        match = re.fullmatch(r"(\d+)_(.+)\.json", path.name)
        if match:
            newest[match.group(2)] = path  # sorted: later numbers win
    return sorted(newest.values())


def describe(bench: dict[str, Any]) -> dict[str, Any]:
    """Backend, case, size, implementation and repetition of one benchmark entry."""
    info = dict(bench.get("extra_info") or {})
    if "backend" in info and "impl" in info:
        return info
    group = bench.get("group") or ""
    if group.startswith("core-"):  # core-cycle-memory
        _, case, backend = group.split("-", 2)
    else:
        backend, _, case = group.partition("-")
    impl = "sessionkit" if "sessionkit" in bench["name"] else "raw"
    # A single sessionkit/raw pair from another file: its own row, apart from the matrix.
    return {"backend": backend, "case": case, "size": "300B pair", "impl": impl, "rep": 0, **info}


def judge(ratio: float, target: float | None) -> str:
    if target is None:
        return ""
    return f"{'met' if ratio <= target else 'MISSED'} (<= {target})"


def micro(seconds: float) -> str:
    return f"{seconds * 1e6:,.1f}"


Cells = dict[int, tuple[float, float, bool]]  # repetition -> (median, p99, p99 is a max)


def ratio_row(key: tuple[str, str, str], sk: Cells, raw: Cells, target: float | None) -> list[str]:
    """One table row: sessionkit's and the raw client's medians and tails, and their ratio."""
    sk_median = statistics.median(m for m, _, _ in sk.values())
    raw_median = statistics.median(m for m, _, _ in raw.values())
    ratio = sk_median / raw_median
    per_rep = [sk[r][0] / raw[r][0] for r in sorted(sk.keys() & raw.keys())]
    spread = f"{min(per_rep):.2f}-{max(per_rep):.2f}" if len(per_rep) > 1 else ""
    star = "*" if any(is_max for _, _, is_max in sk.values()) else ""
    return [
        *key,
        micro(sk_median),
        micro(statistics.median(t for _, t, _ in sk.values())) + star,
        micro(raw_median),
        micro(statistics.median(t for _, t, _ in raw.values())) + star,
        f"{ratio:.2f}x",
        spread,
        judge(ratio, target),
    ]


def store_rows(benches: Iterable[dict[str, Any]]) -> list[list[str]]:
    # (backend, case, size) -> impl -> repetition -> (median, p99, p99 is a max)
    cells: dict[tuple[str, str, str], dict[str, Cells]] = defaultdict(lambda: defaultdict(dict))
    for bench in benches:
        info = describe(bench)
        if "framework" in info:
            continue
        stats = bench["stats"]
        tail, is_max = (info["p99"], False) if "p99" in info else (stats["max"], True)
        key = (info["backend"], info["case"], info["size"])
        cells[key][info["impl"]][int(info["rep"])] = (stats["median"], tail, is_max)

    def order(key: tuple[str, str, str]) -> tuple[int, int, str]:
        backend, case, size = key
        rank = BACKENDS.index(backend) if backend in BACKENDS else len(BACKENDS)
        return rank, CASES.index(case) if case in CASES else len(CASES), size[::-1]

    rows = []
    for key in sorted(cells, key=order):
        impls = cells[key]
        raw = impls.get("raw")
        for name in sorted(impls):
            if raw is None or not name.startswith("sessionkit"):
                continue
            sk = impls[name]
            variant = name.removeprefix("sessionkit").lstrip("-")
            case = f"{key[1]} ({variant})" if variant else key[1]
            rows.append(ratio_row((key[0], case, key[2]), sk, raw, TARGETS.get(key[:2])))
    return rows


def markdown(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(c)) for c in column) for column in zip(header, *rows, strict=True)]
    lines = [header, ["-" * w for w in widths], *rows]
    return "\n".join(
        "| " + " | ".join(str(c).ljust(w) for c, w in zip(line, widths, strict=True)) + " |"
        for line in lines
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="*", type=Path, help="saved pytest-benchmark JSON files")
    parser.add_argument("--storage", type=Path, default=Path(".benchmarks"))
    args = parser.parse_args(argv)
    runs = [
        run
        for given in args.runs or [args.storage / "latest"]
        for run in (sorted(given.glob("*.json")) if given.is_dir() else [given])
    ] or latest_runs(args.storage)
    if not runs:
        parser.error(f"no saved runs under {args.storage}; run a bench-* tox env first")
    benches = [bench for run in runs for bench in json.loads(run.read_text())["benchmarks"]]
    print("Runs: " + ", ".join(str(run) for run in runs) + "\n")
    stores = store_rows(benches)
    if stores:
        header = [
            "backend",
            "case",
            "size",
            "sessionkit median (us)",
            "sessionkit p99 (us)",
            "raw median (us)",
            "raw p99 (us)",
            "ratio",
            "range",
            "target",
        ]
        print(markdown(header, stores) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
