"""Driving modal dialogs the way a person does while the code under test sits in `dialog.exec()`: a
timer watches for the active modal window and hands each new one to the next step. A dialog nobody
expected fails the test (it is closed, so the test does not hang)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QDialog, QWidget


class ModalDriver:
    """steps: (dialog class, action(dialog)) in the order the dialogs should appear."""

    def __init__(self, *steps: tuple[type, Callable[[QWidget], None]], interval_ms: int = 50):
        self.steps = list(steps)
        self.done: list[str] = []
        self.unexpected: list[str] = []
        self.errors: list[str] = []
        self._current: QWidget | None = None  # the dialog handled last, while it stays open
        self.timer = QTimer()
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self._tick)

    def __enter__(self) -> ModalDriver:
        self.timer.start()
        return self

    def __exit__(self, *exc) -> None:
        self.timer.stop()

    def _tick(self) -> None:
        w = QApplication.activeModalWidget()
        if w is None or not w.isVisible():
            self._current = None  # a dialog shown again (exec() once more) is a new step
            return
        if w is self._current:
            return
        self._current = w
        if isinstance(w, QDialog):  # shown again by a second exec(), even between two ticks: a new step
            w.finished.connect(lambda *_: setattr(self, "_current", None))
        if self.steps and isinstance(w, self.steps[0][0]):
            cls, action = self.steps.pop(0)
            self.done.append(cls.__name__)
            try:
                action(w)
            except BaseException as exc:  # a failed step must fail the test, not leave the dialog open
                self.errors.append(f"{cls.__name__}: {exc!r}")
                w.close()
            return
        self.unexpected.append(f"{type(w).__name__}: {w.windowTitle()}")
        w.close()

    def assert_finished(self) -> None:
        assert not self.errors, f"steps that failed: {self.errors}"
        assert not self.unexpected, f"unexpected dialogs: {self.unexpected}"
        assert not self.steps, f"dialogs that never appeared: {[c.__name__ for c, _ in self.steps]}"
