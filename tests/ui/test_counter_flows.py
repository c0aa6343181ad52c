"""Every counter flow through the real window: queue, print, conflicts, cancel, open/closed, codes,
history, payouts — against a real server and a private cupsd."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt

from shopdesk.ui.queue_model import COL
from tests.helpers.pdfs import pdf_bytes


def _moves(shop, code):
    return [a["move"] for a in shop.get(f"/file/{code}/audit").json()]


def test_a_new_upload_appears_at_once_and_is_announced(counter, qtbot):
    window, service, shop = counter
    assert window.model.rowCount() == 0 and window.empty.isVisible()
    up = shop.upload(pdf_bytes(2), name="menu.pdf", customer_name="Kiran")
    qtbot.waitUntil(lambda: window.model.rowCount() == 1, timeout=5000)
    assert window.model.data(window.model.index(0, COL["Code"])) == up["files"][0]["code"]
    assert "new" in service.sounds.played
    assert not window.empty.isVisible()


def test_printing_a_job_from_the_window_reaches_cups_and_the_server(counter, qtbot):
    window, service, shop = counter
    f = shop.upload(pdf_bytes(3), name="thesis.pdf", copies=2, print_mode="double")["files"][0]
    qtbot.waitUntil(lambda: window.model.rowCount() == 1, timeout=5000)
    window.table.selectRow(0)
    job = window.selected_job()
    stages = []
    service.job_progress.connect(lambda fid, stage, words, frac: stages.append(stage))
    with qtbot.waitSignal(service.job_finished, timeout=30_000) as sig:
        service.print_job(job, "Front")
    file_id, ok, text = sig.args
    assert ok and file_id == f["file_id"] and "Printed on 'Front'" in text
    assert {"starting", "downloading", "sent"} <= set(stages)
    assert service.outbox.wait_until_empty(10)
    assert _moves(shop, f["code"]) == ["print-started", "confirm"]
    qtbot.waitUntil(lambda: window.model.rowCount() == 0, timeout=5000)  # printed jobs leave the queue


def test_a_409_from_another_counter_is_shown_as_such(counter, qtbot):
    window, service, shop = counter
    f = shop.upload(pdf_bytes(1))["files"][0]
    qtbot.waitUntil(lambda: window.model.rowCount() == 1, timeout=5000)
    job = window.model.job_at(0)
    shop.post(f"/queue/{f['file_id']}/print-started", who="staff2", json={"counter": "Counter 2"})
    with qtbot.waitSignal(service.job_finished, timeout=10_000) as sig:
        service.print_job(job, "Front")
    _fid, ok, text = sig.args
    assert not ok and "Another counter has this job" in text and "Counter 2" in text


def test_the_print_dialog_refuses_what_the_printer_cannot_do_and_offers_another(counter, qtbot):
    window, service, shop = counter
    shop.upload(pdf_bytes(1), name="poster.pdf", paper_size="A3")
    qtbot.waitUntil(lambda: window.model.rowCount() == 1, timeout=5000)
    from shopdesk.ui.printdialog import PrintDialog

    job, order = window.model.job_at(0), window.model.order_at(0)
    dlg = PrintDialog([job], order, service.printers(), "Front", window)
    qtbot.addWidget(dlg)
    dlg.show()
    assert not dlg.ok.isEnabled() and "cannot print A3 paper" in dlg.problem.text()
    assert dlg.alternative.isVisible() and dlg.alternative.text() == "Use 'Wide' instead"
    dlg.alternative.click()
    assert dlg.printer_name == "Wide" and dlg.ok.isEnabled()
    dlg.pages.setText("1-5")
    assert not dlg.ok.isEnabled() and "outside the document's 1 pages" in dlg.problem.text()
    # routing picks the A3 printer on its own
    assert service.route(job) == "Wide"


def test_cancel_an_order_with_a_reason(counter, qtbot):
    window, service, shop = counter
    r = shop.upload_response(("a.pdf", pdf_bytes(1)), ("b.pdf", pdf_bytes(1)))
    qtbot.waitUntil(lambda: window.model.rowCount() == 2, timeout=5000)
    service.cancel_order(window.model.job_at(0), "Printer out of order. Please try another shop.")
    qtbot.waitUntil(lambda: window.model.rowCount() == 0, timeout=10_000)
    status = shop.get(f"/file/{r.json()['files'][1]['code']}").json()
    assert status["status"] == "cancelled" and status["cancel_reason"].startswith("Printer out of order")
    assert "cancelled" in service.sounds.played


def test_owner_toggles_open_and_the_button_says_so(counter, qtbot):
    window, service, shop = counter
    qtbot.waitUntil(lambda: window.open_btn.text() == "● OPEN", timeout=5000)
    with qtbot.waitSignal(service.shop_changed, timeout=5000):
        qtbot.mouseClick(window.open_btn, Qt.MouseButton.LeftButton)
    assert window.open_btn.text() == "○ CLOSED"
    assert shop.get("/shop").json()["is_open"] is False


def test_typed_or_scanned_code_opens_the_job_and_unknown_codes_say_so(counter, qtbot):
    window, service, shop = counter
    a = shop.upload(pdf_bytes(1), name="first.pdf")["files"][0]
    b = shop.upload(pdf_bytes(1), name="second.pdf")["files"][0]
    qtbot.waitUntil(lambda: window.model.rowCount() == 2, timeout=5000)
    with qtbot.waitSignal(service.job_opened, timeout=5000):
        service.open_code(f"https://shop.example/j/{b['code']}")
    assert window.selected_job()["code"] == b["code"]
    assert service.sounds.played[-1] == "found"
    with qtbot.waitSignal(service.message, timeout=5000) as sig:
        service.open_code("ZZZZZ1")
    assert sig.args[0] == "Unknown code" and "No job with code ZZZZZ1" in sig.args[1]
    assert service.sounds.played[-1] == "unknown"
    shop.post(f"/queue/{a['file_id']}/confirm")
    qtbot.waitUntil(lambda: window.model.rowCount() == 1, timeout=5000)
    with qtbot.waitSignal(service.message, timeout=5000) as sig:
        service.open_code(a["code"])
    assert "was already printed" in sig.args[1] and service.sounds.played[-1] == "printed"


def test_history_and_payouts_windows_show_the_servers_numbers(counter, qtbot, tmp_path):
    window, service, shop = counter
    f = shop.upload(pdf_bytes(4), name="report.pdf", customer_name="Leela")["files"][0]
    shop.post(f"/queue/{f['file_id']}/confirm")
    from shopdesk.ui.history import HistoryDialog
    from shopdesk.ui.payouts import PayoutsDialog

    hist = HistoryDialog(service.tasks, lambda p: service.client.history(**p), window)
    qtbot.addWidget(hist)
    qtbot.waitUntil(lambda: hist.table.rowCount() == 1, timeout=5000)
    assert hist.table.item(0, 2).text() == f["code"] and hist.table.item(0, 3).text() == "Leela"
    assert hist.summary.text() == "1–1 of 1 finished job"
    pay = PayoutsDialog(service.tasks, lambda g: (service.client.payouts(), service.client.earnings(g)), window)
    qtbot.addWidget(pay)
    qtbot.waitUntil(lambda: "Not yet settled" in pay.totals.text(), timeout=5000)
    assert "4.00" in pay.totals.text()
    assert len(pay.chart.series()) == 1 and pay.chart.series()[0].barSets()[0].at(0) == 4.0
    path = pay.export_csv(str(tmp_path / "p.csv"))
    assert path and Path(path).read_text().startswith("payout_id,period_start")


def test_the_main_thread_only_draws_while_printing(counter, qtbot):
    """A print (CUPS + HTTP) and a queue refresh run while the main thread keeps its event loop
    responsive: the longest gap between timer ticks stays small."""
    import time

    from PySide6.QtCore import QTimer

    window, service, shop = counter
    for i in range(3):
        shop.upload(pdf_bytes(5), name=f"doc{i}.pdf")
    qtbot.waitUntil(lambda: window.model.rowCount() == 3, timeout=5000)
    gaps, last = [], [time.perf_counter()]

    def tick():
        now = time.perf_counter()
        gaps.append(now - last[0])
        last[0] = now

    timer = QTimer(interval=5)
    timer.timeout.connect(tick)
    timer.start()
    done = []
    service.job_finished.connect(lambda *a: done.append(a))
    for row in range(3):
        service.print_job(window.model.job_at(row), "Front")
    qtbot.waitUntil(lambda: len(done) == 3, timeout=60_000)
    timer.stop()
    assert all(ok for _f, ok, _t in done)
    assert max(gaps) < 0.25, f"main thread stalled {max(gaps) * 1000:.0f} ms"


def test_a_cover_sheet_with_the_qr_code_goes_first_when_asked(counter, qtbot, tmp_path):
    window, service, shop = counter
    service.settings.print_ticket_first = True
    f = shop.upload(pdf_bytes(2), name="notes.pdf", customer_name="Ravi")["files"][0]
    qtbot.waitUntil(lambda: window.model.rowCount() == 1, timeout=5000)
    with qtbot.waitSignal(service.job_finished, timeout=30_000) as sig:
        service.print_job(window.model.job_at(0), "Hot folder", customer="Ravi")
    assert sig.args[1], sig.args[2]
    import json

    tickets = sorted((tmp_path / "hot").glob("*.json"), key=lambda p: json.loads(p.read_text())["job_id"])
    kinds = [json.loads(t.read_text())["file"] for t in tickets]
    assert len(kinds) == 2 and "cover" in kinds[0] and kinds[1].endswith("notes.pdf")
    cover = tmp_path / "hot" / kinds[0]
    import subprocess

    text = subprocess.run(["pdftotext", str(cover), "-"], capture_output=True, text=True).stdout
    assert f["code"] in text and "Ravi" in text
    # its QR code opens the job's status page on a phone, and the counter's scanner reads the job from it
    import cv2

    from shopdesk.scanning.decode import decode_image

    subprocess.run(["pdftoppm", "-r", "100", "-png", "-singlefile", str(cover), str(tmp_path / "cover")], check=True)
    [found] = decode_image(cv2.imread(str(tmp_path / "cover.png")))
    assert found.text == f"{shop.url}/j/{f['code']}" and found.code == f["code"]


def test_a_refresh_that_leaves_the_selected_job_alone_leaves_its_panel_and_preview_alone(counter, qtbot, monkeypatch):
    window, service, shop = counter
    f = shop.upload(pdf_bytes(2), name="menu.pdf", customer_name="Kiran")["files"][0]
    qtbot.waitUntil(lambda: window.model.rowCount() == 1, timeout=5000)
    window.table.selectRow(0)
    previews, panels = [], []
    monkeypatch.setattr(service, "request_preview", lambda job: previews.append(job["code"]))
    shown = window.panel.show_job
    monkeypatch.setattr(window.panel, "show_job", lambda job, order: (panels.append(job), shown(job, order)))
    shop.upload(pdf_bytes(1), name="other.pdf")  # the queue changes, the selected job does not
    qtbot.waitUntil(lambda: window.model.rowCount() == 2, timeout=5000)
    assert previews == [] and panels == []
    # the selected job itself changes: the panel follows, the first page is the same file's
    shop.post(f"/queue/{f['file_id']}/print-started", who="staff2", json={"counter": "Counter 2"})
    qtbot.waitUntil(lambda: "Printing at Counter 2" in window.panel.details.text(), timeout=5000)
    assert previews == [] and len(panels) == 1 and not window.panel.print_btn.isEnabled()
    window.table.selectRow(1)  # another job: its first page
    assert previews == [window.model.job_at(1)["code"]]


def test_a_start_whose_answer_was_lost_is_settled_by_the_window_and_said(counter, qtbot):
    """The server took print-started but the counter never heard (the in-flight store holds the attempt
    as 'start-unknown'): the app settles it in the background and says so, and the job is back."""
    from shopdesk.printing.pipeline import LOST_START_WORDS, UNKNOWN_START

    window, service, shop = counter
    f = shop.upload(pdf_bytes(1), name="lost.pdf")["files"][0]
    qtbot.waitUntil(lambda: window.model.rowCount() == 1, timeout=5000)
    job = window.model.job_at(0)
    row = service.inflight.claim(job, "Front", "cups")
    service.inflight.update(job["file_id"], stage=UNKNOWN_START)
    # what reached the server before the answer was lost
    service.client.print_started(job["file_id"], printer="Front", counter="Counter 1", idempotency_key=row.start_key)
    qtbot.waitUntil(lambda: shop.get(f"/file/{f['code']}").json()["status"] == "printing", timeout=5000)
    with qtbot.waitSignal(service.job_finished, timeout=10_000) as sig:
        service.settle_starts()  # the app runs this every 10 s
    file_id, ok, text = sig.args
    assert file_id == f["file_id"] and not ok and LOST_START_WORDS in text
    assert service.outbox.wait_until_empty(10)
    assert _moves(shop, f["code"]) == ["print-started", "print-failed"]  # one start: the re-send was a replay
    assert shop.get(f"/file/{f['code']}").json()["status"] == "uploaded"
    assert service.inflight.all() == []
