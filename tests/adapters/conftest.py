"""Fixtures for the adapter tests: managers on real stores, Django settings for its engine."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import django
import pytest
from django.conf import settings

from sessionkit import SessionManager, available_backends
from sessionkit.store import SupportsClear
from sessionkit.stores.memory import MemoryStore
from sessionkit.testing import require_server

SECRET = "adapter-test-secret-0123456789abcdefghijklmnopqrstuv"


def pytest_configure(config: pytest.Config) -> None:
    """Settings for the Django engine's tests, made when pytest loads this directory's tests
    (not when the module is imported)."""
    if settings.configured:
        return
    settings.configure(
        SECRET_KEY="django-test-secret",
        INSTALLED_APPS=["django.contrib.sessions"],
        MIDDLEWARE=["django.contrib.sessions.middleware.SessionMiddleware"],
        ROOT_URLCONF="tests.adapters.django_urls",
        SESSION_ENGINE="sessionkit.adapters.django",
        SESSIONKIT_STORE=f"memory://django-tests-{uuid.uuid4().hex}",
        ALLOWED_HOSTS=["testserver"],
        DATABASES={},
        USE_TZ=True,
    )
    django.setup()


@pytest.fixture
def memory_store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def manager(memory_store: MemoryStore) -> SessionManager:
    return SessionManager(memory_store, SECRET)


def redis_url() -> str:
    """A Redis URL with a prefix unique to this test, or a skip (a failure in CI)."""
    if "redis" not in available_backends():
        pytest.skip("sessionkit-redis is not installed")
    require_server("127.0.0.1", 6379, "Redis")
    return f"redis://127.0.0.1:6379/0?prefix=sessionkit-adapters-{uuid.uuid4().hex}:"


@pytest.fixture
def redis_manager() -> Iterator[SessionManager]:
    manager = SessionManager(redis_url(), SECRET)
    yield manager
    assert isinstance(manager.store, SupportsClear)
    manager.store.clear()
    manager.close()
