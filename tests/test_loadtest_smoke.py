"""The load harness: its session checks, and short real runs that must end clean.

The runs start the demo server and Locust as subprocesses for a few seconds each: memory and
Redis must show no failed request and no lost or mixed-up session, and a store wiped in the
middle of a run must make the run fail with lost sessions, also when it is wiped while a
relay cuts it off; the parallel cart scenario must count its lost updates.
"""

from __future__ import annotations

import csv
import json
import os
import re
import secrets
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from loadtests.checks import (
    LOST,
    LOST_UPDATE,
    MIXED,
    ExpectedSession,
    SessionMismatch,
    count_parallel_cart,
    kind_of,
    visits_in,
)
from loadtests.report import Summary, read_summary
from loadtests.run import main
from loadtests.settings import DEFAULT_WEIGHTS, parse_timespan, parse_weights
from loadtests.timeline import read_records
from sessionkit import open_store
from sessionkit.netutil import TCPRelay
from sessionkit.testing import require_server

SHORT_RUN = ["--users", "5", "--spawn-rate", "5", "--time", "5s", "--think-time", "0.05"]


def _kind(error: pytest.ExceptionInfo[SessionMismatch]) -> str:
    return error.value.kind


# -- what a visitor expects


def test_visits_count_up_and_a_restart_is_a_lost_session() -> None:
    session = ExpectedSession()
    session.visit(visits_in("Welcome! This is your first visit."))
    session.visit(visits_in("Number of visits: 2"))
    with pytest.raises(SessionMismatch) as lost:
        session.visit(visits_in("Welcome! This is your first visit."))
    assert _kind(lost) == LOST
    with pytest.raises(SessionMismatch) as mixed:
        session.visit(visits_in("Number of visits: 7"))
    assert _kind(mixed) == MIXED
    assert session.views == 2


def test_a_first_visit_that_finds_a_session_is_mixed_up() -> None:
    with pytest.raises(SessionMismatch) as mixed:
        ExpectedSession().visit(visits_in("Number of visits: 4"))
    assert _kind(mixed) == MIXED


def test_unknown_answers_of_the_home_page_are_rejected() -> None:
    with pytest.raises(ValueError, match="not an answer"):
        visits_in("Internal Server Error")


def test_cart_changes_are_checked_against_the_expected_cart() -> None:
    session = ExpectedSession()
    session.change_cart({"add": "a"}, ["a"])
    session.change_cart({"add": "b"}, ["a", "b"])
    session.change_cart({"remove": "a"}, ["b"])
    with pytest.raises(SessionMismatch) as lost:
        session.change_cart({"add": "c"}, ["c"])
    assert _kind(lost) == LOST
    with pytest.raises(SessionMismatch) as mixed:
        session.change_cart({"add": "c"}, ["x", "b", "c"])
    assert _kind(mixed) == MIXED
    assert session.as_json() == {"cart": ["b"]}


def test_the_whole_session_is_compared_with_what_me_answers() -> None:
    session = ExpectedSession()
    session.visit(1)
    session.login("ann", {"user": "ann"})
    session.check({"views": 1, "user": "ann"})
    with pytest.raises(SessionMismatch) as lost:
        session.check({})
    assert _kind(lost) == LOST
    with pytest.raises(SessionMismatch) as mixed:
        session.check({"views": 1, "user": "bob"})
    assert _kind(mixed) == MIXED
    with pytest.raises(SessionMismatch):
        session.login("ann", {"user": "bob"})


def test_after_a_failed_request_either_outcome_is_accepted() -> None:
    session = ExpectedSession()
    session.visit(1)
    session.change_cart({"add": "a"}, ["a"])
    session.failed("POST /cart", {"add": "b"})
    assert session.unsure
    session.recover({"views": 1, "cart": ["a", "b"]})  # the failed request did its work
    assert not session.unsure
    assert session.as_json() == {"views": 1, "cart": ["a", "b"]}
    session.failed("GET /", visit=True)
    session.recover({"views": 1, "cart": ["a", "b"]})  # ... or not
    assert session.views == 1


def test_a_session_gone_after_a_failed_request_is_lost_unless_it_was_a_logout() -> None:
    session = ExpectedSession()
    session.visit(1)
    session.failed_logout()
    session.recover({})
    assert session.as_json() == {}
    assert not session.stored
    session.visit(1)
    session.failed("POST /login", user="ann")
    with pytest.raises(SessionMismatch) as lost:
        session.recover({})
    assert _kind(lost) == LOST
    assert str(lost.value).endswith("after a failed POST /login")
    assert not session.unsure
    assert not session.stored
    session.failed("POST /cart", {"add": "x"})
    with pytest.raises(SessionMismatch) as mixed:
        session.recover({"cart": ["y"]})
    assert _kind(mixed) == MIXED


