#!/usr/bin/env bash
# Set up .venv and run the whole test suite: the core, every backend against real servers,
# the adapters and the demo end to end. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/python -m pytest "$@"
