"""The camera in its own process: a video file read through CaptureProcess — a spawned child running the
same CaptureWorker and cv2.VideoCapture path as a webcam — gives the codes and the scaled preview frames;
a child that cannot open the camera or dies says so; stopping ends the child (no orphan)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import cv2

from shopdesk.scanning.capture import ENDED, ERROR, LIVE, OPENING, STOPPED
from shopdesk.scanning.process import CHILD_NICE, CaptureProcess

from .test_capture import Recorder


def process_worker(rec: Recorder, source, **kw) -> CaptureProcess:
    return CaptureProcess(source, on_scan=rec.on_scan, on_status=rec.on_status, on_frame=rec.on_frame, **kw)


def gone(pid: int, timeout: float = 10.0) -> bool:
    """True once no process `pid` is left (reaped, or at least a zombie no longer running)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().split(") ", 1)[1].startswith("Z"):
                    return True
        except FileNotFoundError:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)


def test_a_video_read_in_the_child_gives_the_codes_and_scaled_frames(videos):
    rec = Recorder()
    w = process_worker(rec, str(videos["once"]), preview_width=320)
    w.start()
    assert w.wait(60), "the child did not finish the file"
    assert rec.codes == ["aB3xY9"]
    assert rec.states == [OPENING, LIVE, ENDED]
    assert w.pid is not None and w.pid != os.getpid()  # it really ran elsewhere
    assert gone(w.pid) and w.process.exitcode == 0
    # the window gets every frame of the video, scaled to the preview width (640x480 → 320x240)
    assert len(rec.frames) == w.frames == int(cv2.VideoCapture(str(videos["once"])).get(cv2.CAP_PROP_FRAME_COUNT))
    assert all(shape == (240, 320, 3) for shape, _ in rec.frames)
    with_code = [reads for _, reads in rec.frames if reads]
    assert len(with_code) >= 5
    text, poly = with_code[-1][0]
    xs, ys = [p[0] for p in poly], [p[1] for p in poly]
    assert text == "aB3xY9" and 75 < sum(xs) / 4 < 245 and 50 < sum(ys) / 4 < 190  # outline scaled too
    assert rec.scans[0].code == "aB3xY9" and rec.scans[0].at > 0  # video time, from the child's dedup


def test_frames_are_rgb(videos):
    frames = []
    w = CaptureProcess(str(videos["once"]), on_frame=lambda f, r: frames.append(f.copy()), preview_width=None)
    w.start()
    assert w.wait(60)
    cap = cv2.VideoCapture(str(videos["once"]))
    ok, bgr = cap.read()
    cap.release()
    assert ok and frames[0].shape == bgr.shape
    assert abs(frames[0].astype(int) - bgr[:, :, ::-1].astype(int)).mean() < 1.0


def test_no_camera_in_the_child_is_a_message_and_stop_ends_the_child():
    rec = Recorder()
    w = process_worker(rec, 9, retry_every=0.2)  # there is no /dev/video9 on a test machine
    w.start()
    first = rec.wait_for(lambda k, ev: k == "status" and ev.state == ERROR, timeout=30)
    assert "Camera 9 cannot be opened" in first.message and first.retry_in == 0.2
    rec.wait_for(lambda k, ev: k == "status" and ev.state == ERROR and ev is not first)  # the child retries
    pid = w.pid
    assert w.running and not gone(pid, 0)
    assert w.stop(10)
    assert rec.states[-1] == STOPPED
    assert gone(pid, 0) and w.process.exitcode == 0  # ended by itself, not terminated


def test_a_child_that_dies_is_an_error_in_words_and_retry_starts_a_new_one(videos):
    rec = Recorder()
    w = process_worker(rec, str(videos["twice"]), realtime=True)
    w.start()
    rec.wait_for(lambda k, ev: k == "status" and ev.state == LIVE, timeout=30)
    first = w.pid
    os.kill(first, signal.SIGKILL)  # a crash in OpenCV or a driver
    err = rec.wait_for(lambda k, ev: k == "status" and ev.state == ERROR, timeout=10)
    assert "camera process stopped unexpectedly" in err.message and "Retry" in err.message
    assert err.retry_in is None and w.wait(5) and not w.running
    w.retry()
    rec.wait_for(lambda k, ev: k == "scan", timeout=30)
    assert w.pid != first
    w.stop(10)
    assert gone(w.pid, 0)


