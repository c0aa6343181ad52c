"""Generated videos through CaptureWorker — the same cv2.VideoCapture path as a webcam — and the
camera's failures: missing, not sending pictures, unplugged mid-scan and plugged back in."""

from __future__ import annotations

import queue
import shutil
import threading
import time

import cv2
import pytest

from shopdesk.scanning.capture import ENDED, ERROR, LIVE, OPENING, STOPPED, CaptureWorker, parse_source


class Recorder:
    def __init__(self):
        self.scans, self.statuses, self.frames = [], [], []
        self.events = queue.Queue()

    def on_scan(self, s):
        self.scans.append(s)
        self.events.put(("scan", s))

    def on_status(self, st):
        self.statuses.append(st)
        self.events.put(("status", st))

    def on_frame(self, frame, reads):
        self.frames.append((frame.shape, [(r.text, r.polygon) for r in reads]))

    def worker(self, source, **kw):
        return CaptureWorker(source, on_scan=self.on_scan, on_status=self.on_status, on_frame=self.on_frame, **kw)

    def wait_for(self, pred, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                kind, ev = self.events.get(timeout=0.1)
            except queue.Empty:
                continue
            if pred(kind, ev):
                return ev
        raise AssertionError(f"timed out; statuses {self.statuses}, scans {self.scans}")

    @property
    def states(self):
        return [s.state for s in self.statuses]

    @property
    def codes(self):
        return [s.code for s in self.scans]


def run_file(path, **kw):
    rec = Recorder()
    w = rec.worker(str(path), **kw)
    w.start()
    assert w.wait(30), "the worker did not finish the file"
    return rec, w


def test_parse_source():
    assert parse_source("0") == 0 and parse_source(2) == 2
    assert parse_source(" video.avi ") == "video.avi"
    assert parse_source("rtsp://cam.local/stream") == "rtsp://cam.local/stream"


def test_a_code_sliding_in_and_held_is_one_scan_with_its_outline(videos):
    rec, w = run_file(videos["once"])
    assert rec.codes == ["aB3xY9"]
    assert rec.states == [OPENING, LIVE, ENDED]
    assert not w.camera_open
    # every frame of the video came through, in colour, at its size
    assert len(rec.frames) == w.frames == int(cv2.VideoCapture(str(videos["once"])).get(cv2.CAP_PROP_FRAME_COUNT))
    assert all(shape == (480, 640, 3) for shape, _ in rec.frames)
    with_code = [reads for _, reads in rec.frames if reads]
    assert len(with_code) >= 5  # sliding in and held for 1.2 s at 10 fps
    text, poly = with_code[-1][0]
    assert text == "aB3xY9" and len(poly) == 4
    xs, ys = [p[0] for p in poly], [p[1] for p in poly]
    assert 150 < sum(xs) / 4 < 490 and 100 < sum(ys) / 4 < 380  # held in the middle of the frame
    assert rec.scans[0].polygon == with_code[0][0][1]


def test_the_same_code_after_a_pause_is_scanned_again(videos):
    rec, _ = run_file(videos["twice"])
    assert rec.codes == ["aB3xY9", "aB3xY9"]
    assert rec.scans[1].at - rec.scans[0].at > 1.0  # video time, not wall-clock


def test_codes_replacing_each_other_without_a_pause(videos):
    rec, _ = run_file(videos["switch"])
    assert rec.codes == ["AAAaa1", "BBBbb2", "AAAaa1"]


def test_a_url_ending_in_the_code(videos):
    rec, _ = run_file(videos["url"])
    assert rec.codes == ["Qw7Er5"]
    assert rec.scans[0].text == "https://print.example.shop/j/Qw7Er5"


def test_an_unknown_qr_code_gives_a_message_not_a_job(videos):
    rec, _ = run_file(videos["foreign"])
    assert len(rec.scans) == 1 and rec.scans[0].code is None
    assert "not a shopdesk job code" in rec.scans[0].message


def test_frames_without_any_code_give_no_scan(videos):
    rec, w = run_file(videos["empty"])
    assert rec.scans == [] and w.frames == 15
    assert rec.states[-1] == ENDED


def test_codes_at_several_sizes_angles_blur_and_noise(hard_videos):
    for path, code, scene in hard_videos:
        rec, _ = run_file(path)
        assert rec.codes == [code], (scene, rec.codes)


def test_both_decoders_read_the_same_video(videos):
    from shopdesk.scanning.decode import available_backends

    for backend in available_backends():
        rec, _ = run_file(videos["once"], backend=backend)
        assert rec.codes == ["aB3xY9"], backend


def test_a_missing_file_is_a_clear_error_not_a_crash(tmp_path):
    rec, w = run_file(tmp_path / "nope.avi")
    assert rec.states == [OPENING, ERROR]
    assert "does not exist" in rec.statuses[-1].message and rec.statuses[-1].retry_in is None
    assert not w.running


def test_a_file_that_is_not_a_video_is_a_clear_error(tmp_path):
    bad = tmp_path / "notes.avi"
    bad.write_text("not a video at all\n" * 100)
    rec, _ = run_file(bad)
    assert rec.states[-1] == ERROR
    assert "not a video" in rec.statuses[-1].message or "no pictures" in rec.statuses[-1].message


def test_no_camera_at_that_index_says_so_and_retries_until_stopped():
    rec = Recorder()
    w = rec.worker(9, retry_every=0.2)  # there is no /dev/video9 on a test machine
    w.start()
    first = rec.wait_for(lambda k, ev: k == "status" and ev.state == ERROR)
    assert "Camera 9 cannot be opened" in first.message and "plugged in" in first.message
    assert first.retry_in == 0.2
    rec.wait_for(lambda k, ev: k == "status" and ev.state == ERROR and ev is not first)  # retried
    assert w.running
    assert w.stop(5)
    assert rec.states[-1] == STOPPED and not w.camera_open


def test_retry_now_does_not_wait_for_the_interval():
    rec = Recorder()
    w = rec.worker(9, retry_every=30)
    w.start()
    rec.wait_for(lambda k, ev: k == "status" and ev.state == ERROR)
    w.retry()
    # long before the 30 s interval (wait_for fails at its timeout)
    rec.wait_for(lambda k, ev: k == "status" and ev.state == OPENING, timeout=5)
    w.stop()


def test_a_camera_plugged_in_later_is_picked_up_by_the_retry(tmp_path, videos):
    """A "camera" that is a file which appears later: the live path's retry opens it and scans."""
    cam = tmp_path / "camera.avi"
    rec = Recorder()
    w = rec.worker(str(cam), live=True, retry_every=0.2)
    w.start()
    err = rec.wait_for(lambda k, ev: k == "status" and ev.state == ERROR)
    assert "unplugged" in err.message and "Retrying" in err.message
    shutil.copy(videos["once"], cam)
    scan = rec.wait_for(lambda k, ev: k == "scan", timeout=20)
    assert scan.code == "aB3xY9"
    w.stop()


def test_a_camera_unplugged_mid_scan_is_an_error_then_reconnects(tmp_path, videos):
    """Live mode on a file: its end is the camera going away mid-scan; reopening is plugging it back."""
    rec = Recorder()
    w = rec.worker(str(videos["once"]), live=True, retry_every=0.2)
    w.start()
    rec.wait_for(lambda k, ev: k == "scan", timeout=20)
    lost = rec.wait_for(lambda k, ev: k == "status" and ev.state == ERROR, timeout=20)
    assert "stopped sending pictures" in lost.message and "unplugged" in lost.message
    assert not w.camera_open  # released while waiting to retry
    rec.wait_for(lambda k, ev: k == "status" and ev.state == LIVE, timeout=10)
    rec.wait_for(lambda k, ev: k == "scan", timeout=20)  # the ticket is read again on the new camera
    w.stop()
    assert rec.codes[:2] == ["aB3xY9", "aB3xY9"]


def test_a_camera_that_opens_but_sends_nothing_is_reported_as_busy():
    class SilentCamera:
        released = False

        def isOpened(self):
            return True

        def read(self):
            return False, None

        def get(self, prop):
            return 0.0

        def set(self, prop, value):
            return True

        def release(self):
            SilentCamera.released = True

    rec = Recorder()
    w = rec.worker(0, open_capture=lambda src: SilentCamera(), stall_after=0.3, retry_every=5)
    w.start()
    err = rec.wait_for(lambda k, ev: k == "status" and ev.state == ERROR)
    assert "sends no pictures" in err.message and "another program" in err.message
    assert SilentCamera.released
    w.stop()


def test_an_exception_opening_the_camera_is_a_message(tmp_path):
    def explode(src):
        raise cv2.error("backend crashed")

    rec = Recorder()
    w = rec.worker(0, open_capture=explode, retry_every=5)
    w.start()
    err = rec.wait_for(lambda k, ev: k == "status" and ev.state == ERROR)
    assert "Camera 0 cannot be opened" in err.message and "backend crashed" in err.message
    w.stop()


def test_a_failing_listener_does_not_stop_the_scanning(videos):
    got = []

    def bad_frame(frame, reads):
        raise RuntimeError("bug in the preview")

    w = CaptureWorker(str(videos["once"]), on_frame=bad_frame, on_scan=got.append)
    w.start()
    assert w.wait(30)
    assert [s.code for s in got] == ["aB3xY9"]


def test_stop_mid_video_releases_the_capture_promptly(videos):
    rec = Recorder()
    w = rec.worker(str(videos["twice"]), realtime=True)
    w.start()
    rec.wait_for(lambda k, ev: k == "status" and ev.state == LIVE)
    assert w.camera_open
    assert w.stop(1.0)  # stopped within a second (False if it were still running then)
    assert not w.camera_open and rec.states[-1] == STOPPED
    assert w.frames < 40  # it was playing at the video's own rate, not racing to the end


def test_start_again_after_stop(videos):
    rec = Recorder()
    w = rec.worker(str(videos["once"]))
    for _ in range(2):
        w.start()
        assert w.wait(30)
    assert rec.codes == ["aB3xY9", "aB3xY9"]


def test_hiding_and_showing_at_once_restarts_cleanly(videos):
    rec = Recorder()
    w = rec.worker(str(videos["once"]), realtime=True)
    w.start()
    rec.wait_for(lambda k, ev: k == "status" and ev.state == LIVE)
    w.stop(0)  # returns at once, as from the UI thread
    w.start()
    rec.wait_for(lambda k, ev: k == "scan", timeout=20)
    assert w.running and rec.states.count(OPENING) == 2
    assert w.stop(5) and not w.camera_open


@pytest.mark.parametrize("n", [3])
def test_several_workers_at_once_do_not_interfere(videos, n):
    results = [[] for _ in range(n)]
    workers = [CaptureWorker(str(videos["switch"]), on_scan=lambda s, i=i: results[i].append(s.code)) for i in range(n)]
    for w in workers:
        w.start()
    assert all(w.wait(30) for w in workers)
    assert all(r == ["AAAaa1", "BBBbb2", "AAAaa1"] for r in results)
    assert threading.active_count() < 20
