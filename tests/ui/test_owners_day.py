"""Shop → End of day… and Shop → Connections… on the real widgets against the real server, the private
cupsd and a real webhook receiver."""

from __future__ import annotations

import csv
import os
import subprocess
import time
from datetime import datetime

from shopdesk.ui.connections import ConnectionsDialog
from shopdesk.ui.endofday import EndOfDayDialog, local_zone
from tests.helpers.pdfs import pdf_bytes
from tests.helpers.receiver import Receiver, verify
from tests.helpers.wait import wait_until

SHOTS = os.environ.get("SHOPDESK_SHOTS_DIR")  # set to keep the dialog's picture and the printed PDF's


def _a_day(shop) -> dict:
    a = shop.upload(pdf_bytes(3), name="thesis.pdf", copies=2)["files"][0]
    b = shop.upload(pdf_bytes(1), name="flyer.pdf")["files"][0]
    assert shop.post(f"/queue/{a['file_id']}/print-started", json={"printer": "Front", "counter": "Counter 1"}
                     ).status_code == 200
    assert shop.post(f"/queue/{a['file_id']}/confirm", json={"impressions": 6, "sheets": 6}).status_code == 200
    assert shop.post(f"/queue/{b['file_id']}/print-started", json={"printer": "Front", "counter": "Counter 1"}
                     ).status_code == 200
    assert shop.post(f"/queue/{b['file_id']}/print-failed", json={"reason": "Paper jam in tray 2"}).status_code == 200
    return {"a": a, "b": b}


def test_end_of_day_shows_the_day_prints_it_and_exports_csv(counter, qtbot, tmp_path, cupsd):
    window, service, shop = counter
    assert window.act_end_of_day.isVisible() and window.act_connections.isVisible()
    made = _a_day(shop)
    dlg = EndOfDayDialog(service, window)
    qtbot.addWidget(dlg)
    dlg.show()
    qtbot.waitUntil(lambda: dlg.report is not None, timeout=10_000)
    assert dlg.report["tz"] == (local_zone() or dlg.report["tz"])
    assert "1 job printed" in dlg.totals.text() and "6</b> impressions" in dlg.totals.text() and "earned <b>6.00" in dlg.totals.text()
    assert dlg.counters.rowCount() == 1 and dlg.counters.item(0, 0).text() == "Counter 1"
    assert dlg.printers.item(0, 0).text() == "Front" and dlg.printers.item(0, 3).text() == "6"
    kinds = {(dlg.issues.item(r, 1).text(), dlg.issues.item(r, 2).text()) for r in range(dlg.issues.rowCount())}
    assert kinds == {(made["b"]["code"], "Failed attempt")}
    if SHOTS:
        dlg.grab().save(os.path.join(SHOTS, "end-of-day.png"))

    # CSV, written off the main thread
    path = tmp_path / "day.csv"
    dlg.export_csv(str(path))
    qtbot.waitUntil(lambda: dlg.status.text().startswith("Saved"), timeout=10_000)
    rows = list(csv.DictReader(path.read_text(encoding="utf-8").splitlines()))
    assert next(r for r in rows if r["section"] == "total")["impressions"] == "6"

    # printed as one page through the counter's printer
    out = cupsd.out / "Front.pdf"
    before = out.stat().st_mtime if out.exists() else 0
    dlg.printer.setCurrentText("Front")
    dlg.print_btn.click()
    qtbot.waitUntil(lambda: "was sent to 'Front'" in dlg.status.text(), timeout=15_000)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not (out.exists() and out.stat().st_mtime > before and out.stat().st_size):
        time.sleep(0.2)
    text = subprocess.run(["pdftotext", "-layout", str(out), "-"], capture_output=True, text=True, check=True).stdout
    assert "End of day" in text and made["b"]["code"] in text and "Paper jam" in text
    assert text.count("\f") <= 1  # one page
    if SHOTS:
        subprocess.run(["pdftoppm", "-png", "-r", "60", "-singlefile", str(out), os.path.join(SHOTS, "end-of-day-pdf")],
                       check=True)
    # another day: nothing, not an error
    dlg.day.setDate(dlg.day.date().addDays(-400))
    qtbot.waitUntil(lambda: dlg.report is not None and dlg.report["date"] != datetime.now().date().isoformat(),
                    timeout=10_000)
    assert "nothing this day" in dlg.totals.text() and dlg.issues.rowCount() == 0


def test_connections_add_one_show_its_deliveries_and_delete_it(counter, qtbot):
    window, service, shop = counter
    receiver = Receiver().start()
    try:
        dlg = ConnectionsDialog(service.tasks, service.client, window)
        qtbot.addWidget(dlg)
        dlg.show()
        dlg.url.setText("ftp://nowhere")
        dlg.add_btn.click()
        assert "https://" in dlg.status.text()
        dlg.url.setText(shop.url + "/hook")  # this server itself: the server refuses, in words
        dlg.add_btn.click()
        qtbot.waitUntil(lambda: "Not added" in dlg.status.text(), timeout=10_000)
        assert "this server itself" in dlg.status.text()
        dlg.url.setText(receiver.url)
        dlg.events["job.uploaded"].setChecked(True)
        dlg.add_btn.click()
        qtbot.waitUntil(lambda: dlg.secret.isVisible() and dlg.table.rowCount() == 1, timeout=10_000)
        secret = dlg.secret.text()
        assert secret.startswith("whsec_") and "shown only this once" in dlg.status.text()
        up = shop.upload(pdf_bytes(1))["files"][0]
        qtbot.waitUntil(lambda: bool(receiver.events()), timeout=10_000)
        req = receiver.requests[0]
        assert verify(secret, req["headers"]["Shopdesk-Signature"], req["body"])
        assert req["json"]["data"]["code"] == up["code"]
        # the receiver has the event a moment before the server's sender records it as delivered
        wait_until(lambda: (shop.get("/shop/webhooks", who="owner").json()[0]["last_delivery"] or {})
                   .get("status") == "delivered", timeout=10, what="the delivery recorded")
        dlg.refresh()
        qtbot.waitUntil(lambda: dlg.table.item(0, 2) is not None and dlg.table.item(0, 2).text().startswith("delivered"),
                        timeout=10_000)
        if SHOTS:
            dlg.grab().save(os.path.join(SHOTS, "connections.png"))
        dlg.table.selectRow(0)
        qtbot.waitUntil(lambda: dlg.deliveries.rowCount() == 1, timeout=10_000)
        assert dlg.deliveries.item(0, 1).text() == "job.uploaded" and dlg.deliveries.item(0, 2).text() == "delivered"
        dlg.delete_selected(ask=False)
        qtbot.waitUntil(lambda: dlg.table.rowCount() == 0, timeout=10_000)
        assert shop.get("/shop/webhooks", who="owner").json() == []
    finally:
        receiver.stop()
