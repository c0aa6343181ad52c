#!/usr/bin/env bash
# Command 2 of the README: installs everything the tests need and runs the whole suite
# (SQLite and PostgreSQL, a private cupsd, Qt offscreen). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh runtime test
export QT_QPA_PLATFORM=offscreen
exec .venv/bin/python -m pytest "$@"
