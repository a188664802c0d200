#!/usr/bin/env bash
# Set up .venv and serve the demo app on the embedded default store (a file store in the
# user's data directory). Extra arguments go to `sessionkit demo` (e.g. --store URL --port N).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/sessionkit demo "$@"
