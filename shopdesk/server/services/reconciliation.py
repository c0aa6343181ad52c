"""The owner's end of day: for one local day, per counter and per printer, what was printed, sent and
earned — from the audit trail, the ledger and what counters read from CUPS on confirm — and what does
not add up, each with its job code.

The day is the shop's local day: midnight to midnight in the time zone given (the app sends its own);
without one, the server's local zone (the embedded server runs on the counter's computer)."""

from __future__ import annotations

import csv
import io
import os
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ...domain.jobs import JobStatus, Move
from ...domain.money import to_decimal
from ..errors import BadRequest
from ..models import AuditEntry, Job, LedgerEntry
from .views import iso

NONE = ""  # a row for moves without a counter or printer (a refund, a job confirmed without one)


def server_zone() -> tuple[tzinfo, str]:
    """This machine's zone and its name: $TZ, else /etc/localtime's target, else the current offset."""
    name = os.environ.get("TZ", "").lstrip(":")
    if name:
        try:
            return ZoneInfo(name), name
        except (ZoneInfoNotFoundError, ValueError):
            pass
    try:
        target = str(Path("/etc/localtime").resolve())
        if "zoneinfo/" in target:
            name = target.split("zoneinfo/", 1)[1]
            return ZoneInfo(name), name
    except (OSError, ZoneInfoNotFoundError, ValueError):
        pass
    offset = datetime.now().astimezone().utcoffset() or timedelta(0)
    return timezone(offset), datetime.now().astimezone().tzname() or "UTC"


def zone(name: str | None) -> tuple[tzinfo, str]:
    if not name:
        return server_zone()
    try:
        return ZoneInfo(name), name
    except (ZoneInfoNotFoundError, ValueError):
        raise BadRequest(f"tz: unknown time zone '{name[:60]}'; give one like Africa/Nairobi") from None


def day_bounds(day: date, tz: tzinfo) -> tuple[datetime, datetime]:
    """The local day [start, end) in UTC (23 or 25 hours long on a clock change)."""
    start = datetime.combine(day, time(0), tz).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), tz).astimezone(UTC)
    return start, end


def _row() -> dict:
    return {"jobs_printed": 0, "sheets": 0, "impressions": 0, "pages_charged": 0, "earned": 0, "refunds": 0}


def _money(row: dict) -> dict:
    return {**row, "earned": to_decimal(row["earned"]), "refunds": to_decimal(row["refunds"])}


