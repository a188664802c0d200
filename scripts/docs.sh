#!/usr/bin/env bash
# Build the documentation site from docs/ into build/docs, or build it and serve it.
#   scripts/docs.sh [build]        build; any warning or unresolved reference fails it
#   scripts/docs.sh serve [PORT]   build, then serve build/docs on http://127.0.0.1:PORT/ (8000)
# Uses .venv (made by scripts/setup.sh if missing) and installs the docs extra into it.
set -euo pipefail
cd "$(dirname "$0")/.."

command=${1:-build}
case "$command" in
  build | serve) ;;
  *) echo "usage: scripts/docs.sh [build | serve [PORT]]" >&2; exit 2 ;;
esac

if [ ! -x .venv/bin/python ]; then
  SESSIONKIT_SETUP_BROWSER=0 scripts/setup.sh
fi
if ! .venv/bin/python -c "import sphinx, furo, myst_parser" 2>/dev/null; then
  .venv/bin/python -m pip install --quiet -e ".[docs]"
fi

# -E: read every page afresh, so warnings of unchanged pages are reported too.
.venv/bin/python -m sphinx -E -W -n --keep-going -q -b html docs build/docs
echo "docs: build/docs/index.html"

if [ "$command" = serve ]; then
  exec .venv/bin/python -m http.server --bind 127.0.0.1 --directory build/docs "${2:-8000}"
fi
