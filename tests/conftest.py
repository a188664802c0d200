"""Fixtures for the core's tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from sessionkit import SessionManager
from tests.helpers import CountingStore


@pytest.fixture
def store() -> CountingStore:
    return CountingStore()


@pytest.fixture
def make_manager(store: CountingStore) -> Iterator[Callable[..., SessionManager]]:
    made: list[SessionManager] = []

    def make(**options: Any) -> SessionManager:
        options.setdefault("secret", "test-secret-0123456789abcdefghijklmnopqrstuv")
        manager = SessionManager(options.pop("store", store), **options)
        made.append(manager)
        return manager

    yield make
    for manager in made:
        manager.close()


@pytest.fixture
def manager(make_manager: Callable[..., SessionManager]) -> SessionManager:
    return make_manager()
