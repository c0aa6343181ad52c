"""A USB scanner's burst of keys is told apart from a person typing the same code."""

from __future__ import annotations

import random

from shopdesk.scanning.keystrokes import PERSON, SCANNER, KeystrokeDetector, classify


def type_text(det, text, start, gaps):
    t = start
    for ch, g in zip(text, gaps, strict=False):
        t += g
        det.key(ch, t)
    return t


def test_a_scanner_burst_ending_in_enter_is_a_scanner():
    det = KeystrokeDetector()
    t = type_text(det, "aB3xY9", 100.0, [0.0] + [0.008] * 5)
    assert det.scanner_in_progress
    entry = det.enter(t + 0.01)
    assert entry.by == SCANNER and entry.by_scanner and entry.code == "aB3xY9"
    assert det.text == ""  # ready for the next one


def test_a_person_typing_the_same_code_is_a_person():
    rng = random.Random(1)
    det = KeystrokeDetector()
    t = type_text(det, "aB3xY9", 5.0, [0.0] + [rng.uniform(0.07, 0.25) for _ in range(5)])
    assert not det.scanner_in_progress
    entry = det.enter(t + 0.15)
    assert entry.by == PERSON and entry.code == "aB3xY9"


def test_a_fast_typist_with_one_quick_pair_is_still_a_person():
    # two keys 20 ms apart happen to people ("th"); the rest of the word gives them away
    assert classify([0, 0.02, 0.12, 0.21, 0.25, 0.36, 0.45]) == PERSON
    assert classify([0, 0.01, 0.02, 0.03, 0.04, 0.05, 0.06]) == SCANNER
    # a scanner that slows down once past the gap limit is not trusted as one
    assert classify([0, 0.01, 0.02, 0.2, 0.21, 0.22, 0.23]) == PERSON


def test_too_short_bursts_are_not_scanner_codes():
    assert classify([0, 0.01, 0.02, 0.03]) == PERSON  # three characters and Enter


def test_a_url_from_a_scanner_carries_the_code():
    det = KeystrokeDetector()
    text = "https://print.example.shop/j/Qw7Er5"
    t = type_text(det, text, 0.0, [0.0] + [0.005] * (len(text) - 1))
    entry = det.enter(t + 0.005)
    assert entry.by_scanner and entry.code == "Qw7Er5"


def test_stale_keys_are_forgotten_and_backspace_corrects():
    det = KeystrokeDetector(forget_after=2.0)
    det.key("x", 0.0)
    det.key("y", 0.1)
    t = type_text(det, "aB3xY", 10.0, [0.0, 0.2, 0.2, 0.2, 0.2])
    det.key("Z", t + 0.2)
    det.backspace(t + 0.4)
    det.key("9", t + 0.6)
    entry = det.enter(t + 0.8)
    assert entry.text == "aB3xY9" and entry.code == "aB3xY9" and entry.by == PERSON


def test_enter_alone_or_long_after_gives_nothing():
    det = KeystrokeDetector()
    assert det.enter(1.0) is None
    det.key("a", 1.0)
    assert det.enter(10.0) is None
    det.key(" ", 20.0)
    assert det.enter(20.01) is None


def test_not_a_code_is_an_entry_without_a_code():
    det = KeystrokeDetector()
    t = type_text(det, "hello world", 0.0, [0.0] + [0.1] * 10)
    entry = det.enter(t + 0.1)
    assert entry.text == "hello world" and entry.code is None
