"""The Qt binding itself: a counter app calls Qt methods millions of times a day, so a reference
leak or loss per call is a crash waiting to happen. PySide6 6.12.0 lost one reference to None per call
of a method returning nothing; on Python 3.11 (None is not immortal) the process aborted with
"none_dealloc" after a few thousand calls. pyproject.toml excludes it; this catches a regression."""

from __future__ import annotations

import sys

from PySide6.QtWidgets import QLabel


def test_calling_qt_methods_does_not_lose_references_to_none(qtbot):
    label = QLabel()
    qtbot.addWidget(label)
    for _ in range(50):  # warm-up: caches, lazy imports
        label.setText("warm")
    before = sys.getrefcount(None)
    for n in range(2000):
        label.setText(f"job {n}")
        label.setEnabled(bool(n % 2))
    lost = before - sys.getrefcount(None)
    assert lost < 100, f"{lost} references to None lost in 4000 calls: this PySide6 build will crash the app"
