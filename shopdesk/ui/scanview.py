"""The scan view: live preview from the camera (or a video file / stream) with the found QR code
outlined; a job code read, typed, or typed by a USB scanner opens the job at once. The camera is read
and decoded in a child process (scanning.process.CaptureProcess), which hands this one only the scaled
preview frame, the outlines and the codes: the main thread never waits for a capture thread's GIL. The
child is stopped as soon as the view closes; a child that dies is a message and a Retry button."""

from __future__ import annotations

import logging
import threading

import numpy as np
from PySide6.QtCore import QObject, QPointF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPen, QPixmap, QPolygonF
from PySide6.QtWidgets import QDialog, QHBoxLayout, QLabel, QLineEdit, QPushButton, QSizePolicy, QVBoxLayout

log = logging.getLogger("shopdesk.ui.scan")


class _Bridge(QObject):
    """Capture callbacks arrive on the capture process's receiver thread; these signals carry them to the main thread.
    Frames are coalesced: while one waits to be drawn, newer frames replace it instead of queueing up,
    so a fast source can never flood the main thread."""

    frame_ready = Signal()
    scan = Signal(object)
    status = Signal(object)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._lock = threading.Lock()
        self._latest = None

    def offer_frame(self, frame, reads) -> None:  # receiver thread
        with self._lock:
            pending = self._latest is not None
            self._latest = (frame, reads)
        if not pending:
            self.frame_ready.emit()

    def take_frame(self):
        with self._lock:
            latest, self._latest = self._latest, None
        return latest


class ScanView(QDialog):
    def __init__(self, service, source: str | int, parent=None, *, close_on_open: bool = True):
        super().__init__(parent or service.window)
        from ..scanning.process import CaptureProcess

        self.service = service
        self.close_on_open = close_on_open
        self.setWindowTitle("Scan a job's QR code")
        self.resize(720, 600)
        v = QVBoxLayout(self)
        self.preview = QLabel("Starting the camera…")
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.setMinimumSize(480, 360)
        self.preview.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.preview.setStyleSheet("background:#1d1f23; color:#ddd;")
        v.addWidget(self.preview, 1)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        v.addWidget(self.status)
        row = QHBoxLayout()
        self.code = QLineEdit()
        self.code.setPlaceholderText("…or type the code and press Enter")
        self.code.returnPressed.connect(self._typed)
        self.retry_btn = QPushButton("Retry camera")
        self.retry_btn.setVisible(False)
        row.addWidget(self.code, 1)
        row.addWidget(self.retry_btn)
        v.addLayout(row)
        self.scans: list[str] = []
        self._bridge = _Bridge(self)
        self._bridge.frame_ready.connect(self._draw_latest)
        self._bridge.scan.connect(self._scanned)
        self._bridge.status.connect(self._show_status)
        # realtime: a video file plays at its own pace, like a camera; frames come scaled to the preview
        self.worker = CaptureProcess(source, on_frame=self._bridge.offer_frame, on_scan=self._bridge.scan.emit,
                                     on_status=self._bridge.status.emit, realtime=True, preview_width=640)
        self.retry_btn.clicked.connect(self.worker.retry)
        self.worker.start()
        self.code.setFocus()

    # --- from the capture process ---------------------------------------------------------------------
    def _draw_latest(self) -> None:
        latest = self._bridge.take_frame()
        if latest is not None:
            self._show_frame(*latest)

    def _show_frame(self, frame: np.ndarray, reads) -> None:
        """`frame`: RGB (or grayscale), already scaled down to about the preview's size by the child."""
        h, w = frame.shape[:2]
        rgb = np.ascontiguousarray(frame)
        fmt = QImage.Format.Format_RGB888 if frame.ndim == 3 else QImage.Format.Format_Grayscale8
        img = QImage(rgb.data, w, h, rgb.strides[0], fmt).copy()
        if reads:
            p = QPainter(img)
            p.setPen(QPen(QColor("#2ecc71"), max(3, w // 160)))
            for r in reads:
                p.drawPolygon(QPolygonF([QPointF(x, y) for x, y in r.polygon]))
            p.end()
        self.preview.setPixmap(QPixmap.fromImage(img).scaled(self.preview.size(), Qt.AspectRatioMode.KeepAspectRatio,
                                                             Qt.TransformationMode.SmoothTransformation))

    def _show_status(self, st) -> None:
        text = st.message or {"opening": "Opening the camera…", "live": "Hold the QR code in front of the camera.",
                              "ended": "The video ended.", "stopped": ""}.get(st.state, st.state)
        colour = "#b00020" if st.state == "error" else "#333"
        self.status.setText(f"<span style='color:{colour}'>{text}</span>")
        self.retry_btn.setVisible(st.state == "error")
        if st.state == "error":
            self.preview.setText("No picture")

    def _scanned(self, scan) -> None:
        if scan.code is None:
            self.service.play("unknown")
            self.status.setText(f"<span style='color:#b00020'>{scan.message or 'That QR code is not a job code.'}</span>")
            return
        self.scans.append(scan.code)
        self.service.open_code(scan.code)
        if self.close_on_open:
            self.accept()

    def _typed(self) -> None:
        text = self.code.text().strip()
        if text:
            self.service.open_code(text)
            if self.close_on_open:
                self.accept()

    def done(self, result: int) -> None:
        # stop the camera process whenever the view goes away; stop(0) returns at once and the receiver
        # thread sees the child out (terminating it if it does not end in a few seconds)
        self.worker.stop(timeout=0)
        super().done(result)


def open_scan_view(service) -> ScanView:
    view = ScanView(service, service.settings.camera_source)
    view.setModal(False)
    view.show()
    return view
