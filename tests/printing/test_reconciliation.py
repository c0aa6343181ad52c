"""The owner's end of day from a day made through the real print path (private cupsd, the product's own
client wiring): what the report says was sent matches CUPS's page log, and what went wrong is listed with
each job's code."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from shopdesk.printing.pipeline import Result
from tests.helpers.pdfs import pdf_bytes
from tests.helpers.wait import wait_until

TZ = "Asia/Kolkata"


def _page_log(cupsd) -> dict[int, int]:
    """CUPS job id → pages CUPS logged for it (PageLogFormat's default: "... total N ...")."""
    out: dict[int, int] = {}
    path = cupsd.dir / "logs" / "page_log"
    for line in path.read_text().splitlines() if path.exists() else []:
        m = re.match(r"^\S+ \S+ (\d+) \[[^\]]+\] total (\d+) ", line)
        if m:
            out[int(m.group(1))] = int(m.group(2))
    return out


def test_a_day_through_the_real_print_path_adds_up_with_the_cups_page_log(rig, cupsd, printer):
    shop = rig.shop
    broken = printer("dead", "ReconDead")
    a = rig.job(pdf_bytes(3), name="thesis.pdf", copies=2)  # 6 pages, printed first time
    b = rig.job(pdf_bytes(2), name="cv.pdf")  # fails on a dead printer, then reprinted
    c = rig.job(pdf_bytes(1), name="byhand.pdf")  # confirmed by hand, no print record
    d = rig.job(pdf_bytes(4), name="stuck.pdf")  # started, never confirmed
    e = rig.job(pdf_bytes(1), name="gone.pdf")  # cancelled: refunded

    printed_a = rig.pipeline.print_job(a, "Front")
    assert printed_a.result is Result.PRINTED, printed_a.message
    failed_b = rig.pipeline.print_job(b, broken)
    assert failed_b.result is Result.FAILED
    rig.outbox.deliver()
    printed_b = rig.pipeline.print_job(b, "Front")
    assert printed_b.result is Result.PRINTED, printed_b.message
    rig.outbox.deliver()
    assert printed_a.impressions == 6 and printed_a.sheets == 6 and printed_b.sheets == 2
    assert shop.post(f"/file/{c['code']}/confirm", json={"counter": "Counter 2"}).status_code == 200
    assert shop.post(f"/queue/{d['file_id']}/print-started", json={"printer": "Front", "counter": "Counter 2"}
                     ).status_code == 200
    assert shop.post(f"/queue/{e['file_id']}/cancel", json={"reason": "customer left"}).status_code == 200
    day = datetime.now(ZoneInfo(TZ)).date().isoformat()

    r = shop.get(f"/shop/reconciliation?date={day}&tz={TZ}", who="owner")
    assert r.status_code == 200, r.text
    rep = r.json(parse_float=Decimal)
    assert rep["date"] == day and rep["tz"] == TZ

    # what was sent matches what CUPS logged for the jobs that came out
    logged = wait_until(lambda: (lambda log: log if {printed_a.cups_job_id, printed_b.cups_job_id} <= set(log)
                                 else None)(_page_log(cupsd)), timeout=15, what="the page log")
    cups_pages = logged[printed_a.cups_job_id] + logged[printed_b.cups_job_id]
    totals = rep["totals"]
    assert totals["impressions"] == cups_pages == 8
    assert totals["sheets"] == 8 and totals["jobs_printed"] == 3  # a, b and c (by hand: no record)
    assert totals["pages_charged"] == 6 + 2 + 1
    assert totals["earned"] == Decimal("9.00") and totals["refunds"] == Decimal("1.00")
    counters = {row["counter"]: row for row in rep["counters"]}
    assert counters["Counter 1"]["jobs_printed"] == 2 and counters["Counter 1"]["impressions"] == cups_pages
    assert counters["Counter 2"]["jobs_printed"] == 1 and counters["Counter 2"]["impressions"] == 0
    assert counters[None]["refunds"] == Decimal("1.00")
    printers = {row["printer"]: row for row in rep["printers"]}
    assert printers["Front"]["impressions"] == cups_pages and printers["Front"]["earned"] == Decimal("8.00")

    found = {(i["kind"], i["code"]) for i in rep["discrepancies"]}
    assert found == {("failed_attempt", b["code"]), ("reprint", b["code"]),
                     ("confirmed_without_print_record", c["code"]), ("printed_without_confirm", d["code"])}
    failed = next(i for i in rep["discrepancies"] if i["kind"] == "failed_attempt")
    assert "ReconDead" in failed["detail"] and failed["printer"] == "ReconDead"

    # the same as CSV
    r = shop.get(f"/shop/reconciliation?date={day}&tz={TZ}", who="owner", headers={"Accept": "text/csv"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    total = next(x for x in rows if x["section"] == "total")
    assert total["impressions"] == str(cups_pages) and total["earned"] == "9.00"
    assert {(x["kind"], x["code"]) for x in rows if x["section"] == "discrepancy"} == found


def test_a_day_without_data_is_an_empty_report_and_bad_input_is_refused(shop):
    r = shop.get("/shop/reconciliation?date=2001-02-03&tz=Europe/Berlin", who="owner")
    assert r.status_code == 200, r.text
    rep = r.json()
    assert rep["counters"] == [] and rep["printers"] == [] and rep["discrepancies"] == []
    assert rep["totals"]["jobs_printed"] == 0 and rep["from"] == "2001-02-02T23:00:00Z"
    assert rep["to"] == "2001-02-03T23:00:00Z"
    # a clock change: the local day of 2026-03-29 in Berlin is 23 hours long
    rep = shop.get("/shop/reconciliation?date=2026-03-29&tz=Europe/Berlin", who="owner").json()
    assert (rep["from"], rep["to"]) == ("2026-03-28T23:00:00Z", "2026-03-29T22:00:00Z")
    assert shop.get("/shop/reconciliation?date=2001-02-03", who="owner").json()["tz"]  # the server's zone
    for bad in ("date=2001-02-30", "date=yesterday", "date=2001-02-03&tz=Mars/Olympus", ""):
        r = shop.get(f"/shop/reconciliation?{bad}", who="owner")
        assert r.status_code == 400 and r.json()["error"], (bad, r.text)
    assert shop.get("/shop/reconciliation?date=2001-02-03", who="staff").status_code == 403
