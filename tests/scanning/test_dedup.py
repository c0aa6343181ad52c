"""One code held in view is one scan; again after a pause, or after another code, is a new scan."""

from __future__ import annotations

from shopdesk.scanning.decode import Decoded
from shopdesk.scanning.dedup import ScanDeduplicator


def d(text):
    return Decoded(text, ((0, 0), (10, 0), (10, 10), (0, 10)))


def run(frames, gap=0.7, dt=1 / 30):
    dd = ScanDeduplicator(gap)
    out = []
    for i, reads in enumerate(frames):
        out += [s.text for s in dd.feed([d(t) for t in reads], i * dt)]
    return out


def test_reads_1_1_2_1_are_scans_1_2_1():
    assert run([["AAAaa1"], ["AAAaa1"], ["BBBbb2"], ["AAAaa1"]]) == ["AAAaa1", "BBBbb2", "AAAaa1"]


def test_a_code_held_in_view_with_missed_frames_is_one_scan():
    frames = [["AAAaa1"] if i % 4 else [] for i in range(90)]  # 3 s, every 4th frame missed
    assert run(frames) == ["AAAaa1"]


def test_the_same_code_after_a_pause_is_a_new_scan():
    frames = [["AAAaa1"]] * 10 + [[]] * 30 + [["AAAaa1"]] * 10  # a one-second pause
    assert run(frames) == ["AAAaa1", "AAAaa1"]
    short = [["AAAaa1"]] * 10 + [[]] * 10 + [["AAAaa1"]] * 10  # a third of a second: still held
    assert run(short) == ["AAAaa1"]


def test_a_url_and_the_bare_code_of_the_same_job_are_one_scan():
    frames = [["https://print.example.shop/j/AAAaa1"], ["AAAaa1"], ["http://192.168.1.20:8765/j/AAAaa1"]]
    scans = run(frames)
    assert scans == ["https://print.example.shop/j/AAAaa1"]


def test_a_url_that_only_ends_in_six_letters_is_not_that_job():
    frames = [["AAAaa1"], ["https://x.example/AAAaa1"]]  # a foreign QR code, not the job's status page
    assert run(frames) == ["AAAaa1", "https://x.example/AAAaa1"]


def test_two_codes_in_view_are_two_scans_and_losing_one_briefly_does_not_repeat_it():
    frames = [["AAAaa1", "BBBbb2"], ["AAAaa1"], ["AAAaa1", "BBBbb2"], ["BBBbb2"]]
    assert run(frames) == ["AAAaa1", "BBBbb2"]


def test_a_clock_going_backwards_starts_afresh():
    dd = ScanDeduplicator()
    assert [s.code for s in dd.feed([d("AAAaa1")], 10.0)] == ["AAAaa1"]
    assert [s.code for s in dd.feed([d("AAAaa1")], 0.1)] == ["AAAaa1"]  # a video restarted


def test_a_foreign_qr_code_is_a_scan_without_a_code_and_with_a_message():
    [scan] = ScanDeduplicator().feed([d("https://example.org/menu")], 1.0)
    assert scan.code is None
    assert "not a shopdesk job code" in scan.message and "example.org/menu" in scan.message
    [ok] = ScanDeduplicator().feed([d("https://print.example.shop/j/Zz9999")], 1.0)
    assert ok.code == "Zz9999" and ok.message is None and ok.polygon and ok.at == 1.0
