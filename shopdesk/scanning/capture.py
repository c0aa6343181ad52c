"""The camera (or a video file, or a stream URL) read in a worker thread: frames decoded by the tuned
FrameDecoder, reads turned into scans, and everything handed out through plain callbacks — no Qt, so the
UI wraps it in signals and the CLI prints. A camera that is missing, busy or unplugged mid-scan becomes
a status with a message and a retry, never an exception out of the thread; stop() releases the camera.

Callbacks (all called on the worker thread; keep them quick):
  on_frame(frame, reads)   every frame read: the BGR picture and the codes on it (list of Decoded, with
                           the outline polygon). On a frame the idle decoder skipped, the previous
                           frame's reads (so a preview's outline does not flicker).
  on_scan(scan)            a new scan (see dedup.py): scan.code, or scan.code None + scan.message.
  on_status(status)        CaptureStatus: opening, live, error (message says what to do; retry_in says
                           when it tries again, None if it will not), ended (a file's end), stopped.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .decode import Decoded, FrameDecoder, _cv2
from .dedup import Scan, ScanDeduplicator

if TYPE_CHECKING:
    import cv2
    import numpy as np

log = logging.getLogger("shopdesk.scanning")

OPENING, LIVE, ERROR, ENDED, STOPPED = "opening", "live", "error", "ended", "stopped"

Source = int | str


def parse_source(text: str | int) -> Source:
    """A camera index ("0", 1) stays an int; anything else is a file path or a stream URL."""
    if isinstance(text, int):
        return text
    text = str(text).strip()
    return int(text) if text.isdigit() else text


def is_stream_url(source: Source) -> bool:
    return isinstance(source, str) and "://" in source


def describe(source: Source) -> str:
    if isinstance(source, int):
        return f"Camera {source}"
    if is_stream_url(source):
        return f"The stream {source}"
    return f"The video file '{source}'"


@dataclass(frozen=True)
class CaptureStatus:
    state: str
    message: str = ""
    retry_in: float | None = None


class CaptureWorker:
    """Reads `source` in its own thread from start() until stop() (or a file's end).

    `live`: treat the source as a camera — retry when it cannot be opened or stops sending pictures,
    pace a file at its frame rate and stamp frames with the clock. Defaults to True for camera indexes
    and stream URLs; a test passes live=True with a video file to play an unplugged/replugged camera
    through this same code. `realtime`: pace a non-live file at its frame rate (a preview); otherwise
    files are read as fast as they decode, stamped with their own timestamps.
    """

    def __init__(self, source: Source, *, on_frame: Callable[[np.ndarray, list[Decoded]], None] | None = None,
                 on_scan: Callable[[Scan], None] | None = None,
                 on_status: Callable[[CaptureStatus], None] | None = None,
                 decoder: FrameDecoder | None = None, backend: str | None = None,
                 dedup: ScanDeduplicator | None = None, live: bool | None = None, realtime: bool = False,
                 retry_every: float | None = 2.0, stall_after: float = 2.0,
                 open_capture: Callable[[Source], cv2.VideoCapture] | None = None):
        self.source = parse_source(source)
        self.on_frame = on_frame
        self.on_scan = on_scan
        self.on_status = on_status
        self.decoder = decoder or FrameDecoder(backend)
        self.dedup = dedup or ScanDeduplicator()
        self.live = live if live is not None else (isinstance(self.source, int) or is_stream_url(self.source))
        self.realtime = realtime or self.live
        self.retry_every = retry_every
        self.stall_after = stall_after
        self._open_capture = open_capture or _default_open
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._cap: cv2.VideoCapture | None = None
        self._cap_lock = threading.Lock()
        self.status = CaptureStatus(STOPPED)
        self.frames = 0

    # --- control (any thread) ---------------------------------------------------------------------
    def start(self) -> None:
        if self.running:
            if not self._stop.is_set():
                return  # already reading
            # shown again right after being hidden: let the old thread release the camera first
            self._thread.join(5.0)
        self._stop.clear()
        self._wake.clear()
        self.frames = 0
        self._thread = threading.Thread(target=self._run, name=f"capture {self.source}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> bool:
        """Stops reading and releases the camera; True when the thread has ended within `timeout`.
        From a UI thread, stop(0) returns at once and the camera is released a frame later."""
        self._stop.set()
        self._wake.set()
        t = self._thread
        if t is not None and t is not threading.current_thread():
            t.join(timeout)
            return not t.is_alive()
        return True

    def retry(self) -> None:
        """Try the camera again now instead of at the next automatic retry (the UI's Retry button)."""
        self._wake.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Waits for the thread to end by itself (a file's end, or an error without retry)."""
        t = self._thread
        if t is None:
            return True
        t.join(timeout)
        return not t.is_alive()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def camera_open(self) -> bool:
        return self._cap is not None

    # --- the thread -------------------------------------------------------------------------------
    def _emit_status(self, state: str, message: str = "", retry_in: float | None = None) -> None:
        self.status = CaptureStatus(state, message, retry_in)
        if state == ERROR:
            log.warning("%s", message)
        self._call(self.on_status, self.status)

    def _call(self, fn, *args) -> None:
        if fn is None:
            return
        try:
            fn(*args)
        except Exception:  # a bug in a listener must not kill the camera thread
            log.exception("scan callback %r failed", fn)

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                problem = self._session()
                if problem is None or self._stop.is_set():
                    break
                if not self.live or self.retry_every is None:
                    self._emit_status(ERROR, problem, None)
                    return
                self._emit_status(ERROR, f"{problem} Retrying every {self.retry_every:g} s.", self.retry_every)
                self._wake.wait(self.retry_every)
                self._wake.clear()
        except Exception as exc:  # never let the thread die with a traceback only in the log
            log.exception("capture failed")
            self._emit_status(ERROR, f"{describe(self.source)} failed unexpectedly ({exc}) — press Retry.", None)
            return
        finally:
            self._release()
        if self._stop.is_set():
            self._emit_status(STOPPED)

    def _release(self) -> None:
        with self._cap_lock:
            cap, self._cap = self._cap, None
        if cap is not None:
            try:
                cap.release()
            except Exception:  # pragma: no cover - releasing a vanished device
                log.debug("release failed", exc_info=True)

    def _open(self) -> tuple[cv2.VideoCapture | None, str | None]:
        name = describe(self.source)
        if isinstance(self.source, str) and not is_stream_url(self.source) and not Path(self.source).exists():
            if self.live:
                return None, f"{name} is not there (unplugged?)."
            return None, f"{name} does not exist — check the path."
        try:
            cap = self._open_capture(self.source)
        except Exception as exc:  # cv2.error, or a backend crash on a half-plugged device
            return None, f"{name} cannot be opened ({exc})."
        if cap is None or not cap.isOpened():
            if cap is not None:
                cap.release()
            if isinstance(self.source, int):
                return None, (f"{name} cannot be opened — check that it is plugged in and not in use by "
                              f"another program (a video call), or choose another camera in Settings.")
            if is_stream_url(self.source):
                return None, f"{name} cannot be opened — check the address and that the camera is on the network."
            return None, f"{name} cannot be read — it is not a video OpenCV understands."
        return cap, None

    def _session(self) -> str | None:
        """Opens the source and reads it until stopped (None), its end (None) or a problem (message)."""
        self._emit_status(OPENING, f"Opening {describe(self.source).lower()}…")
        cap, problem = self._open()
        if cap is None:
            return problem
        with self._cap_lock:
            self._cap = cap
        if self._stop.is_set():
            return None
        cv2 = _cv2()
        if isinstance(self.source, int):
            try:  # the newest frame, not a queue of old ones, when decoding is slower than the camera
                cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)
            except Exception:
                pass
        fps = cap.get(cv2.CAP_PROP_FPS) or 0.0
        period = 1.0 / fps if 1.0 <= fps <= 240.0 else 1.0 / 30
        self.dedup.reset()  # a reopened camera starts afresh: the ticket still held is a new scan
        name = describe(self.source)
        got_any = False
        last_frame_at = time.monotonic()
        next_due = time.monotonic()
        reads: list[Decoded] = []
        while not self._stop.is_set():
            try:
                ok, frame = cap.read()
            except Exception:
                ok, frame = False, None
            now = time.monotonic()
            if not ok or frame is None:
                if not self.live:
                    if not got_any:
                        return f"{name} has no pictures in it — is it a video file?"
                    self._emit_status(ENDED, f"{name} has ended.")
                    return None
                if now - last_frame_at >= self.stall_after or (got_any and self._is_file()):
                    self._release()
                    if got_any:
                        return f"{name} stopped sending pictures — it may have been unplugged; plug it back in."
                    return (f"{name} opened but sends no pictures — another program may be using it; "
                            f"close it.")
                time.sleep(0.02)
                continue
            if not got_any:
                got_any = True
                self._emit_status(LIVE, f"{name}: looking for a code…")
            last_frame_at = now
            self.frames += 1
            at = now if self.live else (cap.get(cv2.CAP_PROP_POS_MSEC) or 0.0) / 1000.0
            found = self.decoder.decode(frame)
            if found is not None:
                reads = found
                scans = self.dedup.feed(found, at)
            else:
                scans = []
            self._call(self.on_frame, frame, reads)
            for scan in scans:
                self._call(self.on_scan, scan)
            if self.realtime and self._is_file():
                # a file plays at its own rate, as a camera would deliver it
                next_due += period
                delay = next_due - time.monotonic()
                if delay > 0:
                    self._stop.wait(delay)
                else:
                    next_due = time.monotonic()
        return None

    def _is_file(self) -> bool:
        return isinstance(self.source, str) and not is_stream_url(self.source)


def _default_open(source: Source) -> cv2.VideoCapture:
    return _cv2().VideoCapture(source)
