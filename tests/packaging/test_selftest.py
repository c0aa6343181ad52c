"""`shopdesk --self-test` from source, as a shopkeeper or CI runs it: a subprocess, no display (offscreen),
real parts only — the private cupsd for the printers line, the real embedded server, the bundled QR image."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHECKS = ["window", "qr", "server", "keyring", "printers"]
LINE = re.compile(r"^(ok|warn|FAIL) +(\w+) +(.*) \[\d+\.\d\d s\]$")


def shopdesk_cmd() -> list[str]:
    exe = Path(sys.executable).with_name("shopdesk")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "shopdesk.cli"]


def run_selftest(cmd: list[str], tmp_path: Path, **env: str) -> tuple[int, dict[str, tuple[str, str]], str]:
    full_env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "HOME": str(tmp_path),
                "SHOPDESK_LOG_DIR": str(tmp_path / "logs"), **env}
    for key, value in env.items():
        if value == "":
            full_env.pop(key, None)
    proc = subprocess.run([*cmd, "--self-test"], env=full_env, capture_output=True, text=True, timeout=240)
    lines = proc.stdout.splitlines()
    results = {}
    for line in lines[1:-1]:
        m = LINE.match(line)
        assert m, f"not a check line: {line!r}\n{proc.stdout}\n{proc.stderr}"
        results[m.group(2)] = (m.group(1), m.group(3))
    return proc.returncode, results, proc.stdout + proc.stderr


def test_selftest_from_source_passes_with_one_line_per_check(tmp_path, cupsd):
    rc, results, out = run_selftest(shopdesk_cmd(), tmp_path, CUPS_SERVER=cupsd.server)
    assert rc == 0, out
    assert list(results) == CHECKS, out
    assert out.splitlines()[0].startswith("shopdesk ") and "from source" in out.splitlines()[0]
    assert "self-test passed" in out
    for name in ("window", "qr", "server", "printers"):
        assert results[name][0] == "ok", out
    assert "offscreen platform" in results["window"][1]
    assert "'SeLf7T'" in results["qr"][1] and "pyzbar" in results["qr"][1]
    assert "/healthz ok, stopped" in results["server"][1]
    # the printers the private cupsd has, by name, as CUPS lists them
    for printer in ("Front", "Color", "Broken"):
        assert printer in results["printers"][1], out
    assert cupsd.server in results["printers"][1]


def test_missing_printers_and_keyring_warn_but_do_not_fail(tmp_path):
    # a CUPS nobody listens on, and the keyring that stores nothing
    from tests.helpers.server import free_port

    rc, results, out = run_selftest(shopdesk_cmd(), tmp_path, CUPS_SERVER=f"127.0.0.1:{free_port()}",
                                    PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")
    assert rc == 0, out
    assert results["printers"][0] == "warn" and "no printers" in results["printers"][1]
    assert results["keyring"][0] == "warn" and "keyring.backends.fail.Keyring" in results["keyring"][1]


def test_a_window_that_cannot_open_fails_the_selftest_and_the_other_checks_still_run(tmp_path):
    rc, results, out = run_selftest(shopdesk_cmd(), tmp_path, QT_QPA_PLATFORM="no-such-platform")
    assert rc == 1, out
    assert results["window"][0] == "FAIL"
    assert "no-such-platform" in results["window"][1]
    assert list(results) == CHECKS  # one line per check even after a failure
    assert results["qr"][0] == "ok" and results["server"][0] == "ok"
    assert "self-test FAILED: window" in out


@pytest.mark.parametrize("flag", ["--version"])
def test_version_flag(flag):
    from shopdesk import __version__

    proc = subprocess.run([*shopdesk_cmd(), flag], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout.strip() == f"shopdesk {__version__}"
