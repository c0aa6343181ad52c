"""Asking a network printer itself (not CUPS) how it is and what it printed: a small IPP client (RFC 8010
encoding over HTTP) for the two read-only requests the pipeline needs — Get-Printer-Attributes (does the
device answer, and what does it say: out of paper, jammed…) and Get-Jobs (the printer's own jobs, in it
and done: did the job really reach it, and come out). CUPS's driverless queues hide both: a printer
switched off mid-job leaves the CUPS job "processing" for ever, and a printer restarted mid-job makes
CUPS call the job completed."""

from __future__ import annotations

import http.client
import itertools
import ssl
import struct
from urllib.parse import urlsplit

GET_JOBS, GET_PRINTER_ATTRIBUTES = 0x000A, 0x000B
_TAG_OPERATION, _TAG_JOB, _TAG_END, _TAG_PRINTER = 0x01, 0x02, 0x03, 0x04
_INTEGER, _BOOLEAN, _ENUM = 0x21, 0x22, 0x23
_KEYWORD, _URI, _CHARSET, _LANGUAGE = 0x44, 0x45, 0x47, 0x48
_ids = itertools.count(1)


class DeviceUnreachable(Exception):
    """The printer did not answer (switched off, unplugged, not on the network)."""


def is_ipp(uri: str) -> bool:
    return uri.startswith(("ipp://", "ipps://"))


def _attr(tag: int, name: str, values) -> bytes:
    out = b""
    for i, v in enumerate(values if isinstance(values, (list, tuple)) else [values]):
        data = struct.pack(">i", v) if tag == _INTEGER else str(v).encode()
        key = name.encode() if i == 0 else b""
        out += struct.pack(">BH", tag, len(key)) + key + struct.pack(">H", len(data)) + data
    return out


def _request(uri: str, op: int, extra: bytes, timeout: float) -> tuple[int, list[tuple[int, dict]]]:
    """(status, [(group tag, {name: value or [values]})]). Raises DeviceUnreachable."""
    body = struct.pack(">BBHI", 2, 0, op, next(_ids)) + bytes([_TAG_OPERATION])
    body += _attr(_CHARSET, "attributes-charset", "utf-8") + _attr(_LANGUAGE, "attributes-natural-language", "en")
    body += _attr(_URI, "printer-uri", uri) + extra + bytes([_TAG_END])
    parts = urlsplit(uri)
    secure = parts.scheme == "ipps"
    port = parts.port or 631
    if secure:  # printers have self-signed certificates; only their state is read
        ctx = ssl.create_default_context()
        ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
        conn = http.client.HTTPSConnection(parts.hostname, port, timeout=timeout, context=ctx)
    else:
        conn = http.client.HTTPConnection(parts.hostname, port, timeout=timeout)
    try:
        conn.request("POST", parts.path or "/", body, {"Content-Type": "application/ipp"})
        resp = conn.getresponse()
        data = resp.read()
    except (OSError, http.client.HTTPException) as exc:
        raise DeviceUnreachable(str(exc) or type(exc).__name__) from exc
    finally:
        conn.close()
    if resp.status != 200 or len(data) < 8:
        raise DeviceUnreachable(f"HTTP {resp.status}")
    return struct.unpack(">H", data[2:4])[0], _parse(data[8:])


def _parse(data: bytes) -> list[tuple[int, dict]]:
    groups: list[tuple[int, dict]] = []
    i, name = 0, ""
    while i < len(data):
        tag = data[i]
        i += 1
        if tag == _TAG_END:
            break
        if tag < 0x10:
            groups.append((tag, {}))
            continue
        nlen = struct.unpack(">H", data[i:i + 2])[0]
        key = data[i + 2:i + 2 + nlen].decode(errors="replace")
        i += 2 + nlen
        vlen = struct.unpack(">H", data[i:i + 2])[0]
        raw = data[i + 2:i + 2 + vlen]
        i += 2 + vlen
        if tag in (_INTEGER, _ENUM) and vlen == 4:
            value = struct.unpack(">i", raw)[0]
        elif tag == _BOOLEAN:
            value = bool(raw and raw[0])
        else:
            value = raw.decode(errors="replace")
        if not groups:
            continue
        attrs = groups[-1][1]
        if key:
            name = key
            attrs[name] = value
        elif name in attrs:  # another value of the same attribute
            old = attrs[name]
            attrs[name] = [*old, value] if isinstance(old, list) else [old, value]
    return groups


def printer_status(uri: str, timeout: float = 3.0) -> dict:
    """printer-state, printer-state-reasons (a list), printer-state-message and printer-up-time (seconds
    since it was switched on), as the device says them."""
    extra = _attr(_KEYWORD, "requested-attributes",
                  ["printer-state", "printer-state-reasons", "printer-state-message", "printer-up-time"])
    status, groups = _request(uri, GET_PRINTER_ATTRIBUTES, extra, timeout)
    attrs = next((a for tag, a in groups if tag == _TAG_PRINTER), {})
    if status >= 0x0400 and not attrs:
        raise DeviceUnreachable(f"IPP status 0x{status:04x}")
    reasons = attrs.get("printer-state-reasons", [])
    attrs["printer-state-reasons"] = reasons if isinstance(reasons, list) else [reasons]
    return attrs


_COMPLETED = 9  # job-state "completed" (RFC 8011 §5.3.7)
_JOB_ATTRS = ["job-id", "job-name", "job-state", "job-impressions-completed", "job-media-sheets-completed"]


def _jobs(uri: str, which: str, timeout: float, limit: int) -> list[dict] | None:
    extra = _attr(_KEYWORD, "which-jobs", which) + _attr(_INTEGER, "limit", limit)
    extra += _attr(_KEYWORD, "requested-attributes", _JOB_ATTRS)
    status, groups = _request(uri, GET_JOBS, extra, timeout)
    if status >= 0x0400:
        return None
    return [a for tag, a in groups if tag == _TAG_JOB]


def completed_jobs(uri: str, timeout: float = 3.0, limit: int = 200) -> list[dict] | None:
    """The device's own history of completed jobs (job-name, job-state, job-impressions-completed,
    job-media-sheets-completed); None when it will not tell (Get-Jobs refused)."""
    return _jobs(uri, "completed", timeout, limit)


def find_job(uri: str, needle: str, timeout: float = 3.0, limit: int = 200) -> dict | None | bool:
    """The device's record of the job whose name contains `needle`, whether it is still in the printer or
    done; None when it has no such job; False when it will not tell (Get-Jobs refused both times)."""
    told = False
    for which in ("not-completed", "completed"):
        jobs = _jobs(uri, which, timeout, limit)
        if jobs is None:
            continue
        told = True
        job = pick(jobs, needle)
        if job is not None:
            return job
    return None if told else False


def pick(jobs: list[dict], needle: str) -> dict | None:
    """The record of the job whose name contains `needle`: a copy that came out outweighs one cancelled
    before it (CUPS may send a job twice); None when there is none."""
    mine = [j for j in jobs if needle in str(j.get("job-name", ""))]
    return next((j for j in mine if j.get("job-state") == _COMPLETED), mine[0] if mine else None)
