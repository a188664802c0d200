"""The load harness's faults and time line, without Locust: fault specs, the store's address
and the relayed URL, the fault schedule on a real relay, and the report around each window."""

from __future__ import annotations

import os
import socket
import time

import pytest

from loadtests.checks import LOST
from loadtests.faults import (
    Fault,
    FaultInjector,
    check_schedule,
    parse_fault,
    store_address,
    through_relay,
)
from loadtests.timeline import CLOSED, TIMEOUT, Record, Window, fault_reports, render_faults
from sessionkit.netutil import TCPRelay

# -- fault specs


def test_fault_specs_read_like_run_times() -> None:
    assert parse_fault("cut@15s+5s") == Fault("cut", 15, 5)
    assert parse_fault("hang@1m+10") == Fault("hang", 60, 10)
    assert parse_fault(" cut@0s+1s ").spec == "cut@0s+1s"


@pytest.mark.parametrize("bad", ["cut", "kill@15s+5s", "cut@15s", "cut@soon+5s", "hang@5s+0s"])
def test_bad_fault_specs_say_what_is_expected(bad: str) -> None:
    with pytest.raises(ValueError, match="--fault"):
        parse_fault(bad)


def test_faults_must_not_overlap_and_must_end_before_the_run() -> None:
    check_schedule([Fault("cut", 5, 5), Fault("hang", 10, 5)], run_time=20)
    with pytest.raises(ValueError, match="overlap"):
        check_schedule([Fault("hang", 8, 5), Fault("cut", 5, 5)], run_time=20)
    with pytest.raises(ValueError, match="before the run does"):
        check_schedule([Fault("cut", 15, 5)], run_time=20)


# -- the store behind the relay


@pytest.mark.parametrize(
    ("url", "address"),
    [
        ("redis://127.0.0.1:6379/0?prefix=lt:", ("127.0.0.1", 6379)),
        ("redis://:pw@localhost/1", ("localhost", 6379)),
        ("rediss://cache.example:6380", ("cache.example", 6380)),
        ("memcached://127.0.0.1?prefix=x:", ("127.0.0.1", 11211)),
        ("postgresql+psycopg://u:p@db/test?table=t", ("db", 5432)),
        ("mysql+pymysql://root@127.0.0.1/test", ("127.0.0.1", 3306)),
    ],
)
def test_the_store_address_comes_from_the_url(url: str, address: tuple[str, int]) -> None:
    assert store_address(url) == address


@pytest.mark.parametrize(
    "url",
    ["memory://", "file:///tmp/sessions", "sqlite:////tmp/s.db", "redis+unix:///tmp/redis.sock"],
)
def test_stores_without_a_connection_cannot_be_faulted(url: str) -> None:
    with pytest.raises(ValueError, match="over TCP"):
        store_address(url)


def test_self_discovering_clients_and_unknown_ports_are_refused() -> None:
    with pytest.raises(ValueError, match="finds the servers itself"):
        store_address("redis+sentinel://127.0.0.1:26379/mymaster")
    with pytest.raises(ValueError, match="give the port") as error:
        store_address("custom://user:hunter2@host/db")
    assert "hunter2" not in str(error.value)


@pytest.mark.parametrize(
    ("url", "relayed"),
    [
        ("redis://127.0.0.1:6379/0?prefix=lt:", "redis://127.0.0.1:4000/0?prefix=lt:"),
        ("redis://:p%40ss@db.local/2", "redis://:p%40ss@127.0.0.1:4000/2"),
        (
            "postgresql+psycopg://user:s3cret@db:5432/test?table=t&sslmode=disable",
            "postgresql+psycopg://user:s3cret@127.0.0.1:4000/test?table=t&sslmode=disable",
        ),
        ("memcached://[::1]:11211", "memcached://127.0.0.1:4000"),
        ("memcached://h#frag", "memcached://127.0.0.1:4000#frag"),
    ],
)
def test_the_relayed_url_keeps_credentials_path_and_query(url: str, relayed: str) -> None:
    assert through_relay(url, ("127.0.0.1", 4000)) == relayed


# -- the schedule, on a real relay


def refused(relay: TCPRelay) -> bool:
    try:
        socket.create_connection(relay.address, timeout=5).close()
    except ConnectionRefusedError:
        return True
    except ConnectionResetError:
        return False  # accepted into the backlog just as the cut closed the port: ask again
    return False


