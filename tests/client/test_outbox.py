"""The outbox against a real server process that is killed (SIGKILL) mid-delivery and restarted: every
report arrives exactly once (checked in the server's audit trail), in order per job, across app restarts;
and the ClientReporter the print pipeline uses on top of it."""

from __future__ import annotations

import inspect
import sqlite3
import threading
import time

import pytest

from shopdesk.client.api import ShopClient
from shopdesk.client.downloads import DownloadCache
from shopdesk.client.errors import ConflictError, OfflineError
from shopdesk.client.outbox import Outbox
from shopdesk.client.reporter import ClientReporter
from tests.helpers.pdfs import pdf_bytes
from tests.helpers.server import ServerProcess, make_shop


def _printing_jobs(shop, n):
    c = ShopClient(shop.url)
    c.login(*shop.staff)
    jobs = []
    for i in range(n):
        f = shop.upload(pdf_bytes(1), name=f"job{i}.pdf")["files"][0]
        c.print_started(f["file_id"], printer="Front", counter="Counter 1")
        jobs.append(f)
    return c, jobs


def _moves(shop, code):
    return [a["move"] for a in shop.get(f"/file/{code}/audit").json()]


def test_outbox_replay_after_a_lost_acknowledgement_changes_nothing_twice(shop, tmp_path):
    client, [job] = _printing_jobs(shop, 1)
    outbox = Outbox(tmp_path / "o.db", client)
    key = outbox.add("confirm", job["file_id"], {})
    assert outbox.deliver() == 0
    # the app died after the server committed but before it marked the report sent:
    con = sqlite3.connect(tmp_path / "o.db")
    con.execute("UPDATE reports SET state='pending' WHERE idempotency_key=?", (key,))
    con.commit()
    con.close()
    assert outbox.deliver() == 0 and outbox.state()["rejected"] == 0
    assert _moves(shop, job["code"]) == ["print-started", "confirm"]
    audit = shop.get(f"/file/{job['code']}/audit").json()
    assert audit[-1]["idempotency_key"] == key
    outbox.close()


def test_outbox_app_restart_with_pending_reports_delivers_them(shop, tmp_path):
    client, jobs = _printing_jobs(shop, 2)
    offline = ShopClient("http://127.0.0.1:9", retries=0)  # the network is down when the app quits
    first = Outbox(tmp_path / "o.db", offline)
    first.add("print-failed", jobs[0]["file_id"], {"reason": "paper jam"})
    first.add("confirm", jobs[1]["file_id"], {})
    assert first.deliver() == 2
    first.close()
    again = Outbox(tmp_path / "o.db", client)  # the app starts again, online
    assert [r.kind for r in again.pending()] == ["print-failed", "confirm"]
    again.start()
    assert again.wait_until_empty(10)
    again.close()
    assert _moves(shop, jobs[0]["code"]) == ["print-started", "print-failed"]
    assert _moves(shop, jobs[1]["code"]) == ["print-started", "confirm"]


def test_outbox_delivers_in_order_per_job_and_keeps_refusals_visible(shop, tmp_path):
    client, [job] = _printing_jobs(shop, 1)
    outbox = Outbox(tmp_path / "o.db", client)
    outbox.add("print-failed", job["file_id"], {"reason": "toner low"})
    outbox.add("confirm", job["file_id"], {})  # printed by hand after the failure
    outbox.add("print-failed", job["file_id"], {"reason": "late duplicate"})  # now illegal: 409
    assert outbox.deliver() == 0
    assert _moves(shop, job["code"]) == ["print-started", "print-failed", "confirm"]
    [rej] = outbox.rejected()
    assert rej["kind"] == "print-failed" and "already printed" in rej["error"]
    assert outbox.state()["rejected"] == 1
    outbox.close()


def test_outbox_server_killed_mid_delivery_every_report_arrives_exactly_once(tmp_path):
    server = ServerProcess(tmp_path / "srv").start()
    try:
        shop = make_shop(server)
        client, jobs = _printing_jobs(shop, 16)
        client.retries = 0
        killed, states = [], []
        few_sent = threading.Event()

        def on_change(state):
            states.append(state)
            if state["pending"] <= len(jobs) - 3:  # a few acknowledged, the rest on the way
                few_sent.set()

        def killer():  # from another thread, so the kill lands while a report is on the wire
            if few_sent.wait(10):
                server.kill()
                killed.append(True)

        threading.Thread(target=killer, daemon=True).start()
        outbox = Outbox(tmp_path / "outbox.db", client, on_change=on_change)
        for i, job in enumerate(jobs):
            if i % 4 == 3:
                outbox.add("print-failed", job["file_id"], {"reason": f"Printer 'Front' jammed ({i})"})
            outbox.add("confirm", job["file_id"], {"counter": "Counter 1"})
        outbox.start()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not (killed and outbox.state()["last_error"]):
            time.sleep(0.02)
        assert killed and 0 < outbox.state()["pending"] and "Cannot reach" in outbox.state()["last_error"]
        server.start()
        assert outbox.wait_until_empty(30), outbox.state()
        assert outbox.rejected() == []  # a replayed key got its first answer back, not a 409
        assert states[-1]["pending"] == 0 and states[-1]["last_error"] is None
        outbox.close()
        for i, job in enumerate(jobs):
            audit = shop.get(f"/file/{job['code']}/audit").json()
            want = ["print-started", "print-failed", "confirm"] if i % 4 == 3 else ["print-started", "confirm"]
            assert [a["move"] for a in audit] == want, (i, audit)
            if i % 4 == 3:
                assert audit[1]["reason"] == f"Printer 'Front' jammed ({i})"
    finally:
        server.stop()


