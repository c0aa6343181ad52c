"""The outbox against a real server process that is killed and restarted: every report arrives exactly
once (checked in the server's audit trail), in order per job, across app restarts."""

from __future__ import annotations

import sqlite3
import time

from shopdesk.client.api import ShopClient
from shopdesk.client.outbox import Outbox
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


def test_outbox_survives_a_server_kill_and_delivers_each_report_once(tmp_path):
    server = ServerProcess(tmp_path / "srv").start()
    try:
        shop = make_shop(server)
        client, jobs = _printing_jobs(shop, 3)
        client.retries = 0
        states = []
        outbox = Outbox(tmp_path / "outbox.db", client, on_change=states.append)
        server.kill()
        outbox.add("confirm", jobs[0]["file_id"], {"printer": "Front", "counter": "Counter 1"})
        outbox.add("print-failed", jobs[1]["file_id"], {"reason": "Printer 'Front' is out of paper"})
        outbox.add("confirm", jobs[2]["file_id"], {})
        outbox.start()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not outbox.state()["last_error"]:
            time.sleep(0.05)
        st = outbox.state()
        assert st["pending"] == 3 and "Cannot reach" in st["last_error"]
        server.start()
        assert outbox.wait_until_empty(20)
        outbox.close()
    finally:
        server.stop()
    server.start()
    try:
        assert _moves(shop, jobs[0]["code"]) == ["print-started", "confirm"]
        assert _moves(shop, jobs[1]["code"]) == ["print-started", "print-failed"]
        assert _moves(shop, jobs[2]["code"]) == ["print-started", "confirm"]
        audit = shop.get(f"/file/{jobs[1]['code']}/audit").json()
        assert audit[-1]["reason"] == "Printer 'Front' is out of paper"
        assert states[-1]["pending"] == 0
    finally:
        server.stop()


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
