#!/usr/bin/env bash
# Regenerates docs/screenshots/ on a virtual X screen (Xvfb), as a shopkeeper would see the window.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh runtime test >/dev/null
exec xvfb-run -a -s "-screen 0 1366x768x24" .venv/bin/python scripts/screenshots.py docs/screenshots
