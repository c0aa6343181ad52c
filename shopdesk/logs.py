"""Logging: rotating files in the user log directory, stderr too; a filter scrubs anything that looks
like a secret (bearer tokens, passwords) before it is written."""

from __future__ import annotations

import logging
import logging.handlers
import re

from .settings import log_dir

_SECRET = re.compile(r"(?i)(bearer\s+|token[\"'=:\s]+|password[\"'=:\s]+)([A-Za-z0-9._~+/=-]{6,})")


class ScrubSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        clean = _SECRET.sub(lambda m: m.group(1) + "[hidden]", msg)
        if clean != msg:
            record.msg, record.args = clean, None
        return True


class ScrubbingFormatter(logging.Formatter):
    """Scrubs the whole formatted record, tracebacks included (an exception's text can carry a token)."""

    def format(self, record: logging.LogRecord) -> str:
        return _SECRET.sub(lambda m: m.group(1) + "[hidden]", super().format(record))


def setup_logging(debug: bool = False, *, to_file: bool = True) -> None:
    root = logging.getLogger()
    if getattr(root, "_shopdesk_configured", False):
        return
    root.setLevel(logging.DEBUG if debug else logging.INFO)
    fmt = ScrubbingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    scrub = ScrubSecrets()
    stderr = logging.StreamHandler()
    stderr.setFormatter(fmt)
    stderr.addFilter(scrub)
    stderr.setLevel(logging.DEBUG if debug else logging.WARNING)
    root.addHandler(stderr)
    if to_file:
        try:
            folder = log_dir()
            folder.mkdir(parents=True, exist_ok=True)
            fh = logging.handlers.RotatingFileHandler(folder / "shopdesk.log", maxBytes=2 * 2**20, backupCount=5,
                                                      encoding="utf-8")
            fh.setFormatter(fmt)
            fh.addFilter(scrub)
            root.addHandler(fh)
        except OSError as exc:
            root.warning("cannot write log files: %s", exc)
    for noisy in ("urllib3", "PIL", "multipart", "python_multipart"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    root._shopdesk_configured = True  # type: ignore[attr-defined]


def startup_mark(what: str) -> None:
    """With SHOPDESK_STARTUP_CLOCK=<launch time, seconds since 1970> (bench/start.py): prints to stderr how
    long after launch `what` happened."""
    import os
    import sys
    import time

    try:
        launched = float(os.environ.get("SHOPDESK_STARTUP_CLOCK", ""))
    except ValueError:
        return
    print(f"startup: {what} {1000 * (time.time() - launched):.0f} ms", file=sys.stderr, flush=True)
