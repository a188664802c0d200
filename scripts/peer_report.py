"""The peer comparison's results: per-cell costs and ratios, as JSON, Markdown and a plot.

Used by ``scripts/peer_bench.py``; ``python scripts/peer_report.py DIR`` renders DIR's
``results.json`` again (after an edit of this module, with no new measurement), and
``--merge OTHER`` first takes the wall-clock figures and round trips of OTHER's run (one made
with ``--no-callgrind``) into DIR's (one made with ``--no-wall``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import callgrind

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.benchmarks.peers.matrix import (  # noqa: E402
    ADAPTERS,
    BACKENDS,
    FRAMEWORKS,
    OPERATIONS,
    PEERS,
    SESSIONKIT,
)

TARGET = 0.5
PROFILE_TOP = 15
PACKAGES = (
    "sessionkit", "flask", "starlette", "fastapi", "django", "beaker", "flask-session",
    "starsessions", "django-redis", "redis", "hiredis", "pymemcache", "python-memcached",
    "sqlalchemy", "cachelib", "msgspec", "orjson",
)  # fmt: skip


def versions() -> dict[str, str]:
    found = {}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    found["python"] = sys.version.split()[0]
    return found


def instruction_cost(record: dict[str, Any], op: str, size: str) -> float | None:
    ins = record.get("instructions") or {}
    if f"{op} {size}" not in ins:
        return None
    return float(ins[f"{op} {size}"] - ins[f"bare {op}"] - ins[f"raw {op} {size}"])


def wall_costs(record: dict[str, Any], op: str, size: str) -> list[float]:
    """The cost in µs from each repetition (request - bare - raw, all of that process)."""
    s = record.get("seconds") or {}
    if f"{op} {size}" not in s:
        return []
    rows = zip(s[f"{op} {size}"], s[f"bare {op}"], s[f"raw {op} {size}"], strict=True)
    return [(request - bare - raw) * 1e6 for request, bare, raw in rows]


def spread(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def ratio(mine: float | None, peer: float | None) -> float | None:
    if mine is None or peer is None or peer <= 0:
        return None
    return mine / peer


def cells(runs: dict[str, dict[str, Any]], sizes: list[str]) -> list[dict[str, Any]]:
    """One entry per (framework, backend, size, operation) that was measured."""
    out = []
    for framework in FRAMEWORKS:
        for backend in BACKENDS:
            key = f"{framework}/{backend}"
            if not any(name.startswith(key + "/") for name in runs):
                continue
            for size in sizes:
                for op in OPERATIONS:
                    out.append(cell(runs, framework, backend, size, op))
    return out


def cell(
    runs: dict[str, dict[str, Any]], framework: str, backend: str, size: str, op: str
) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "framework": framework, "backend": backend, "size": size, "op": op,
        "peer": PEERS[framework].get(backend), "cost": {}, "wall_us": {}, "roundtrips": {},
    }  # fmt: skip
    for impl in ("peer", *SESSIONKIT):
        record = runs.get(f"{framework}/{backend}/{impl}")
        if record is None:
            continue
        entry["cost"][impl] = instruction_cost(record, op, size)
        entry["wall_us"][impl] = spread(wall_costs(record, op, size))
        entry["roundtrips"][impl] = record.get("roundtrips", {}).get(f"{op} {size}")
        entry["raw_roundtrips"] = record.get("roundtrips", {}).get(f"raw {op} {size}")
    peer = entry["cost"].get("peer")
    peer_wall = (entry["wall_us"].get("peer") or {}).get("median")
    entry["ratio"] = {impl: ratio(entry["cost"].get(impl), peer) for impl in SESSIONKIT}
    entry["wall_ratio"] = {
        impl: ratio((entry["wall_us"].get(impl) or {}).get("median"), peer_wall)
        for impl in SESSIONKIT
    }
    return entry


# -- Markdown


def k(value: float | None) -> str:
    return "-" if value is None else f"{value / 1000:,.0f}"


def x(value: float | None) -> str:
    if value is None:
        return "-"
    mark = " ✗" if value > TARGET else ""
    return f"{value:.2f}{mark}"


def us(value: dict[str, float] | None) -> str:
    if value is None:
        return "-"
    return f"{value['median']:,.0f} ({value['min']:,.0f}-{value['max']:,.0f})"


def trips(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def cell_rows(entries: list[dict[str, Any]]) -> list[str]:
    rows = [
        "| framework | backend | size | op | peer | cost k instr: peer / json / orjson "
        "| ÷ peer: json / orjson | wall µs, median (min-max): peer / json / orjson "
        "| wall ÷ peer: json / orjson | round trips: peer / sk (raw) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for e in entries:
        cost, wall, rt = e["cost"], e["wall_us"], e["roundtrips"]
        json_, orj = SESSIONKIT
        rows.append(
            f"| {e['framework']} | {e['backend']} | {e['size']} | {e['op']} "
            f"| {e['peer'] or 'none'} "
            f"| {k(cost.get('peer'))} / {k(cost.get(json_))} / {k(cost.get(orj))} "
            f"| {x(e['ratio'][json_])} / {x(e['ratio'][orj])} "
            f"| {us(wall.get('peer'))} / {us(wall.get(json_))} / {us(wall.get(orj))} "
            f"| {x(e['wall_ratio'][json_])} / {x(e['wall_ratio'][orj])} "
            f"| {trips(rt.get('peer'))} / {trips(rt.get(json_))} "
            f"({trips(e.get('raw_roundtrips'))}) |"
        )
    return rows


def summary_rows(entries: list[dict[str, Any]]) -> list[str]:
    rows = [
        "| framework | backend | peer | worst ÷ peer, json | worst ÷ peer, orjson "
        "| cells above 0.5x (json / orjson) |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for e in entries:
        groups.setdefault((e["framework"], e["backend"]), []).append(e)
    for (framework, backend), group in groups.items():
        if group[0]["peer"] is None:
            rows.append(f"| {framework} | {backend} | none | - | - | - |")
            continue
        worst, above = [], []
        for impl in SESSIONKIT:
            values = [e["ratio"][impl] for e in group if e["ratio"][impl] is not None]
            worst.append(max(values) if values else None)
            above.append(sum(v > TARGET for v in values))
        rows.append(
            f"| {framework} | {backend} | {group[0]['peer']} | {x(worst[0])} | {x(worst[1])} "
            f"| {above[0]} / {above[1]} of {len(group)} |"
        )
    return rows


def untouched_rows(runs: dict[str, dict[str, Any]]) -> list[str]:
    rows = [
        "| framework | backend | impl | k instr beyond bare | round trips |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, record in runs.items():
        ins = record.get("instructions") or {}
        extra = ins["untouched"] - ins["bare"] if "untouched" in ins else None
        framework, backend, impl = name.split("/")
        rt = record.get("roundtrips", {}).get("untouched")
        rows.append(f"| {framework} | {backend} | {impl} | {k(extra)} | {trips(rt)} |")
    return rows


def markdown(results: dict[str, Any]) -> str:
    meta, entries = results["meta"], results["cells"]
    packages = ", ".join(f"{name} {v}" for name, v in meta["versions"].items())
    adapters = "; ".join(f"{f}: `{a}`" for f, a in ADAPTERS.items())
    lines = [
        "# sessionkit beside each framework's usual session library",
        "",
        f"`{meta['command']}` ({meta['minutes']} min). {packages}.",
        "",
        f"sessionkit through its adapters ({adapters}). Cost = request with the session - the "
        "bare app's same request (same route and view, a dict held by the app for the "
        "session) - the raw client's get (read) or get + set (modify), in thousands "
        f"of CPU instructions per request (callgrind; loops of {meta['callgrind_requests']} "
        "requests), all in one process. Wall clock: the same cost in µs, median and min-max "
        f"over {meta['reps']} repetitions alternating between the implementations (loops of "
        f"{meta['wall_requests']} requests). ÷ peer = sessionkit's cost ÷ the peer's; "
        f"target ≤ {TARGET}x, ✗ marks a cell above it. Round trips per request, counted at the "
        "store (redis INFO commandstats, memcached stats, SQL statements, files opened).",
        "",
        "## Summary",
        "",
        *summary_rows(entries),
        "",
        "## Every cell",
        "",
        *cell_rows(entries),
        "",
        "## A request that never uses its session (the session app's /bare, valid cookie)",
        "",
        *untouched_rows(results["runs"]),
        "",
    ]
    return "\n".join(lines)


def profiles(out: Path, results: dict[str, Any]) -> str:
    """Callgrind's top functions (inclusive) in sessionkit's request, for cells above 0.5x."""
    lines = [
        "# Where sessionkit's instructions go, in the cells above 0.5x",
        "",
        "`callgrind_annotate --inclusive=yes` of sessionkit's measured loop in that cell, "
        "per request, the interpreter's own frames (eval loop, calls) left out. C functions "
        "only: Python functions run inside the eval loop and show through what they call "
        "(_json.c: the json module; _hashopenssl.c / libcrypto: HMAC; socketmodule.c: I/O; "
        "thread / futex: worker-thread hops).",
        "",
    ]
    for e in results["cells"]:
        for impl in SESSIONKIT:
            value = e["ratio"][impl]
            if value is None or value <= TARGET:
                continue
            record = results["runs"][f"{e['framework']}/{e['backend']}/{impl}"]
            dump = record.get("dumps", {}).get(f"{e['op']} {e['size']}")
            if dump is None or not (out / dump).exists():
                continue
            requests = results["meta"]["callgrind_requests"][e["size"]]
            lines += [
                f"## {e['framework']}, {e['backend']}, {e['size']}, {e['op']}: {impl} "
                f"{value:.2f}x {e['peer']} (cost {k(e['cost'][impl])}k vs {k(e['cost']['peer'])}k)",
                "",
                "| k instr / request | function |",
                "| ---: | --- |",
            ]
            for count, function in callgrind.inclusive(out / dump, PROFILE_TOP):
                lines.append(f"| {count / requests / 1000:,.1f} | `{function}` |")
            lines.append("")
    return "\n".join(lines)


# -- the plot


def plot(path: Path, entries: list[dict[str, Any]]) -> None:
    """sessionkit ÷ peer (instructions) per cell with a peer: one panel per framework."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter

    with_peer = [e for e in entries if any(e["ratio"][i] is not None for i in SESSIONKIT)]
    frameworks = [f for f in FRAMEWORKS if any(e["framework"] == f for e in with_peer)]
    if not frameworks:
        return
    rows = max(sum(e["framework"] == f for e in with_peer) for f in frameworks)
    values = [e["ratio"][i] for e in with_peer for i in SESSIONKIT if e["ratio"][i] is not None]
    floor = min([v for v in values if v > 0] + [TARGET]) / 1.5
    low, high = floor / 1.3, max([*values, 1.0]) * 1.4
    fig, axes = plt.subplots(
        1, len(frameworks), figsize=(4.2 * len(frameworks), 0.24 * rows + 1.8), squeeze=False
    )
    for ax, framework in zip(axes[0], frameworks, strict=True):
        group = [e for e in with_peer if e["framework"] == framework]
        labels = [f"{e['backend']} {e['size']} {e['op']}" for e in group]
        ys = list(range(len(group)))[::-1]
        for impl, marker, color in zip(SESSIONKIT, "o^", ("tab:blue", "tab:orange"), strict=True):
            points = [(e["ratio"][impl], y) for e, y in zip(group, ys, strict=True)]
            shown = [(r, y) for r, y in points if r is not None and r > 0]
            at_floor = [y for r, y in points if r is not None and r <= 0]
            ax.scatter([p[0] for p in shown], [p[1] for p in shown], marker=marker,
                       color=color, label=impl, zorder=3, s=22)  # fmt: skip
            ax.scatter([floor] * len(at_floor), at_floor, marker="<", color=color, zorder=3,
                       s=30, label=f"{impl}: cost <= 0, drawn at {floor:.2g}")  # fmt: skip
        ax.axvline(TARGET, color="tab:green", linestyle="--", linewidth=1, label="target 0.5x")
        ax.axvline(1.0, color="grey", linewidth=1, label="peer = 1x")
        ax.set_xscale("log")
        ax.set_xlim(low, high)
        ticks = [t for t in (0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50) if low <= t <= high]
        ax.xaxis.set_major_locator(FixedLocator(ticks))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}x"))
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_ylim(-0.7, len(group) - 0.3)
        ax.set_yticks(ys, labels, fontsize=7)
        ax.grid(axis="x", which="both", alpha=0.3)
        ax.set_title(f"{framework} vs {sorted({e['peer'] for e in group})[0].split(' +')[0]}",
                     fontsize=9)  # fmt: skip
        ax.set_xlabel("sessionkit ÷ peer, session cost in instructions (log)", fontsize=7)
        ax.tick_params(axis="x", labelsize=7)
    handles, names = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, names, fontsize=7, loc="upper center", ncol=3,
               bbox_to_anchor=(0.5, 0.0), frameon=False)  # fmt: skip
    fig.tight_layout()
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