async def report(s: AsyncSession, shop_id: int, day: date, tz_name: str | None) -> dict:
    tz, tz_label = zone(tz_name)
    start, end = day_bounds(day, tz)
    moves = list((await s.scalars(select(AuditEntry).where(
        AuditEntry.shop_id == shop_id, AuditEntry.at >= start, AuditEntry.at < end).order_by(AuditEntry.id))).all())
    ledger = list((await s.scalars(select(LedgerEntry).where(
        LedgerEntry.shop_id == shop_id, LedgerEntry.file_id.isnot(None), LedgerEntry.kind.in_(("earning", "refund")),
        LedgerEntry.created_at >= start, LedgerEntry.created_at < end))).all())
    ids = {m.file_id for m in moves} | {e.file_id for e in ledger}
    jobs = {j.id: j for j in (await s.scalars(select(Job).where(Job.id.in_(ids)))).all()} if ids else {}
    # every print-started of these jobs, whenever it was (a job started yesterday and confirmed today)
    starts: dict[int, list[AuditEntry]] = defaultdict(list)
    if ids:
        for a in (await s.scalars(select(AuditEntry).where(AuditEntry.file_id.in_(ids),
                                                            AuditEntry.move == Move.PRINT_STARTED.value)
                                  .order_by(AuditEntry.id))).all():
            starts[a.file_id].append(a)
    earned = {e.file_id: e.amount_cents for e in ledger if e.kind == "earning"}
    by_counter: dict[str, dict] = defaultdict(_row)
    by_printer: dict[str, dict] = defaultdict(_row)
    totals = _row()
    issues: list[dict] = []

    def issue(kind: str, a: AuditEntry | None, job: Job, detail: str) -> None:
        issues.append({"kind": kind, "code": job.code, "file_id": job.id, "at": iso(a.at if a else job.updated_at),
                       "counter": (a.counter if a else job.counter) or None,
                       "printer": (a.printer if a else job.printer) or None, "detail": detail})

    for a in moves:
        job = jobs[a.file_id]
        if a.move == Move.CONFIRM.value:
            counter = a.counter or job.counter or NONE
            printer = a.printer or job.printer or NONE
            pages = job.num_pages * job.copies
            for row in (by_counter[counter], by_printer[printer], totals):
                row["jobs_printed"] += 1
                row["sheets"] += job.sheets or 0
                row["impressions"] += job.impressions or 0
                row["pages_charged"] += pages
                row["earned"] += earned.get(job.id, 0)
            if a.from_status == JobStatus.UPLOADED.value:
                issue("confirmed_without_print_record", a, job, "confirmed without being started at a counter "
                                                                "(printed by hand)")
            elif job.sheets is None and job.impressions is None:
                issue("confirmed_without_print_record", a, job, "the counter sent no count of what it printed")
            tries = len(starts[job.id])
            if tries > 1:
                issue("reprint", a, job, f"printed on attempt {tries}: {tries - 1} earlier attempt(s) did not "
                                         "come out")
        elif a.move == Move.PRINT_FAILED.value:
            issue("failed_attempt", _with_start(a, starts[job.id]), job, a.reason or "print failed")
        elif a.move == Move.REQUEUE.value:  # the counter went silent while printing: it may have come out
            a = _with_start(a, starts[job.id])
            issue("printed_without_confirm", a, job, "started printing, then the counter went silent; put back in "
                                                     "the queue (check whether it printed)")
        elif a.move == Move.PRINT_STARTED.value and job.status == JobStatus.PRINTING.value and \
                starts[job.id] and starts[job.id][-1].id == a.id:
            issue("printed_without_confirm", a, job, "started printing; not confirmed or failed (yet)")
    for e in ledger:
        if e.kind == "refund":
            for row in (by_counter[NONE], by_printer[NONE], totals):
                row["refunds"] += e.amount_cents
    order = {"failed_attempt": 0, "reprint": 1, "printed_without_confirm": 2, "confirmed_without_print_record": 3}
    issues.sort(key=lambda i: (i["at"] or "", order[i["kind"]]))
    return {
        "date": day.isoformat(), "tz": tz_label, "from": iso(start), "to": iso(end),
        "counters": [{"counter": k or None, **_money(v)} for k, v in sorted(by_counter.items())],
        "printers": [{"printer": k or None, **_money(v)} for k, v in sorted(by_printer.items())],
        "totals": _money(totals),
        "discrepancies": issues,
    }


def _with_start(a: AuditEntry, starts: list[AuditEntry]) -> AuditEntry:
    """A failure's entry with the counter and printer of the start it ends (a failure names neither)."""
    before = [x for x in starts if x.id < a.id]
    if not before:
        return a
    return AuditEntry(file_id=a.file_id, at=a.at, move=a.move, counter=a.counter or before[-1].counter,
                      printer=a.printer or before[-1].printer, reason=a.reason)


CSV_FIELDS = ["section", "counter", "printer", "jobs_printed", "sheets", "impressions", "pages_charged", "earned",
              "refunds", "kind", "code", "at", "detail"]


def as_csv(rep: dict) -> str:
    """The same report as CSV: one line per counter, per printer, the total, then each discrepancy."""
    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=CSV_FIELDS, extrasaction="ignore", lineterminator="\r\n")
    w.writeheader()
    for r in rep["counters"]:
        w.writerow({"section": "counter", **_cells(r), "printer": ""})
    for r in rep["printers"]:
        w.writerow({"section": "printer", **_cells(r), "counter": ""})
    w.writerow({"section": "total", **rep["totals"]})
    for d in rep["discrepancies"]:
        w.writerow({"section": "discrepancy", **_cells(d)})
    return out.getvalue()


def _cells(row: dict) -> dict:
    return {k: _safe(v) for k, v in row.items()}


def _safe(value):
    """A cell a spreadsheet will not run as a formula."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
