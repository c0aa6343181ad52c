#!/usr/bin/env bash
# Regenerates docs/screenshots/ on a virtual X screen (Xvfb), as a shopkeeper would see the window.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh runtime test >/dev/null
xvfb-run -a -s "-screen 0 1366x768x24" .venv/bin/python scripts/screenshots.py docs/screenshots
# the customer pages (headless chromium, phone 390x844 and desktop) and the poster, from their tests
SHOPDESK_SCREENSHOT_DIR=docs/screenshots QT_QPA_PLATFORM=offscreen .venv/bin/python -m pytest -q \
    tests/frontdoor tests/scanning/test_tickets.py -k "browser or refusals or withdraw or poster_qr"
