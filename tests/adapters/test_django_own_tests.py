"""Django's own session tests (from Django's sdist) through sessionkit: SessionTestsMixin on
the engine, on memory and on Redis, and SessionMiddlewareTests through sessionkit's
middleware (scripts/django_session_tests.py)."""

from __future__ import annotations

import subprocess
import sys
import uuid
from contextlib import closing
from pathlib import Path

from sessionkit import open_store
from sessionkit.store import SupportsClear
from tests.adapters.conftest import redis_url

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "django_session_tests.py"


def test_djangos_session_tests_pass_on_memory_and_redis() -> None:
    urls = [f"memory://django-own-{uuid.uuid4().hex}", redis_url()]
    try:
        done = subprocess.run(
            [sys.executable, str(SCRIPT), *urls], capture_output=True, text=True, timeout=600
        )
    finally:
        with closing(open_store(urls[1])) as written:  # the run's own prefix, nothing else
            assert isinstance(written, SupportsClear)
            written.clear()
    summaries = [line for line in done.stdout.splitlines() if "SessionTestsMixin on" in line]
    assert done.returncode == 0, summaries or done.stderr[-2000:]
    assert len(summaries) == 2
    middleware = [line for line in done.stdout.splitlines() if "SessionMiddlewareTests" in line]
    assert len(middleware) == 1
    assert all("0 failed, 0 errors, 0 skipped" in line for line in summaries + middleware)
