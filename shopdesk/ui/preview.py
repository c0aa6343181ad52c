"""First-page previews, rendered in a child process (QtPdf for PDFs, QImage for pictures).

Why a process: QtPdf's render and QImage's decoding and scaling are C++ calls that PySide6 makes without
letting go of the GIL — a page took 9 ms here, a scanned or large page far longer — and the window's main
thread waited for the GIL the whole time, whichever thread rendered (bench/ui.py --hog). In a child the
window's process only receives the finished pixels (one `recv` of raw ARGB32 bytes, no decoding).

`PreviewProcess.render(path, content_type, width)` blocks (call it from a worker thread): the child is
started the first time it is needed ("spawn", at a lower CPU priority than the window), renders one page
at a time and stays for the next. A file that crashes or hangs the renderer takes only the child with it:
render() raises PreviewFailed in words ("No preview: …" in the window) and the next preview starts a new
child. A request that a newer one has overtaken while it waited raises PreviewSuperseded (nothing to show).
close() ends the child (the window's service does when it shuts down); the child also ends by itself when
its pipe to the app closes, so a crashed app leaves no renderer behind."""

from __future__ import annotations

import itertools
import logging
import multiprocessing
import os
import threading
from collections.abc import Callable
from pathlib import Path

from PySide6.QtGui import QImage

log = logging.getLogger("shopdesk.ui.preview")

RENDER_TIMEOUT = 20.0  # s for one page; a renderer still busy after that is killed
CHILD_NICE = 5  # the renderer yields the CPU to the window on a busy PC (a separate process: no GIL to invert)


class PreviewFailed(ValueError):
    """The file has no preview; the words say why."""


class PreviewSuperseded(Exception):
    """A newer preview was asked for while this one waited: nobody is looking at this one any more."""


def render_first_page(path: Path, content_type: str, width: int = 420) -> QImage:
    """The first page (or the picture) at most `width` pixels wide. Runs in the child; also usable alone."""
    if content_type.startswith("image/"):
        img = QImage(str(path))
        if img.isNull():
            raise PreviewFailed("the picture could not be read")
        return img.scaledToWidth(width) if img.width() > width else img
    from PySide6.QtCore import QSize
    from PySide6.QtPdf import QPdfDocument

    doc = QPdfDocument()
    err = doc.load(str(path))
    if err != QPdfDocument.Error.None_ or doc.pageCount() < 1:
        raise PreviewFailed("the PDF could not be opened for a preview")
    size = doc.pagePointSize(0)
    height = int(width * size.height() / size.width()) if size.width() else int(width * 1.414)
    img = doc.render(0, QSize(width, height))
    doc.close()
    if img.isNull():
        raise PreviewFailed("the PDF's first page could not be drawn")
    return img


def _child(conn, render: Callable[[Path, str, int], QImage]) -> None:  # the child process
    try:
        os.nice(CHILD_NICE)
    except OSError:
        pass
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):  # the app is gone
            return
        if request is None:
            return
        path, content_type, width = request
        try:
            img = render(Path(path), content_type, width).convertToFormat(QImage.Format.Format_ARGB32)
            reply = ("ok", (img.width(), img.height(), img.bytesPerLine(), bytes(img.constBits())))
        except PreviewFailed as exc:
            reply = ("failed", str(exc))
        except Exception as exc:  # a renderer's own error: said as it is
            reply = ("failed", f"the file could not be drawn ({type(exc).__name__}: {exc})")
        try:
            conn.send(reply)
        except (EOFError, OSError):
            return


class PreviewProcess:
    def __init__(self, render: Callable[[Path, str, int], QImage] = render_first_page,
                 timeout: float = RENDER_TIMEOUT):
        """`render`: a module-level function (the child unpickles it) — tests pass one that misbehaves."""
        self._render, self.timeout = render, timeout
        self._ctx = multiprocessing.get_context("spawn")
        self._lock = threading.Lock()  # one page at a time: the child renders one after the other
        self._tickets = itertools.count(1)
        self._newest = 0
        self._closed = False
        self._conn = None
        self.process: multiprocessing.process.BaseProcess | None = None
        self.started = 0  # children started so far

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None and self.process.is_alive() else None

    def render(self, path: Path, content_type: str, width: int) -> QImage:
        """Blocking (a worker thread): the first page as a QImage, or PreviewFailed in words."""
        ticket = self._newest = next(self._tickets)
        with self._lock:
            if self._closed:
                raise PreviewSuperseded("the window is closing")
            if ticket != self._newest:
                raise PreviewSuperseded("a newer preview was asked for")
            self._ensure_child()
            try:
                self._conn.send((str(path), content_type, width))
                if not self._conn.poll(self.timeout):
                    self._end_child(kill=True)
                    raise PreviewFailed(f"drawing it took longer than {self.timeout:.0f} s")
                status, payload = self._conn.recv()
            except (EOFError, OSError):
                self._end_child(kill=True)
                if self._closed:
                    raise PreviewSuperseded("the window is closing") from None
                raise PreviewFailed("the previewer stopped on this file (it may be damaged)") from None
        if status != "ok":
            raise PreviewFailed(payload)
        w, h, bpl, data = payload
        return QImage(data, w, h, bpl, QImage.Format.Format_ARGB32).copy()  # owns its pixels

    def _ensure_child(self) -> None:
        """Starts the child unless one is alive (one that died while idle is replaced here)."""
        if self.process is not None and self.process.is_alive():
            return
        self._end_child(kill=True)
        here, there = self._ctx.Pipe()
        self.process = self._ctx.Process(target=_child, args=(there, self._render), name="shopdesk-preview",
                                         daemon=True)
        self.process.start()
        there.close()
        self._conn = here
        self.started += 1

    def _end_child(self, kill: bool) -> int | None:
        """Ends the current child (if any); its exit code."""
        proc, conn, self.process, self._conn = self.process, self._conn, None, None
        if conn is not None:
            if not kill:
                try:
                    conn.send(None)
                except (EOFError, OSError):
                    pass
            conn.close()
        if proc is None:
            return None
        proc.join(0 if kill else 2)
        if proc.is_alive():
            proc.kill()
            proc.join(5)
        return proc.exitcode

    def close(self) -> None:
        """Ends the child; one still drawing a page is killed (the window is going: nobody waits for it)."""
        self._closed = True
        self._newest = next(self._tickets)
        if self._lock.acquire(blocking=False):
            try:
                self._end_child(kill=False)
            finally:
                self._lock.release()
        else:
            proc = self.process
            if proc is not None and proc.is_alive():
                proc.kill()
                proc.join(5)