def test_parallel_cart_updates_count_the_items_lost() -> None:
    sent = ["a", "b", "c", "d"]
    assert count_parallel_cart({"views": 1, "cart": ["c", "a", "b", "d"]}, sent, sent) == 0
    assert count_parallel_cart({"views": 1, "cart": ["b"]}, sent, ["a", "b", "c"]) == 2
    assert count_parallel_cart({"views": 1}, sent, []) == 0  # every request failed
    with pytest.raises(SessionMismatch) as lost:
        count_parallel_cart({}, sent, sent)
    assert _kind(lost) == LOST
    mixed_ups: list[Any] = [
        {"views": 2, "cart": []}, {"views": 1, "cart": ["z"]}, {"views": 1, "cart": ["a", "a"]},
        {"views": 1, "user": "x"}, [],
    ]  # fmt: skip
    for mixed_up in mixed_ups:
        with pytest.raises(SessionMismatch) as mixed:
            count_parallel_cart(mixed_up, sent, sent)
        assert _kind(mixed) == MIXED
    assert kind_of(f"{LOST_UPDATE}: 2 of 4 cart items") == LOST_UPDATE
    assert kind_of("HTTP 500") is None


def test_weights_override_the_defaults_and_reject_unknown_names() -> None:
    weights = parse_weights("visit=20, logout=0")
    assert weights == {**DEFAULT_WEIGHTS, "visit": 20, "logout": 0}
    for bad in ("vist=2", "visit", "visit=-1", "visit=two"):
        with pytest.raises(ValueError, match="--weights"):
            parse_weights(bad)


def test_run_times_read_like_locusts() -> None:
    times = ("60s", "2m", "1h30m", "90", "1m5s")
    assert [parse_timespan(text) for text in times] == [60, 120, 5400, 90, 65]
    for bad in ("", "soon", "5x"):
        with pytest.raises(ValueError, match="run time"):
            parse_timespan(bad)


# -- short real runs


def test_the_harness_leaves_this_process_alone() -> None:
    # Importing Locust would monkey-patch this process with gevent, under every other test.
    assert "locust" not in sys.modules


HARNESS_MODULES = [
    "loadtests.run", "loadtests.server", "loadtests.report", "loadtests.locustfile",
    "loadtests.storefile", "sessionkit.demo.asgi", "sessionkit.demo.wsgi",
]  # fmt: skip


