"""The counter window and auto-pause (#14, #18): the window heartbeats as its counter from the start, with
its printers; a printer that stops or comes back is told to the server at its next printer check (not a
minute later); the status bar says what customers cannot send now; Shop settings → Counters lists the
counters."""

from __future__ import annotations

from shopdesk.client.api import ShopClient
from shopdesk.domain.availability import COLOUR_UNAVAILABLE
from shopdesk.settings import AppSettings
from shopdesk.ui.shopsettings import ShopSettingsDialog
from tests.helpers.counterprinters import two_printers


def _colour_ready(shop) -> bool | None:
    for c in shop.get("/shop/counters").json()["counters"]:
        if c["counter"] == "Till 1" and c["printers"]:
            return next(p["ready"] for p in c["printers"] if p["name"] == "Colour")
    return None


def test_a_printer_that_stops_is_told_at_once_and_the_window_says_what_customers_cannot_send(
        qtbot, shop, cupsd, tmp_path, monkeypatch):
    monkeypatch.setenv("SHOPDESK_CONFIG_DIR", str(tmp_path / "config"))
    from shopdesk.ui.mainwindow import MainWindow
    from shopdesk.ui.service import CounterService

    client = ShopClient(shop.url)
    profile = client.login(*shop.owner)
    settings = AppSettings(server_url=shop.url, counter_name="Till 1", sounds=False, notifications=False)
    with two_printers(cupsd) as printers:
        service = CounterService(client, profile, settings, printers, tmp_path / "app")
        window = MainWindow(service)
        service.window = window
        qtbot.addWidget(window)
        window.show()
        try:
            service.start()
            qtbot.waitUntil(lambda: _colour_ready(shop) is True, timeout=10_000)  # heartbeat at start
            assert window.capacity_label.text() == ""

            cupsd.disable("Colour", "Out of toner")
            service.refresh_printers()  # what the 10 s printer timer does
            qtbot.waitUntil(lambda: _colour_ready(shop) is False, timeout=10_000)
            qtbot.waitUntil(lambda: "Customers cannot choose now: colour printing" in window.capacity_label.text(),
                            timeout=10_000)
            assert COLOUR_UNAVAILABLE in window.capacity_label.toolTip()  # the whole sentence

            dlg = ShopSettingsDialog(service.tasks, service.client, window)
            qtbot.addWidget(dlg)
            dlg.show()
            dlg.tabs.setCurrentIndex(dlg.tabs.count() - 1)
            assert dlg.tabs.tabText(dlg.tabs.currentIndex()) == "Counters"
            qtbot.waitUntil(lambda: dlg.counters.rowCount() == 1, timeout=10_000)
            assert dlg.counters.item(0, 0).text() == "Till 1"
            assert "Colour: paused (Out of toner)" in dlg.counters.item(0, 3).text()
            assert COLOUR_UNAVAILABLE in dlg.counters_note.text()
            dlg.close()

            cupsd.enable("Colour")
            service.refresh_printers()
            qtbot.waitUntil(lambda: _colour_ready(shop) is True, timeout=10_000)
            qtbot.waitUntil(lambda: window.capacity_label.text() == "", timeout=10_000)
        finally:
            cupsd.enable("Colour")
            service.shutdown()
