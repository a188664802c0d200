"""The shipped contract suite, run against the core's own stores."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

import sessionkit
from sessionkit.store import Store
from sessionkit.testing import StoreContract


class TestMemoryStore(StoreContract):
    frozen_clock = True
    shared_between_processes = False

    @pytest.fixture(autouse=True)
    def _name(self) -> None:
        self.name = f"contract-{uuid.uuid4().hex}"

    def create_store(self) -> Store:
        return sessionkit.open_store(f"memory://{self.name}", clock=self.clock)


class TestFileStore(StoreContract):
    frozen_clock = True

    @pytest.fixture(autouse=True)
    def _directory(self, tmp_path: Path) -> None:
        self.directory = tmp_path / "sessions"

    def create_store(self) -> Store:
        return sessionkit.open_store(f"file://{self.directory}", clock=self.clock)
