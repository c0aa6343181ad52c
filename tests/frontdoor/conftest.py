"""The customer front door in a real browser (tests/helpers/browser.py), the counter window beside it."""

from tests.ui.conftest import counter  # noqa: F401 — the same counter window the UI tests use
