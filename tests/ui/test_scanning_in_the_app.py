"""Scanning inside the app: a video source through the real capture code opens the job; a USB scanner's
burst of keys opens it too, a person typing the same keys does not."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt

from shopdesk.scanning.testdata import make_code_video
from tests.helpers.pdfs import pdf_bytes


def test_scan_view_opens_the_job_shown_to_the_camera(counter, qtbot, tmp_path):
    from shopdesk.ui.scanview import ScanView

    window, service, shop = counter
    a = shop.upload(pdf_bytes(1), name="first.pdf")["files"][0]
    b = shop.upload(pdf_bytes(1), name="second.pdf")["files"][0]
    qtbot.waitUntil(lambda: window.model.rowCount() == 2, timeout=5000)
    window.table.selectRow(0)
    video = make_code_video(tmp_path / "ticket.avi", b["code"])
    opened_at = []
    service.job_opened.connect(lambda code: opened_at.append((code, time.monotonic())))
    view = ScanView(service, str(video))
    qtbot.addWidget(view)
    view.show()
    qtbot.waitUntil(lambda: bool(opened_at), timeout=15_000)
    assert opened_at[0][0] == b["code"] and view.scans == [b["code"]]
    assert window.selected_job()["code"] == b["code"] and a["code"] != b["code"]
    qtbot.waitUntil(lambda: not view.worker.running, timeout=5000)  # the camera is released


def test_scan_view_says_so_for_an_unknown_code(counter, qtbot, tmp_path):
    from shopdesk.ui.scanview import ScanView

    window, service, shop = counter
    video = make_code_video(tmp_path / "unknown.avi", "Zz9Zz9")
    view = ScanView(service, str(video), close_on_open=False)
    qtbot.addWidget(view)
    with qtbot.waitSignal(service.message, timeout=15_000) as sig:
        view.show()
    assert sig.args[0] == "Unknown code" and "Zz9Zz9" in sig.args[1]
    assert "unknown" in service.sounds.played
    view.close()


def test_a_missing_camera_is_a_message_and_a_retry_not_a_crash(counter, qtbot):
    from shopdesk.ui.scanview import ScanView

    window, service, shop = counter
    view = ScanView(service, 57)  # no such camera here
    qtbot.addWidget(view)
    view.show()
    qtbot.waitUntil(lambda: view.retry_btn.isVisible(), timeout=10_000)
    assert "Camera 57" in view.status.text()
    view.close()


def test_a_usb_scanner_burst_opens_the_job_but_a_person_typing_does_not(counter, qtbot):
    window, service, shop = counter
    a = shop.upload(pdf_bytes(1), name="first.pdf")["files"][0]
    b = shop.upload(pdf_bytes(1), name="second.pdf")["files"][0]
    qtbot.waitUntil(lambda: window.model.rowCount() == 2, timeout=5000)
    with qtbot.waitSignal(service.preview_ready, timeout=10_000):  # let the background work settle first
        window.table.selectRow(0)
    window.table.setFocus()
    opened = []
    service.job_opened.connect(opened.append)
    qtbot.keyClicks(window.table, b["code"], delay=4)
    qtbot.keyClick(window.table, Qt.Key.Key_Return, delay=4)
    qtbot.waitUntil(lambda: opened == [b["code"]], timeout=5000)
    assert window.selected_job()["code"] == b["code"]
    window.search.setFocus()
    qtbot.keyClicks(window.search, a["code"], delay=110)  # a person typing in the search box
    qtbot.keyClick(window.search, Qt.Key.Key_Return, delay=110)
    qtbot.wait(300)
    assert opened == [b["code"]]  # no scan: the search box handled it
    assert window.search.text() in ("", a["code"])


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1].startswith("Z")
    except FileNotFoundError:
        return True


def test_the_camera_runs_in_a_child_that_closing_the_view_stops(counter, qtbot, tmp_path):
    import os

    from shopdesk.ui.scanview import ScanView

    window, service, shop = counter
    video = make_code_video(tmp_path / "long.avi", "Zz9Zz9", times=3)
    view = ScanView(service, str(video), close_on_open=False)
    qtbot.addWidget(view)
    view.show()
    qtbot.waitUntil(lambda: view.preview.pixmap() is not None and not view.preview.pixmap().isNull(), timeout=20_000)
    pid = view.worker.pid
    assert pid != os.getpid() and not _gone(pid)
    view.close()
    qtbot.waitUntil(lambda: _gone(pid) and not view.worker.running, timeout=10_000)
    assert view.worker.process.exitcode == 0  # it stopped when asked, not killed


def test_a_camera_process_that_dies_is_said_in_words_and_retry_restarts_it(counter, qtbot, tmp_path):
    import os
    import signal

    from shopdesk.ui.scanview import ScanView

    window, service, shop = counter
    video = make_code_video(tmp_path / "long.avi", "Zz9Zz9", times=3)
    view = ScanView(service, str(video), close_on_open=False)
    qtbot.addWidget(view)
    view.show()
    qtbot.waitUntil(lambda: view.worker.status.state == "live", timeout=20_000)
    first = view.worker.pid
    os.kill(first, signal.SIGKILL)
    qtbot.waitUntil(lambda: view.retry_btn.isVisible(), timeout=10_000)
    assert "camera process stopped unexpectedly" in view.status.text()
    assert view.preview.text() == "No picture"
    qtbot.mouseClick(view.retry_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.worker.status.state == "live" and view.worker.pid != first, timeout=20_000)
    assert not view.retry_btn.isVisible()
    view.close()
    qtbot.waitUntil(lambda: not view.worker.running, timeout=10_000)