def test_outbox_cancel_is_durable_and_refusals_can_be_dismissed(shop, tmp_path):
    first = shop.upload(pdf_bytes(1))["files"][0]
    client = ShopClient(shop.url)
    client.login(*shop.staff)
    outbox = Outbox(tmp_path / "o.db", client)
    outbox.add("cancel", first["file_id"], {"reason": "The customer left"})
    outbox.add("cancel", first["file_id"], {"reason": "pressed twice"})
    assert outbox.deliver() == 0
    status = shop.get(f"/file/{first['code']}").json()["status"]
    assert status == "cancelled"
    [rej] = outbox.rejected()
    assert rej["kind"] == "cancel" and rej["error"]
    assert outbox.dismiss_rejected() == 1 and outbox.state()["rejected"] == 0 and outbox.rejected() == []
    # acknowledged rows are a local record for a while, then pruned on open
    con = sqlite3.connect(tmp_path / "o.db")
    con.execute("UPDATE reports SET sent_at='2000-01-01T00:00:00+00:00'")
    con.commit()
    con.close()
    outbox.close()
    again = Outbox(tmp_path / "o.db", client)
    assert again._conn.execute("SELECT COUNT(*) FROM reports").fetchone()[0] == 0
    again.close()


def test_outbox_state_for_the_ui_counts_and_dates_what_waits(tmp_path):
    offline = ShopClient("http://127.0.0.1:9", retries=0)
    outbox = Outbox(tmp_path / "o.db", offline)
    assert outbox.state() == {"pending": 0, "oldest": None, "last_error": None, "rejected": 0,
                              "needs_login": False}
    outbox.add("confirm", 1, {})
    outbox.add("print-failed", 2, {"reason": "r"})
    with pytest.raises(ValueError):
        outbox.add("print-started", 3, {})  # must be acknowledged synchronously, never queued
    assert outbox.deliver() == 2
    st = outbox.state()
    assert st["pending"] == 2 and st["oldest"].startswith("20") and "Cannot reach" in st["last_error"]
    keys = [r.idempotency_key for r in outbox.pending()]
    assert outbox.deliver() == 2 and [r.idempotency_key for r in outbox.pending()] == keys  # fixed at insert
    assert [r.attempts for r in outbox.pending()] == [2, 0]  # offline: the first failure ends the round
    outbox.close()


def test_reporter_matches_the_job_reporter_protocol_exactly():
    from shopdesk.printing.reporting import JobReporter

    for name in ("print_started", "is_transient", "print_failed", "confirm", "fetch"):
        assert inspect.signature(getattr(ClientReporter, name)) == inspect.signature(getattr(JobReporter, name))


def test_reporter_print_started_waits_for_an_earlier_report_of_the_same_job(shop, tmp_path):
    client, [job] = _printing_jobs(shop, 1)
    fid = job["file_id"]
    outbox = Outbox(tmp_path / "o.db", ShopClient("http://127.0.0.1:9", retries=0))  # offline for now
    reporter = ClientReporter(client, outbox, DownloadCache(tmp_path / "cache", client), counter="Counter 1")
    reporter.print_failed(fid, "Printer 'Front' is out of paper")
    with pytest.raises(OfflineError, match="earlier report for this job"):
        reporter.print_started(fid, printer="Back", counter="Counter 1", key="k1")
    assert _moves(shop, job["code"]) == ["print-started"]  # nothing was started twice
    outbox.client = client  # the network is back
    reporter.print_started(fid, printer="Back", counter="Counter 1", key="k2")
    reporter.confirm(fid)
    assert outbox.deliver() == 0
    audit = shop.get(f"/file/{job['code']}/audit").json()
    assert [a["move"] for a in audit] == ["print-started", "print-failed", "print-started", "confirm"]
    assert audit[1]["counter"] == "Counter 1"  # the print-failed names its counter
    assert audit[-1]["printer"] == "Back" and audit[-1]["counter"] == "Counter 1"
    with pytest.raises(ConflictError):
        reporter.print_started(fid, printer="Back", counter="Counter 1", key="k3")  # printed: a 409, said as such
    outbox.close()
