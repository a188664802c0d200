#!/usr/bin/env bash
# Run the fuzz tests (tests/fuzz) with the long Hypothesis profile: thousands of examples per
# test, a quarter of an hour or more. Extra arguments go to pytest, for instance
#   scripts/fuzz.sh -k cookie --hypothesis-show-statistics
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
HYPOTHESIS_PROFILE=long exec .venv/bin/python -m pytest tests/fuzz "$@"