def write_report(
    out: Path, runs: dict[tuple[str, str, str], dict[str, Any]], meta: dict[str, Any],
    probes: str | None,
) -> None:  # fmt: skip
    named = {"/".join(job): record for job, record in runs.items()}
    results = {
        "meta": {**meta, "versions": versions()},
        "runs": named,
        "cells": cells(named, meta["sizes"]),
    }
    (out / "results.json").write_text(json.dumps(results, indent=1))
    render(out, results)
    if probes is not None:
        (out / "probes.md").write_text(probes)


def render(out: Path, results: dict[str, Any]) -> None:
    (out / "results.md").write_text(markdown(results))
    (out / "profiles.md").write_text(profiles(out, results))
    plot(out / "ratio.png", results["cells"])


def merge(results: dict[str, Any], wall: dict[str, Any]) -> dict[str, Any]:
    """``results`` with the seconds and round trips of ``wall``'s runs."""
    runs = results["runs"]
    for name, record in wall["runs"].items():
        target = runs.setdefault(name, {"instructions": {}})
        target["seconds"], target["roundtrips"] = record["seconds"], record["roundtrips"]
    meta = results["meta"]
    meta["reps"], meta["wall_requests"] = wall["meta"]["reps"], wall["meta"]["wall_requests"]
    meta["command"] += f"` and `{wall['meta']['command']}"
    return {**results, "cells": cells(runs, meta["sizes"])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("directory", type=Path, help="a run's --out directory")
    parser.add_argument("--merge", type=Path, help="a wall-clock run's --out directory")
    args = parser.parse_args()
    results = json.loads((args.directory / "results.json").read_text())
    if args.merge:
        results = merge(results, json.loads((args.merge / "results.json").read_text()))
        (args.directory / "results.json").write_text(json.dumps(results, indent=1))
    render(args.directory, results)


if __name__ == "__main__":
    main()
