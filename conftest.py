"""Test-suite wiring: benchmarks run only on request (``pytest tests/benchmarks --benchmarks``)."""

from __future__ import annotations

from pathlib import Path

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--benchmarks",
        action="store_true",
        help="collect tests/benchmarks (left out of the ordinary test run)",
    )


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    if "benchmarks" in collection_path.parts and not config.getoption("--benchmarks"):
        return True
    return None
