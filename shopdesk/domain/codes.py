"""Job codes: 6 characters of [A-Za-z0-9], random (secrets), printed as QR codes and typed by people."""

from __future__ import annotations

import re
import secrets
import string

ALPHABET = string.ascii_letters + string.digits
LENGTH = 6
_CODE = re.compile(r"^[A-Za-z0-9]{6}$")
_TRAILING_CODE = re.compile(r"(?:^|[/=#?&:])([A-Za-z0-9]{6})/?$")


def new_job_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def is_job_code(text: str) -> bool:
    return bool(_CODE.match(text or ""))


def extract_job_code(text: str) -> str | None:
    """The job code in a scanned or typed text: a bare code, or a URL whose last segment is the code."""
    text = (text or "").strip()
    if is_job_code(text):
        return text
    m = _TRAILING_CODE.search(text)
    return m.group(1) if m else None
