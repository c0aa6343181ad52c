"""The counter window wired to a real server (a fresh shop) and the private cupsd's printers."""

from __future__ import annotations

import pytest

from shopdesk.client.api import ShopClient
from shopdesk.printing.cups import CupsBackend
from shopdesk.printing.hotfolder import HotFolderBackend
from shopdesk.printing.printers import PrinterSet
from shopdesk.settings import AppSettings


@pytest.fixture
def counter(qtbot, shop, cupsd, tmp_path, monkeypatch):
    """(window, service, shop): logged in as the shop's owner, printers loaded, queue loaded."""
    monkeypatch.setenv("SHOPDESK_CONFIG_DIR", str(tmp_path / "config"))
    from shopdesk.ui.mainwindow import MainWindow
    from shopdesk.ui.service import CounterService

    client = ShopClient(shop.url)
    profile = client.login(*shop.owner)
    settings = AppSettings(server_url=shop.url, counter_name="Counter 1", sounds=True, notifications=False)
    printers = PrinterSet([CupsBackend(), HotFolderBackend(tmp_path / "hot")])
    service = CounterService(client, profile, settings, printers, tmp_path / "app")
    window = MainWindow(service)
    service.window = window
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(service.printers_changed, timeout=10_000):
        service.start()
    qtbot.waitUntil(lambda: window.loaded, timeout=10_000)
    yield window, service, shop
    service.shutdown()
