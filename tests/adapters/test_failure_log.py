"""The adapters' answers to store errors and their rate-limited log."""

from __future__ import annotations

import logging

import pytest

from sessionkit.adapters._http import FailureLog, answer_for
from sessionkit.errors import ConfigurationError, SessionConflictError, StoreUnavailableError
from sessionkit.testing import FrozenClock


def test_answers_name_a_status_and_when_to_retry() -> None:
    down = answer_for(StoreUnavailableError("redis://h/0"))
    assert down is not None
    assert (down.status, down.headers) == (503, [("Retry-After", "5")])
    failing_fast = answer_for(StoreUnavailableError("redis://h/0", retry_after=2.2))
    assert failing_fast is not None
    assert failing_fast.headers == [("Retry-After", "3")]
    conflict = answer_for(SessionConflictError(("cart",)))
    assert conflict is not None
    assert conflict.status == 409
    assert answer_for(ConfigurationError("bad")) is None


def test_one_line_per_second_at_most_with_a_count_of_the_rest(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FrozenClock()
    failures = FailureLog(interval=1.0, clock=clock)
    error = StoreUnavailableError("redis://h/0", "connection refused")
    answer = answer_for(error)
    assert answer is not None
    caplog.set_level(logging.WARNING, "sessionkit")
    for _ in range(20):  # a 5 s outage, 60 failed requests a second
        for _ in range(15):
            failures.failed(answer, error, "GET", "/cart")
        clock.now += 0.25
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 5
    assert lines[0] == (
        "GET /cart answered 503: session store redis://h/0 is unavailable: connection refused"
    )
    assert lines[1].endswith("(and 59 more since the last line)")
    assert all(record.exc_info is None for record in caplog.records)
