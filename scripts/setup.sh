#!/usr/bin/env bash
# Create .venv (if missing) and install sessionkit, every backend under backends/ and the
# test tools into it. Safe to run again: it only installs what changed.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
  .venv/bin/python -m pip install --quiet --upgrade pip
fi

packages=(-e ".[all,dev]")  # dev: the test tools, ruff, mypy and tox
for backend in backends/*/; do
  if [ -f "$backend/pyproject.toml" ]; then packages+=(-e "${backend%/}[test]"); fi
done
if [ -f loadtests/requirements.txt ]; then packages+=(-r loadtests/requirements.txt); fi
.venv/bin/python -m pip install --quiet "${packages[@]}"

# memcached's tests start their own servers from the memcached binary.
if ! command -v memcached >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq memcached >/dev/null
  else
    echo "memcached is not installed: its tests will be skipped (apt-get install memcached)" >&2
  fi
fi

# The demo's browser test drives Debian's Chromium through its ChromeDriver (both from apt:
# a test tool's own browser download does not work everywhere). SESSIONKIT_SETUP_BROWSER=0
# leaves them out (scripts/demo.sh does: the demo is opened in the user's own browser).
if [ "${SESSIONKIT_SETUP_BROWSER:-1}" != 0 ] &&
  { ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; }; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
      chromium chromium-driver >/dev/null
  else
    echo "chromium or chromedriver is not installed: the browser test will be skipped" \
      "(apt-get install chromium chromium-driver)" >&2
  fi
fi
