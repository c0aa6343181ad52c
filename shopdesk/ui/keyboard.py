"""USB scanners type the code and press Enter. This event filter watches every key in the window, tells
a scanner's burst from a person by its speed (scanning.keystrokes), and sends a scanned code down the
same path as a camera scan — wherever the focus was. A person's typing is left alone."""

from __future__ import annotations

import logging
import time

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QApplication, QLineEdit

from ..scanning.keystrokes import KeystrokeDetector

log = logging.getLogger("shopdesk.ui.keys")


class ScannerKeys(QObject):
    def __init__(self, service, parent=None):
        super().__init__(parent)
        self.service = service
        self.detector = KeystrokeDetector()
        self._last: tuple = ()

    def eventFilter(self, obj, event) -> bool:
        if event.type() != QEvent.Type.KeyPress or event.isAutoRepeat():
            return False
        now = time.monotonic()
        key = event.key()
        # An unaccepted key press travels up the widget tree and passes this filter once per widget:
        # count it once.
        seen = (key, event.text(), event.timestamp())
        if seen == self._last[:3] and now - self._last[3] < 0.001:
            return False
        self._last = (*seen, now)
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            entry = self.detector.enter(now)
            if entry is not None:
                log.debug("keys %r ended by Enter: typed by a %s", entry.text[:20], entry.by)
            if entry is not None and entry.by_scanner and entry.code:
                focus = QApplication.focusWidget()
                if isinstance(focus, QLineEdit) and focus.text().endswith(entry.text):
                    focus.setText(focus.text()[: -len(entry.text)])  # the burst was not meant for this field
                self.service.open_code(entry.code)
                return True  # the Enter was the scanner's, not a "print" or "search"
            return False
        if key == Qt.Key.Key_Backspace:
            self.detector.backspace(now)
        elif event.text() and event.text().isprintable():
            self.detector.key(event.text(), now)
        return False
