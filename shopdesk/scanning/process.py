"""The camera in its own process: CaptureProcess runs a CaptureWorker (the same cv2.VideoCapture path,
decoder and de-duplication) in a child process started with "spawn", and hands this process only what
a window draws — the frame scaled down to `preview_width` in RGB, the outlines on it — and the scans and
statuses. Capturing and decoding then never hold this process's GIL (a window's main thread waiting for
it while a capture thread decoded was the longest stall on a busy PC, bench/ui.py --hog).

Same interface as CaptureWorker: start(), stop(timeout), retry(), wait(timeout), running, status, and the
callbacks on_frame(frame, reads), on_scan(scan), on_status(status), called on this process's receiver
thread (keep them quick). Unlike CaptureWorker's, on_frame's frame is RGB and at most `preview_width`
wide, and the reads' outlines are in its pixels; the receiver thread drops no scan or status.

A child that dies (crash, killed) becomes an ERROR status saying so, retry_in None; retry() then starts a
new child. stop() asks the child to stop (it releases the camera and ends); if it is still there
`stop_grace` s later (a driver hung in a call), the receiver thread terminates it, then kills it. The child is a daemon and
also stops when its pipe to this process closes, so a crashed app leaves no camera process behind.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable

import numpy as np

from .capture import ERROR, STOPPED, CaptureStatus, Source, describe, parse_source
from .decode import Decoded
from .dedup import Scan

log = logging.getLogger("shopdesk.scanning")

DEFAULT_PREVIEW_WIDTH = 640
# The camera child yields the CPU to the window on a busy PC: decoding a frame a few ms later costs the
# shopkeeper nothing, a window that stalls does (a separate process: no GIL of the app's to invert).
CHILD_NICE = 5


class CaptureProcess:
    def __init__(self, source: Source, *, on_frame: Callable[[np.ndarray, list[Decoded]], None] | None = None,
                 on_scan: Callable[[Scan], None] | None = None,
                 on_status: Callable[[CaptureStatus], None] | None = None,
                 preview_width: int | None = DEFAULT_PREVIEW_WIDTH, backend: str | None = None,
                 live: bool | None = None, realtime: bool = False, retry_every: float | None = 2.0,
                 stall_after: float = 2.0, stop_grace: float = 3.0,
                 open_capture: Callable[[Source], object] | None = None):
        self.source = parse_source(source)
        self.on_frame = on_frame
        self.on_scan = on_scan
        self.on_status = on_status
        self.preview_width = preview_width
        self.stop_grace = stop_grace
        # open_capture (tests): a module-level function, so that the child can unpickle it
        self._options = {"backend": backend, "live": live, "realtime": realtime, "retry_every": retry_every,
                         "stall_after": stall_after, "open_capture": open_capture}
        self._ctx = multiprocessing.get_context("spawn")
        self._stop = threading.Event()
        self._stop_at = 0.0
        self._thread: threading.Thread | None = None
        self._conn = None  # this end of the pipe to the current child
        self._conn_lock = threading.Lock()
        self.process: multiprocessing.process.BaseProcess | None = None
        self.status = CaptureStatus(STOPPED)
        self.frames = 0  # frames received from the child
        self.scan_sent_at: float | None = None  # time.perf_counter() in the child when it sent the last scan

    # --- control (any thread) ---------------------------------------------------------------------
    def start(self) -> None:
        if self.running:
            if not self._stop.is_set():
                return
            self._thread.join(self.stop_grace + 2.0)  # shown again right after being hidden
        self._stop.clear()
        self.frames = 0
        self._thread = threading.Thread(target=self._run, name=f"capture process {self.source}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> bool:
        """Asks the child to stop; True when it has ended within `timeout` (stop(0) returns at once from a
        UI thread: the receiver thread sees the child out, terminating it if it does not end)."""
        self._stop_at = time.monotonic()
        self._stop.set()
        self._send(("stop",))
        t = self._thread
        if t is not None and t is not threading.current_thread():
            t.join(timeout)
            return not t.is_alive()
        return True

    def retry(self) -> None:
        """Try the camera again now; after the child died, start a new one."""
        if self.running:
            self._send(("retry",))
        else:
            self.start()

    def wait(self, timeout: float | None = None) -> bool:
        t = self._thread
        if t is None:
            return True
        t.join(timeout)
        return not t.is_alive()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def pid(self) -> int | None:
        p = self.process
        return p.pid if p is not None else None

    def _send(self, msg) -> None:
        with self._conn_lock:
            conn = self._conn
            if conn is None:
                return
            try:
                conn.send(msg)
            except (OSError, ValueError):  # the child is gone or going: nothing to tell it
                pass

    # --- the receiver thread ----------------------------------------------------------------------
    def _call(self, fn, *args) -> None:
        if fn is None:
            return
        try:
            fn(*args)
        except Exception:
            log.exception("scan callback %r failed", fn)

    def _emit_status(self, st: CaptureStatus) -> None:
        self.status = st
        self._call(self.on_status, st)

    def _run(self) -> None:
        parent, child = self._ctx.Pipe(duplex=True)
        proc = self._ctx.Process(target=child_main, name=f"shopdesk camera {self.source}", daemon=True,
                                 args=(child, self.source, self.preview_width, self._options))
        try:
            proc.start()
        except Exception as exc:
            log.exception("the camera process did not start")
            self._emit_status(CaptureStatus(ERROR, f"The camera could not be started ({exc}) — press Retry."))
            return
        finally:
            child.close()
        self.process = proc
        with self._conn_lock:
            self._conn = parent
        if self._stop.is_set():  # stopped while starting
            self._send(("stop",))
        last_state = None
        try:
            while True:
                try:
                    if not parent.poll(0.25):
                        if self._stop.is_set() and time.monotonic() - self._stop_at > self.stop_grace:
                            break  # asked to stop and still not gone (a camera driver hung in a call)
                        continue
                    msg = parent.recv()
                except (EOFError, OSError):
                    break
                kind = msg[0]
                if kind == "frame":
                    _, data, shape, reads = msg
                    self.frames += 1
                    frame = np.frombuffer(data, dtype=np.uint8).reshape(shape)
                    self._call(self.on_frame, frame, reads)
                elif kind == "scan":
                    self.scan_sent_at = msg[2]
                    self._call(self.on_scan, msg[1])
                elif kind == "status":
                    last_state = msg[1].state
                    self._emit_status(msg[1])
        finally:
            with self._conn_lock:
                self._conn = None
            parent.close()
            proc.join(1.0)
            if proc.is_alive():
                log.warning("the camera process did not end; terminating it")
                proc.terminate()
                proc.join(1.0)
                if proc.is_alive():
                    proc.kill()
                    proc.join(1.0)
        code = proc.exitcode
        if self._stop.is_set():
            if last_state != STOPPED:
                self._emit_status(CaptureStatus(STOPPED))
        elif code != 0 or last_state not in (ERROR, "ended", STOPPED):
            self._emit_status(CaptureStatus(
                ERROR, f"The camera process stopped unexpectedly (exit code {code}) while reading "
                       f"{describe(self.source).lower()} — press Retry to start it again.", None))


# --- the child process ----------------------------------------------------------------------------
def child_main(conn, source: Source, preview_width: int | None, options: dict) -> None:
    """Runs in the child: a CaptureWorker whose callbacks send over `conn`; commands come back on it."""
    try:
        os.nice(CHILD_NICE)
    except (AttributeError, OSError):  # no nice() on Windows: the child runs at the app's priority
        pass
    import cv2

    from .capture import CaptureWorker

    send_lock = threading.Lock()
    broken = threading.Event()

    def send(msg) -> None:
        if broken.is_set():
            return
        with send_lock:
            try:
                conn.send(msg)
            except (OSError, ValueError, EOFError):  # the parent is gone: stop
                broken.set()
                worker.stop(0)

    def on_frame(frame: np.ndarray, reads: list[Decoded]) -> None:
        h, w = frame.shape[:2]
        scale = 1.0
        if preview_width and w > preview_width:
            scale = preview_width / w
            frame = cv2.resize(frame, (preview_width, max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
        if frame.ndim == 2:
            rgb = cv2.cvtColor(frame, cv2.COLOR_GRAY2RGB)
        elif frame.shape[2] == 4:
            rgb = cv2.cvtColor(frame, cv2.COLOR_BGRA2RGB)
        else:
            rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
        if scale != 1.0:
            reads = [Decoded(r.text, tuple((round(x * scale), round(y * scale)) for x, y in r.polygon))
                     for r in reads]
        send(("frame", rgb.tobytes(), rgb.shape, list(reads)))

    worker = CaptureWorker(source, on_frame=on_frame, on_scan=lambda s: send(("scan", s, time.perf_counter())),
                           on_status=lambda st: send(("status", st)), **options)

    def commands() -> None:
        while True:
            try:
                msg = conn.recv()
            except (EOFError, OSError):  # the parent closed the pipe or died
                worker.stop(0)
                return
            if msg[0] == "stop":
                worker.stop(0)
                return
            if msg[0] == "retry":
                worker.retry()

    worker.start()
    threading.Thread(target=commands, name="camera commands", daemon=True).start()
    while not worker.wait(0.5):
        pass
