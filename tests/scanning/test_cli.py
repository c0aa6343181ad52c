"""`shopdesk scan` as a real subprocess on generated videos (the same capture path as a webcam)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHOPDESK = Path(sys.executable).with_name("shopdesk")


def scan(*args, timeout=60, via_module=True):
    cmd = ([sys.executable, "-m", "shopdesk.scanning.cli"] if via_module else [str(SHOPDESK), "scan"]) + list(args)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT)


def test_once_prints_the_code_and_exits(videos):
    r = scan("--source", str(videos["twice"]), "--once")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "aB3xY9\n"


def test_every_scan_is_printed_one_per_line(videos):
    r = scan("--source", str(videos["switch"]))
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["AAAaa1", "BBBbb2", "AAAaa1"]


def test_a_url_prints_just_the_code(videos):
    r = scan("--source", str(videos["url"]), "--once")
    assert (r.returncode, r.stdout) == (0, "Qw7Er5\n")


@pytest.mark.skipif(not SHOPDESK.exists(), reason="the shopdesk entry point is not installed")
def test_shopdesk_scan_entry_point(videos):
    r = scan("--source", str(videos["once"]), "--once", via_module=False)
    assert (r.returncode, r.stdout) == (0, "aB3xY9\n"), r.stderr


def test_an_unknown_qr_code_is_a_message_and_once_fails(videos):
    r = scan("--source", str(videos["foreign"]), "--once")
    assert r.returncode == 1
    assert r.stdout == ""
    assert "not a shopdesk job code ('https://example.org/menu')" in r.stderr
    assert "no job code found" in r.stderr


def test_a_video_without_codes(videos):
    r = scan("--source", str(videos["empty"]))
    assert (r.returncode, r.stdout) == (0, "")
    r = scan("--source", str(videos["empty"]), "--once")
    assert r.returncode == 1 and "no job code found" in r.stderr


def test_a_missing_file_and_a_missing_camera_exit_2_with_a_message(tmp_path):
    r = scan("--source", str(tmp_path / "nope.avi"), "--once")
    assert r.returncode == 2 and "does not exist — check the path" in r.stderr
    assert r.stderr.count("does not exist") == 1  # said once, not again by the log
    r = scan("--source", "9", "--once")
    assert r.returncode == 2 and "Camera 9 cannot be opened" in r.stderr and "Traceback" not in r.stderr


def test_timeout_gives_up_on_a_missing_camera_when_retrying():
    r = scan("--source", "9", "--retry", "--timeout", "1.5")
    assert r.returncode == 1
    assert "Retrying every 2 s" in r.stderr and "no job code read within 1.5 s" in r.stderr


def test_bad_arguments_are_refused():
    r = scan("--once")
    assert r.returncode == 2 and "--source" in r.stderr
