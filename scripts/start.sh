#!/usr/bin/env bash
# Command 1 of the README: installs what the app needs (once) and starts it on its embedded defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh runtime
exec .venv/bin/shopdesk "$@"