def test_the_harness_and_the_demo_run_without_test_tools() -> None:
    # tox's load envs install only .[demo] and Locust: no pytest, no Hypothesis
    code = (
        f"import sys\nfor name in {HARNESS_MODULES!r}: __import__(name)\n"
        "print(sorted(m for m in ('pytest', '_pytest', 'hypothesis') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "[]"


def command_lines() -> list[str]:
    """The command lines of every process that this user may read."""
    lines = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as file:
                lines.append(file.read().replace(b"\0", b" ").decode(errors="replace"))
        except OSError:
            continue  # gone, or not ours to read
    return lines


def _run(reports: Path, store: str, *options: str, name: str = "http") -> tuple[int, Summary]:
    """Run the harness; its exit status and what it read back from the files it wrote."""
    code = main(["run", "--store", store, *SHORT_RUN, "--reports", str(reports), *options])
    return code, read_summary(reports / name)


def _assert_clean(code: int, summary: Summary) -> None:
    assert summary.total.requests > 50
    assert (summary.total.failures, summary.lost, summary.mixed, summary.errors) == (0, 0, 0, 0)
    assert code == 0


def html_report(path: Path) -> dict[str, Any]:
    """The figures that Locust's HTML report shows (the data its page is drawn from)."""
    found = re.search(r"window\.templateArgs = (\{.*?\})\s*\n", path.read_text(), re.DOTALL)
    assert found is not None, "Locust's HTML report no longer embeds window.templateArgs"
    data: dict[str, Any] = json.loads(found[1])
    return data


def test_memory_run_is_clean_and_counts_what_the_html_report_counts(tmp_path: Path) -> None:
    code, summary = _run(tmp_path, "memory://")
    _assert_clean(code, summary)
    names = {row.name for row in summary.rows}
    assert {"/health", "/ (return visit)", "/cart (add)"} <= names
    html = html_report(tmp_path / "http.html")
    [aggregated] = [row for row in html["requests_statistics"] if row["name"] == "Aggregated"]
    assert aggregated["num_requests"] == summary.total.requests
    assert len(read_records(tmp_path / "http").requests) == summary.total.requests
    assert len(html["history"]) >= 4  # a 5 s run, its charts sampled every second


def faults_of(prefix: Path) -> list[dict[str, Any]]:
    faults: list[dict[str, Any]] = json.loads(Path(f"{prefix}_summary.json").read_text())["faults"]
    return faults


def failures_of(prefix: Path) -> list[dict[str, str]]:
    with open(f"{prefix}_failures.csv", newline="") as file:
        return list(csv.DictReader(file))


def test_sessions_wiped_while_the_store_is_cut_off_are_found_lost_after_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_server("127.0.0.1", 6379, "Redis")
    url = f"redis://127.0.0.1:6379/0?prefix=loadtest-{secrets.token_hex(4)}:"
    wiped: list[int] = []

    class WipingRelay(TCPRelay):
        """A relay that also empties the store when it cuts it off, as a restart of a Redis
        without persistence would."""

        def cut(self) -> None:
            super().cut()
            store = open_store(url)
            wiped.append(store.count())  # type: ignore[attr-defined]
            store.clear()  # type: ignore[attr-defined]
            store.close()

    monkeypatch.setattr("loadtests.run.TCPRelay", WipingRelay)
    try:
        # the demo's circuit breaker lets a first probe through some 5 s after it opens
        code, summary = _run(tmp_path, url, "--users", "10", "--time", "9s", "--fault", "cut@1s+1s")
    finally:
        store = open_store(url)
        store.clear()  # type: ignore[attr-defined]
        store.close()
    [fault] = faults_of(tmp_path / "http")
    assert fault["spec"] == "cut@1s+1s"
    assert wiped
    assert wiped[0] > 0
    assert fault["before"]["failed"] == 0
    assert fault["during"]["failed"] > 0
    assert fault["recovery"] is not None  # a request needing the store succeeded after it
    # the users whose requests failed kept their cookies and found their sessions gone
    assert 0 < fault["lost_sessions"] <= summary.lost
    after_error = [row for row in failures_of(tmp_path / "http")
                   if row["Name"] == "/me (after an error)" and LOST in row["Error"]]  # fmt: skip
    assert after_error
    assert code == 1


def test_parallel_cart_updates_report_their_lost_items(tmp_path: Path) -> None:
    # through a Locust worker: the master hands it --parallel and where to write its records
    name = "parallel-cart"
    code, summary = _run(
        tmp_path, "memory://", "--scenario", name, "--parallel", "4", "--time", "3s",
        "--processes", "1", name=name,
    )  # fmt: skip
    assert {row.name for row in summary.rows} >= {"/cart (parallel add)", "/me (parallel cart)"}
    assert summary.updates > 0
    assert (summary.lost, summary.mixed, summary.errors) == (0, 0, 0)
    reported = 0
    for row in failures_of(tmp_path / name):
        found = re.search(rf"{LOST_UPDATE}: (\d+) of \d+ cart items", row["Error"])
        assert found is not None, row["Error"]  # no failure but lost updates
        reported += int(found[1]) * int(row["Occurrences"])
    assert reported == summary.lost_updates <= summary.updates
    assert code == (1 if summary.lost_updates else 0)


def test_redis_run_is_clean_through_the_server_and_straight_at_the_store(tmp_path: Path) -> None:
    require_server("127.0.0.1", 6379, "Redis")
    url = f"redis://127.0.0.1:6379/0?prefix=loadtest-{secrets.token_hex(4)}:"
    try:
        _assert_clean(*_run(tmp_path, url))
        code, summary = _run(tmp_path, url, "--mode", "store", "--time", "3s", name="store")
        _assert_clean(code, summary)
        assert {row.name for row in summary.rows} == {"lookup", "save", "Aggregated"}
    finally:
        store = open_store(url)
        store.clear()  # type: ignore[attr-defined]
        store.close()


def test_sessions_wiped_during_a_run_fail_it_as_lost(tmp_path: Path) -> None:
    url = f"file://{tmp_path / 'sessions'}"
    outcome: list[int] = []
    run = threading.Thread(target=lambda: outcome.append(_run(tmp_path / "reports", url)[0]))
    run.start()
    store = open_store(url)
    try:
        deadline = time.monotonic() + 20
        while store.count() < 10 and time.monotonic() < deadline:  # type: ignore[attr-defined]
            time.sleep(0.2)
        seen = command_lines()
        store.clear()  # type: ignore[attr-defined]
    finally:
        store.close()
        run.join()
    assert any("sessionkit demo" in line for line in seen)  # the server was up ...
    assert not any(str(tmp_path / "sessions") in line for line in seen)  # ... its store hidden
    summary = read_summary(tmp_path / "reports" / "http")
    assert outcome == [1]
    assert summary.lost > 0
    assert summary.total.failures >= summary.lost
