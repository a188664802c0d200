#!/usr/bin/env bash
# Set up .venv and serve the demo app on the embedded default store (a file store in the
# user's data directory), then open the address it prints in a browser. Extra arguments go
# to `sessionkit demo` (e.g. --store URL --port N). The browser test's Chromium is not needed
# here, so the setup leaves it out.
set -euo pipefail
cd "$(dirname "$0")/.."
SESSIONKIT_SETUP_BROWSER=0 scripts/setup.sh
exec .venv/bin/sessionkit demo "$@"
