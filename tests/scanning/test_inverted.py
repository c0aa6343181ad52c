"""Light-on-dark (inverted) QR codes — a phone in dark mode, a negative print — read through the same
path as a webcam: a video file through CaptureWorker (cv2.VideoCapture → FrameDecoder)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import qrcode

from shopdesk.scanning.capture import CaptureWorker
from shopdesk.scanning.decode import FrameDecoder
from shopdesk.scanning.testdata import Scene, Segment, write_video


def _dark_mode_phone(text: str, size=(640, 480)) -> np.ndarray:
    """A frame of a phone screen in dark mode showing the job's QR code: the qrcode library's own
    white-on-black PNG rendering, on a dark screen held over a grey counter."""
    qr = qrcode.QRCode(box_size=6, border=4)
    qr.add_data(text)
    img = qr.make_image(fill_color="white", back_color="black").convert("L")
    code = cv2.cvtColor(np.array(img), cv2.COLOR_GRAY2BGR)
    w, h = size
    frame = np.full((h, w, 3), (128, 120, 110), np.uint8)
    cv2.rectangle(frame, (150, 20), (490, 460), (18, 18, 18), -1)  # the phone's dark screen
    ch, cw = code.shape[:2]
    y, x = (h - ch) // 2, (w - cw) // 2
    frame[y:y + ch, x:x + cw] = code
    rng = np.random.default_rng(5)
    return np.clip(frame + rng.normal(0, 3, frame.shape), 0, 255).astype(np.uint8)


def _video(path, frames: list[np.ndarray], fps=10) -> str:
    h, w = frames[0].shape[:2]
    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (w, h))
    assert out.isOpened()
    for f in frames:
        out.write(f)
    out.release()
    return str(path)


def _scan(path: str, **kw) -> list:
    got = []
    w = CaptureWorker(path, on_scan=got.append, **kw)
    w.start()
    assert w.wait(30), "the worker did not finish the file"
    return got


def test_a_dark_mode_phone_screen_is_scanned(tmp_path):
    blank = np.full((480, 640, 3), (128, 120, 110), np.uint8)
    phone = _dark_mode_phone("https://print.example.shop/j/Dk4rM0")
    path = _video(tmp_path / "phone.avi", [blank] * 4 + [phone] * 10 + [blank] * 3)
    scans = _scan(path)
    assert [s.code for s in scans] == ["Dk4rM0"]


def test_without_inverted_tries_the_same_video_gives_nothing(tmp_path):
    """The test above can fail: the dark-on-light path alone does not read this picture."""
    frame = _dark_mode_phone("https://print.example.shop/j/Dk4rM0")
    assert FrameDecoder(invert=False).decode(frame) == []
    assert [d.code for d in FrameDecoder().decode(frame)] == ["Dk4rM0"]


@pytest.mark.parametrize("scene", [Scene(size=0.45, angle=20, tilt=0.1, noise=4, seed=8, inverted=True),
                                   Scene(size=0.3, angle=-40, noise=8, light=0.7, seed=9, inverted=True)])
def test_an_inverted_ticket_then_a_normal_one_are_both_scanned(tmp_path, scene):
    path = write_video(tmp_path / "mixed.avi", [Segment(None, 0.4), Segment("Inv3rt", 1.0, enter=True),
                                                Segment(None, 0.5)], fps=10, base=scene)
    normal = write_video(tmp_path / "normal.avi", [Segment("N0rmal", 1.0, enter=True)], fps=10,
                         base=Scene(size=0.45, angle=10, seed=3))
    both = tmp_path / "both.avi"
    frames = []
    for p in (path, normal):
        cap = cv2.VideoCapture(str(p))
        while True:
            ok, f = cap.read()
            if not ok:
                break
            frames.append(f)
        cap.release()
    assert [s.code for s in _scan(_video(both, frames))] == ["Inv3rt", "N0rmal"]
