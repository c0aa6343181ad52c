"""Blocking work (HTTP, CUPS, disk, camera) off the Qt main thread: `TaskRunner.run(fn, ...)` runs it on
a thread pool and calls `on_done(result)` or `on_error(exc)` back on the main thread."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

log = logging.getLogger("shopdesk.ui.tasks")


class _Job(QRunnable):
    def __init__(self, runner: TaskRunner, task_id: int, fn: Callable, args: tuple, kwargs: dict):
        super().__init__()
        self.setAutoDelete(True)
        self._runner, self._id, self._fn, self._args, self._kwargs = runner, task_id, fn, args, kwargs

    def run(self) -> None:
        try:
            value = self._fn(*self._args, **self._kwargs)
        except BaseException as exc:  # delivered to on_error on the main thread
            self._runner._finished.emit(self._id, False, exc)
        else:
            self._runner._finished.emit(self._id, True, value)


class TaskRunner(QObject):
    """Lives in the main thread; its `_finished` signal is emitted from pool threads, so Qt queues the
    delivery to the main thread (AutoConnection across threads)."""

    _finished = Signal(int, bool, object)
    busy_changed = Signal(int)  # number of tasks in flight, for a busy indicator

    def __init__(self, parent: QObject | None = None, pool: QThreadPool | None = None):
        super().__init__(parent)
        self._pool = pool or QThreadPool.globalInstance()
        self._ids = itertools.count(1)
        self._callbacks: dict[int, tuple[Callable | None, Callable | None]] = {}
        self._finished.connect(self._deliver)

    @property
    def in_flight(self) -> int:
        return len(self._callbacks)

    def run(self, fn: Callable, *args, on_done: Callable | None = None, on_error: Callable | None = None,
            **kwargs) -> int:
        task_id = next(self._ids)
        self._callbacks[task_id] = (on_done, on_error)
        self._pool.start(_Job(self, task_id, fn, args, kwargs))
        self.busy_changed.emit(self.in_flight)
        return task_id

    @Slot(int, bool, object)
    def _deliver(self, task_id: int, ok: bool, value: object) -> None:
        on_done, on_error = self._callbacks.pop(task_id, (None, None))
        self.busy_changed.emit(self.in_flight)
        try:
            if ok and on_done is not None:
                on_done(value)
            elif not ok:
                if on_error is not None:
                    on_error(value)
                else:
                    log.error("background task failed: %r", value)
        except Exception:
            log.exception("callback of a background task failed")

    def wait(self, msecs: int = 10_000) -> bool:
        return self._pool.waitForDone(msecs)
