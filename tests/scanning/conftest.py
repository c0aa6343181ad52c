"""Videos made once per test session (rendering them is the slow part) and shared by the scanning tests."""

from __future__ import annotations

import pytest

from shopdesk.scanning.testdata import Scene, Segment, make_code_video, write_video


@pytest.fixture(scope="session")
def videos(tmp_path_factory):
    """name → path of small MJPG videos at 640x480, 10 fps."""
    d = tmp_path_factory.mktemp("videos")
    fps = 10
    return {
        # one showing of aB3xY9 sliding in and held
        "once": make_code_video(d / "once.avi", "aB3xY9", fps=fps),
        # the same code twice with a pause: two scans
        "twice": make_code_video(d / "twice.avi", "aB3xY9", fps=fps, times=2, pause=1.2),
        # a URL ending in the code
        "url": make_code_video(d / "url.avi", "Qw7Er5", fps=fps, text="https://print.example.shop/j/Qw7Er5"),
        # 1,1,2,1 with no pause between: scans 1,2,1
        "switch": write_video(d / "switch.avi", [Segment(None, 0.3), Segment("AAAaa1", 0.8, enter=True),
                                                  Segment("BBBbb2", 0.8), Segment("AAAaa1", 0.8)], fps=fps),
        # a QR code that is not a job code
        "foreign": make_code_video(d / "foreign.avi", "", fps=fps, text="https://example.org/menu"),
        # nothing but the counter
        "empty": write_video(d / "empty.avi", [Segment(None, 1.5)], fps=fps),
    }


@pytest.fixture(scope="session")
def hard_videos(tmp_path_factory):
    """The code entering at several sizes, angles, tilts, blur and noise: (path, code, scene)."""
    d = tmp_path_factory.mktemp("hard")
    cases = [
        ("smal01", Scene(size=0.22, angle=0, noise=2, seed=1)),
        ("tilt02", Scene(size=0.4, angle=35, tilt=0.25, seed=2)),
        ("blur03", Scene(size=0.5, angle=-70, blur=1.2, noise=4, seed=3)),
        ("nois04", Scene(size=0.35, angle=160, noise=12, light=0.65, seed=4)),
        ("big005", Scene(size=0.85, angle=5, tilt=0.1, light=1.15, seed=5)),
    ]
    out = []
    for code, scene in cases:
        path = make_code_video(d / f"{code}.avi", code, fps=10, hold=1.0, base=scene)
        out.append((path, code, scene))
    return out