def test_stop_mid_video_ends_the_child_promptly_and_start_again_works(videos):
    rec = Recorder()
    w = process_worker(rec, str(videos["twice"]), realtime=True)
    w.start()
    rec.wait_for(lambda k, ev: k == "status" and ev.state == LIVE, timeout=30)
    pid = w.pid
    # the child yields the CPU to the window on a busy PC
    assert os.getpriority(os.PRIO_PROCESS, pid) == min(19, os.getpriority(os.PRIO_PROCESS, 0) + CHILD_NICE)
    w.stop(0)  # as from the UI thread: returns at once
    assert gone(pid, 5) and w.wait(5)
    assert rec.states[-1] == STOPPED and w.process.exitcode == 0
    w.start()
    rec.wait_for(lambda k, ev: k == "scan", timeout=30)
    assert w.pid != pid
    assert w.stop(10)


HELPER = """
import sys, time
from shopdesk.scanning.process import CaptureProcess
seen = []
w = CaptureProcess(sys.argv[1], realtime=True, live=True, on_status=lambda st: seen.append(st.state))
w.start()
while "live" not in seen:
    time.sleep(0.02)
print(w.pid, flush=True)
time.sleep(60)
"""


def test_a_child_whose_app_dies_stops_by_itself(videos):
    """The app killed outright: the child's pipe closes and it ends instead of reading the camera on."""
    app = subprocess.Popen([sys.executable, "-c", HELPER, str(videos["twice"])], stdout=subprocess.PIPE, text=True)
    try:
        pid = int(app.stdout.readline())
        assert not gone(pid, 0)
        app.kill()
        app.wait(5)
        assert gone(pid, 10)
    finally:
        app.kill()
        app.wait()


def test_the_app_side_does_not_load_opencv():
    """The window's process only unpickles what the child sends: opening the scan view must not cost the
    main thread OpenCV's import (~100 ms here)."""
    code = ("import sys, shopdesk.ui.scanview, shopdesk.scanning.process, shopdesk.scanning.capture; "
            "print(sorted(m for m in ('cv2', 'zxingcpp', 'pyzbar') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env=dict(os.environ, QT_QPA_PLATFORM="offscreen"))
    assert out.stdout.strip() == "[]"


def test_the_app_warms_up_the_camera_modules_without_opencv():
    """What the window imports a few seconds after its start, off the main thread, so that the first scan
    view opens without a pause: the scan view and the capture process — and still not OpenCV."""
    code = ("import sys, shopdesk.ui.service as s; before = 'shopdesk.scanning.process' in sys.modules; "
            "s._import_quietly(s.WARM_UP_MODULES); "
            "print(before, all(m in sys.modules for m in s.WARM_UP_MODULES), 'cv2' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env=dict(os.environ, QT_QPA_PLATFORM="offscreen"))
    assert out.stdout.split() == ["False", "True", "False"]


def hanging_open(source):
    """A camera driver that never returns from opening (run in the child: module-level to be picklable)."""
    time.sleep(3600)


def test_a_child_hung_in_the_driver_is_terminated_after_the_grace_period():
    rec = Recorder()
    w = process_worker(rec, 0, open_capture=hanging_open, stop_grace=0.5)
    w.start()
    rec.wait_for(lambda k, ev: k == "status" and ev.state == OPENING, timeout=30)
    pid = w.pid
    started = time.monotonic()
    assert w.stop(10)
    assert time.monotonic() - started < 5
    assert gone(pid, 0) and w.process.exitcode == -signal.SIGTERM
    assert rec.states[-1] == STOPPED
