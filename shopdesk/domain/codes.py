"""Job codes: 6 characters of [A-Za-z0-9], random (secrets), printed as QR codes and typed by people.

A job's QR code carries the URL of its status page, `{public_url}/j/{code}`, so a customer's phone opens
it; the counter's scanner (webcam, USB scanner, typing) takes that URL or the bare code — and nothing
else, so a foreign QR code or a stray URL (`http://example.com/keitai/`) is never taken for a job."""

from __future__ import annotations

import re
import secrets
import string
from urllib.parse import urlsplit

ALPHABET = string.ascii_letters + string.digits
LENGTH = 6
_CODE = re.compile(r"^[A-Za-z0-9]{6}$")
_STATUS_PATH = re.compile(r"^/j/([A-Za-z0-9]{6})$")
STATUS_PATH = "/j/{code}"  # the customer's status page of a job; the QR code's URL ends in it


def new_job_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def is_job_code(text: str) -> bool:
    return bool(_CODE.match(text or ""))


def status_url(public_url: str, code: str) -> str:
    """The URL a job's QR code carries: its status page under the server's public URL."""
    return public_url.rstrip("/") + STATUS_PATH.format(code=code)


def extract_job_code(text: str) -> str | None:
    """The job code in a scanned or typed text: a bare code, or an http(s) URL with a host whose path is
    exactly `/j/{code}` (no query, no fragment). Anything else is None."""
    text = (text or "").strip()
    if is_job_code(text):
        return text
    if any(c.isspace() for c in text) or len(text) > 2000:
        return None
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 — raises ValueError for a port that is not a number
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        return None
    if "#" in text or "?" in text:  # an empty query or fragment marker is still something else
        return None
    m = _STATUS_PATH.match(parts.path)
    return m.group(1) if m else None
