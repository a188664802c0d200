"""Run Django's own session-engine test mixin against ``sessionkit.adapters.django``.

Django ships those tests (``tests/sessions_tests``) in its source distribution only, so this
script downloads the sdist of the installed Django version from PyPI, unpacks that folder into
a temporary directory and runs ``SessionTestsMixin`` on the sessionkit engine, on the store
given as the first argument (default ``memory://``), every test of it; then Django's
``SessionMiddlewareTests`` through ``sessionkit.adapters.django.SessionMiddleware``. The exit
status is 1 if any fails::

    .venv/bin/python scripts/django_session_tests.py [STORE_URL ...]
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
import tempfile
import unittest
from pathlib import Path

import django
from django.conf import settings


def fetch_session_tests(into: Path) -> Path:
    """Download Django's sdist and unpack its ``tests/sessions_tests``; return ``tests/``."""
    version = django.get_version()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--no-binary",
            ":all:",
            "--dest",
            str(into),
            f"django=={version}",
        ],
        check=True,
    )
    (archive,) = into.glob("*.tar.gz")
    prefix = f"{archive.name.removesuffix('.tar.gz')}/tests/sessions_tests/"
    with tarfile.open(archive) as tar:
        members = [m for m in tar.getmembers() if m.name.startswith(prefix)]
        tar.extractall(into, members=members, filter="data")
    return into / archive.name.removesuffix(".tar.gz") / "tests"


def main(store_urls: list[str]) -> int:
    with tempfile.TemporaryDirectory() as temp:
        sys.path.insert(0, str(fetch_session_tests(Path(temp))))
        settings.configure(
            INSTALLED_APPS=[
                "django.contrib.auth",
                "django.contrib.contenttypes",
                "django.contrib.sessions",
                "sessions_tests",
            ],
            DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
            SESSION_ENGINE="sessionkit.adapters.django",
            SESSIONKIT_STORE=store_urls[0],
            SECRET_KEY="django-session-tests",
            USE_TZ=True,
        )
        django.setup()
        from django.test import SimpleTestCase, override_settings
        from django.test.utils import setup_test_environment
        from sessions_tests.tests import SessionTestsMixin

        from sessionkit.adapters.django import SessionStore
        from sessionkit.url import mask_url

        class SessionKitEngineTests(SessionTestsMixin, SimpleTestCase):  # type: ignore[misc]
            backend = SessionStore

        setup_test_environment()
        passed = True
        for url in store_urls:
            with override_settings(SESSIONKIT_STORE=url):
                suite = unittest.defaultTestLoader.loadTestsFromTestCase(SessionKitEngineTests)
                result = unittest.TextTestRunner(verbosity=1).run(suite)
            print(
                f"Django {django.get_version()} SessionTestsMixin on {mask_url(url)}: "
                f"{result.testsRun} run, {len(result.failures)} failed, "
                f"{len(result.errors)} errors, {len(result.skipped)} skipped"
            )
            passed = passed and result.wasSuccessful() and not result.skipped
        return 0 if (passed and _middleware_tests_pass()) else 1


def _middleware_tests_pass() -> bool:
    """Django's ``SessionMiddlewareTests`` with sessionkit's middleware in place of Django's
    (the name the test module constructs), on Django's ``db`` engine as in Django's own run:
    the middleware must behave as Django's does, whatever the engine."""
    import sessions_tests.tests as django_tests
    from django.contrib.sessions.models import Session
    from django.db import connection
    from django.test import override_settings

    from sessionkit.adapters.django import SessionMiddleware

    with connection.schema_editor() as editor:
        editor.create_model(Session)
    django_tests.SessionMiddleware = SessionMiddleware
    with override_settings(SESSION_ENGINE="django.contrib.sessions.backends.db"):
        suite = unittest.defaultTestLoader.loadTestsFromTestCase(
            django_tests.SessionMiddlewareTests
        )
        result = unittest.TextTestRunner(verbosity=1).run(suite)
    print(
        f"Django {django.get_version()} SessionMiddlewareTests through "
        f"sessionkit.adapters.django.SessionMiddleware: {result.testsRun} run, "
        f"{len(result.failures)} failed, {len(result.errors)} errors, "
        f"{len(result.skipped)} skipped"
    )
    return result.wasSuccessful() and not result.skipped and result.testsRun > 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["memory://"]))