def test_the_injector_cuts_from_the_load_start_and_records_the_window() -> None:
    with socket.create_server(("127.0.0.1", 0)) as server, TCPRelay(server.getsockname()) as relay:
        injector = FaultInjector(relay, [Fault("cut", 0, 1)])
        told, tell = os.pipe()
        injector.start(told)
        start = time.time() - 0.5  # the load started half a second ago
        os.write(tell, f"{start}\n".encode())
        os.close(tell)
        deadline = time.monotonic() + 5
        while not refused(relay) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert refused(relay)
        injector.stop()
        assert not refused(relay)  # the window ended: listening again
        assert injector.load_start == start
        [window] = injector.windows
        assert window.spec == "cut@0s+1s"
        assert start <= window.start < window.end


def test_the_injector_does_nothing_if_the_load_never_starts() -> None:
    with socket.create_server(("127.0.0.1", 0)) as server, TCPRelay(server.getsockname()) as relay:
        injector = FaultInjector(relay, [Fault("cut", 0, 1)])
        told, tell = os.pipe()
        injector.start(told)
        os.close(tell)  # Locust ended before its test started
        injector.stop()
        assert (injector.load_start, injector.windows) == (None, [])
        assert not refused(relay)


# -- the report around a window (times in seconds from 1000.0, the load's start)


def record(start: float, ms: float, error: str | None = None, *, store: bool = True) -> Record:
    status = 200
    if error in (CLOSED, TIMEOUT):
        status = 0
    elif error is not None and error.startswith("HTTP "):
        status = int(error.removeprefix("HTTP "))
    return Record(1000 + start, ms, "/", status, error, store)


def test_requests_are_placed_before_during_or_after_the_window() -> None:
    records = [
        record(1.0, 100),
        record(4.0, 900),  # ends at 4.9: before the window
        record(4.5, 1000, "HTTP 500"),  # overlaps its start
        record(6.0, 2, CLOSED),
        record(7.0, 3000, TIMEOUT),
        record(9.9, 200),  # overlaps its end, and succeeds after the store's return
        record(10.0, 1, store=False),  # needs no store: not a sign of recovery
        record(10.2, 40),
        record(11.0, 5, LOST),
    ]
    [report] = fault_reports(records, [Window("cut@5s+5s", 1005.0, 1010.0)], load_start=1000.0)
    assert report.began == pytest.approx(5.0)
    assert report.lasted == pytest.approx(5.0)
    assert (report.before.requests, report.before.failed) == (2, 0)
    during = report.during
    assert (during.requests, during.failed, during.no_status) == (4, 3, 2)
    assert during.kinds == {"HTTP 500": 1, CLOSED: 1, TIMEOUT: 1}
    assert (during.failed_ms_median, during.failed_ms_max) == (1000, 3000)
    assert during.ms_max == 3000
    assert (report.after.requests, report.after.failed) == (3, 1)
    assert report.recovery == pytest.approx(0.1)  # 9.9 s + 200 ms, after the return at 10 s
    assert report.lost_sessions == 1
    text = render_faults([report])
    assert "fault cut@5s+5s: the store was away 5.0-10.0 s into the load" in text
    assert "HTTP 500: 1" in text
    assert "0.100 s after the store's return" in text


def test_each_window_has_its_own_before_and_after() -> None:
    records = [record(t, 10, "HTTP 503" if 5 <= t < 6 or 12 <= t < 13 else None) for t in range(20)]
    windows = [Window("hang@12s+1s", 1012.0, 1013.0), Window("cut@5s+1s", 1005.0, 1006.0)]
    first, second = fault_reports(records, windows, load_start=1000.0)
    assert (first.spec, second.spec) == ("cut@5s+1s", "hang@12s+1s")
    assert (first.before.requests, first.during.failed, first.after.requests) == (5, 1, 6)
    assert (second.before.requests, second.during.failed, second.after.requests) == (6, 1, 7)
    assert first.recovery == pytest.approx(0.01)


def test_a_store_that_never_came_back_has_no_recovery_time() -> None:
    records = [record(1, 10), record(6, 10, CLOSED), record(8, 10, CLOSED)]
    [report] = fault_reports(records, [Window("cut@5s+2s", 1005.0, 1007.0)], 1000.0)
    assert report.recovery is None
    assert "never after the store's return" in render_faults([report])
