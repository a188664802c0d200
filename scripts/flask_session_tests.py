"""Run Flask's own session tests with ``flask.session`` served by ``sessionkit.adapters.flask``.

Flask ships its tests in its source distribution only, so this script downloads the sdist of
the installed Flask version from PyPI, unpacks its ``tests/`` into a temporary directory and
runs, under Flask's own pytest settings, the 26 tests of ``test_basic.py``, ``test_testing.py``,
``test_reqctx.py``, ``test_helpers.py``, ``test_templating.py`` and ``test_signals.py`` that use
``flask.session`` (flashing included). Every Flask application made during the run gets
``SessionKit(app)`` on the store given as the first argument (default ``memory://``), unless
its class brings a session interface of its own: that is why ``test_session_dynamic_cookie_name``,
which tests a subclass of Flask's cookie interface, is not among the 26. It prints how many of
the 26 passed and exits with 1 if any did not::

    .venv/bin/python scripts/flask_session_tests.py [STORE_URL]
    .venv/bin/python scripts/flask_session_tests.py "redis://127.0.0.1:6379/0?prefix=flask-tests:"

Two of the tests need greenlet and one asgiref, as in Flask's own test requirements; a skipped
test counts as not passed. The keys written to the store are deleted at the end.
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from sessionkit import SessionManager
from sessionkit.adapters.flask import SessionKit
from sessionkit.store import SupportsClear

SESSION_TESTS = [
    "test_basic.py::test_session_accessed",
    "test_basic.py::test_session_path",
    "test_basic.py::test_session_using_application_root",
    "test_basic.py::test_session_using_session_settings",
    "test_basic.py::test_session_using_samesite_attribute",
    "test_basic.py::test_missing_session",
    "test_basic.py::test_session_secret_key_fallbacks",
    "test_basic.py::test_session_expiration",
    "test_basic.py::test_session_stored_last",
    "test_basic.py::test_session_special_types",
    "test_basic.py::test_session_cookie_setting",
    "test_basic.py::test_session_vary_cookie",
    "test_basic.py::test_session_refresh_vary",
    "test_basic.py::test_flashes",
    "test_basic.py::test_extended_flashing",
    "test_testing.py::test_redirect_session",
    "test_testing.py::test_session_transactions",
    "test_testing.py::test_session_transactions_no_null_sessions",
    "test_testing.py::test_session_transactions_keep_context",
    "test_testing.py::test_session_transaction_needs_cookies",
    "test_reqctx.py::TestGreenletContextCopying::test_greenlet_context_copying",
    "test_reqctx.py::TestGreenletContextCopying::test_greenlet_context_copying_api",
    "test_helpers.py::TestStreaming::test_stream_keeps_session",
    "test_helpers.py::TestStreaming::test_async_view",
    "test_templating.py::test_standard_context",
    "test_signals.py::test_flash_signal",
]

STORE_URL = "memory://"


def fetch_flask_tests(into: Path) -> Path:
    """Download Flask's sdist and unpack its tests and pytest settings; return its root."""
    subprocess.run(
        [
            sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
            "--no-binary", ":all:", "--dest", str(into), f"flask=={version('flask')}",
        ],
        check=True,
    )  # fmt: skip
    (archive,) = into.glob("*.tar.gz")
    root = archive.name.removesuffix(".tar.gz")
    with tarfile.open(archive) as tar:
        members = [
            member
            for member in tar.getmembers()
            if member.name.startswith(f"{root}/tests/") or member.name == f"{root}/pyproject.toml"
        ]
        tar.extractall(into, members=members, filter="data")
    adapt_to_pytest(into / root / "tests" / "conftest.py")
    return into / root


def adapt_to_pytest(conftest: Path) -> None:
    """Flask's conftest imports pytest's private ``_pytest.monkeypatch`` for its ``notset``
    sentinel, which pytest 9.1 renamed ``NOTSET``; give it the name the running pytest has."""
    from _pytest import monkeypatch

    if not hasattr(monkeypatch, "notset"):
        text = conftest.read_text()
        conftest.write_text(text.replace("monkeypatch.notset", "monkeypatch.NOTSET"))


@pytest.fixture(autouse=True)
def sessionkit_on_every_app(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """``SessionKit(app)`` for every Flask application the test makes."""
    managers: list[SessionManager] = []
    make_flask = Flask.__init__

    def init(app: Flask, *args: Any, **kwargs: Any) -> None:
        make_flask(app, *args, **kwargs)
        if type(app).session_interface is Flask.session_interface:  # Flask's default one
            app.config["SESSIONKIT_STORE"] = STORE_URL
            SessionKit(app)
            managers.append(app.extensions["sessionkit"])

    monkeypatch.setattr(Flask, "__init__", init)
    yield
    for manager in managers:
        if isinstance(manager.store, SupportsClear):
            manager.store.clear()
        manager.store.close()
    assert managers, "the test made no Flask application on sessionkit"


class Tally:
    """Counts the outcome of each test."""

    def __init__(self) -> None:
        self.outcomes: dict[str, str] = {}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        name = report.nodeid.split("tests/", 1)[-1]
        if report.outcome != "passed":  # in setup, call or teardown
            self.outcomes[name] = report.outcome
        elif report.when == "call":
            self.outcomes.setdefault(name, "passed")


def main(store_url: str) -> int:
    global STORE_URL
    STORE_URL = store_url
    tally = Tally()
    with tempfile.TemporaryDirectory() as temp:
        root = fetch_flask_tests(Path(temp))
        arguments = [str(root / "tests" / test) for test in SESSION_TESTS]
        arguments += ["--rootdir", str(root), "-p", "no:cacheprovider", "-q"]
        pytest.main(arguments, plugins=[sys.modules[__name__], tally])
    passed = [test for test in SESSION_TESTS if tally.outcomes.get(test) == "passed"]
    print(
        f"\nFlask {version('flask')}'s session tests with sessionkit on {store_url}: "
        f"{len(passed)} of {len(SESSION_TESTS)} passed"
    )
    for test in SESSION_TESTS:
        if test not in passed:
            print(f"  not passed ({tally.outcomes.get(test, 'not run')}): {test}")
    return 0 if len(passed) == len(SESSION_TESTS) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "memory://"))
