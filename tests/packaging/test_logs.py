"""Logs as shipped: rotating files in the user log directory (SHOPDESK_LOG_DIR overrides it), --debug,
and no secret in them — checked in fresh processes (logging is configured once per process) and on the
real app's own log after a demo start."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from .test_selftest import shopdesk_cmd


def run_logging(tmp_path: Path, body: str, debug: bool = False) -> Path:
    code = textwrap.dedent(f"""
        import logging
        from shopdesk.logs import setup_logging
        setup_logging({debug!r})
        log = logging.getLogger("shopdesk.test")
    """) + textwrap.dedent(body)
    env = {**os.environ, "SHOPDESK_LOG_DIR": str(tmp_path / "logs")}
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return tmp_path / "logs"


def test_log_file_in_the_log_dir_without_secrets(tmp_path):
    folder = run_logging(tmp_path, """
        log.info("sending Authorization: Bearer abcdef1234567890")
        log.info("login %s", {"username": "meena", "password": "hunter22secret"})
        log.warning("retrying http://h/queue?token=zzzzzz999999")
        log.info("plain line stays")
    """)
    text = (folder / "shopdesk.log").read_text("utf-8")
    for secret in ("abcdef1234567890", "hunter22secret", "zzzzzz999999"):
        assert secret not in text
    assert text.count("[hidden]") == 3
    assert "plain line stays" in text and "meena" in text


def test_debug_lines_only_with_debug(tmp_path):
    quiet = run_logging(tmp_path / "a", 'log.debug("detail 42")\nlog.info("info 43")\n')
    loud = run_logging(tmp_path / "b", 'log.debug("detail 42")\nlog.info("info 43")\n', debug=True)
    quiet_text = (quiet / "shopdesk.log").read_text("utf-8")
    assert "info 43" in quiet_text and "detail 42" not in quiet_text
    assert "detail 42" in (loud / "shopdesk.log").read_text("utf-8")


def test_log_files_rotate_and_keep_five(tmp_path):
    folder = run_logging(tmp_path, """
        line = "x" * 1000
        for i in range(16000):  # ~16 MB through a 2 MB file with 5 backups
            log.info("%d %s", i, line)
    """)
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["shopdesk.log"] + [f"shopdesk.log.{i}" for i in range(1, 6)], names
    assert all(p.stat().st_size <= 2 * 2**20 + 2000 for p in folder.iterdir())
    assert "15999" in (folder / "shopdesk.log").read_text("utf-8")


def test_app_start_writes_its_log_without_passwords_or_tokens(tmp_path):
    """The real app, --debug, on the embedded demo shop (which logs in with a password and gets a token)."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "HOME": str(tmp_path),
           "SHOPDESK_LOG_DIR": str(tmp_path / "logs"), "SHOPDESK_CONFIG_DIR": str(tmp_path / "cfg"),
           "SHOPDESK_APP_DATA_DIR": str(tmp_path / "data")}
    proc = subprocess.run([*shopdesk_cmd(), "--debug", "--demo", "--screenshot", str(tmp_path / "shot.png")],
                          env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (tmp_path / "shot.png").stat().st_size > 10_000
    text = (tmp_path / "logs" / "shopdesk.log").read_text("utf-8")
    assert "DEBUG" in text and "embedded server at http://127.0.0.1:" in text
    from shopdesk.server.demo import DEMO_USERS

    for _user, password, _role in DEMO_USERS:
        assert password not in text and password not in proc.stderr
    for line in text.splitlines():
        if "Bearer " in line:
            assert "Bearer [hidden]" in line, line


def test_a_traceback_carrying_a_token_is_scrubbed_too(tmp_path):
    import logging

    from shopdesk.logs import ScrubbingFormatter

    record = None
    try:
        raise RuntimeError("server said: Authorization: Bearer leakysecrettoken123")
    except RuntimeError:
        import sys

        record = logging.LogRecord("t", logging.ERROR, __file__, 1, "request failed", None, sys.exc_info())
    text = ScrubbingFormatter("%(message)s").format(record)
    assert "leakysecrettoken123" not in text and "Bearer [hidden]" in text
