"""Shop → Customer uploads…: the owner lets customers on the shop's Wi-Fi in (embedded server), sees the
address and its QR code, prints the poster on a real (private cupsd) printer, and is told when the shop's
LAN address changed and the poster must be printed again. With a remote server: its public address."""

from __future__ import annotations

import subprocess
import time

import pytest
import requests

from shopdesk.client.api import ShopClient
from shopdesk.printing.cups import CupsBackend
from shopdesk.printing.printers import PrinterSet
from shopdesk.settings import AppSettings
from tests.helpers.server import free_port, make_shop


def _wait_file(path, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.stat().st_size > 0:
            time.sleep(0.3)  # the file device may still be writing
            return path
        time.sleep(0.1)
    raise AssertionError(f"nothing printed to {path}")


def _text(pdf) -> str:
    return subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout


def test_remote_server_shows_its_public_address_and_prints_the_poster(counter, cupsd, qtbot):
    from shopdesk.ui.customer_uploads import CustomerUploadsDialog

    window, service, shop = counter
    assert window.act_customers.isEnabled()  # the owner
    out = cupsd.out / "Color.pdf"
    out.unlink(missing_ok=True)
    dlg = CustomerUploadsDialog(service, window)
    qtbot.addWidget(dlg)
    assert not dlg.switch.isVisibleTo(dlg)  # a remote server's listening is not this app's to switch
    assert dlg.url.text() == f"{shop.url}/s/{shop.shop_id}"
    qtbot.waitUntil(lambda: dlg.qr.pixmap() is not None and not dlg.qr.pixmap().isNull(), timeout=5000)
    dlg.printer.setCurrentText("Color")
    with qtbot.waitSignal(service.message, timeout=20_000) as sig:
        dlg.print_btn.click()
    assert sig.args[0] == "Poster" and "'Color'" in sig.args[1], sig.args
    text = _text(_wait_file(out))
    assert shop.name in text and "Send your files here" in text and f"/s/{shop.shop_id}" in text


def test_staff_cannot_open_customer_uploads(qtbot, shop, tmp_path, monkeypatch):
    monkeypatch.setenv("SHOPDESK_CONFIG_DIR", str(tmp_path / "config"))
    from shopdesk.ui.mainwindow import MainWindow
    from shopdesk.ui.service import CounterService

    client = ShopClient(shop.url)
    service = CounterService(client, client.login(*shop.staff), AppSettings(server_url=shop.url),
                             PrinterSet([]), tmp_path / "app")
    window = MainWindow(service)
    service.window = window
    qtbot.addWidget(window)
    with qtbot.waitSignal(service.message, timeout=2000) as sig:
        window.open_customer_uploads()
    assert "Only the shop's owner" in sig.args[1]


@pytest.fixture
def embedded_counter(qtbot, tmp_path, monkeypatch, cupsd):
    """The counter on the app's own embedded server, as a one-counter shop runs it."""
    monkeypatch.setenv("SHOPDESK_CONFIG_DIR", str(tmp_path / "config"))
    from shopdesk.server.config import Settings
    from shopdesk.server.embedded import EmbeddedServer
    from shopdesk.ui.service import CounterService
    from tests.server.test_cli import _EmbeddedAsServer

    data = tmp_path / "server"
    emb = EmbeddedServer(Settings.from_env(data_dir=data))
    emb.start()
    try:
        shop = make_shop(_EmbeddedAsServer(emb, data))
        client = ShopClient(emb.url)
        service = CounterService(client, client.login(*shop.owner), AppSettings(server_url=""),
                                 PrinterSet([CupsBackend()]), tmp_path / "app")
        service.embedded = emb
        with qtbot.waitSignal(service.shop_changed, timeout=10_000):
            service.refresh_shop()
        with qtbot.waitSignal(service.printers_changed, timeout=10_000):
            service.refresh_printers()
        yield service, shop, emb
        service.shutdown()
    finally:
        emb.stop()


@pytest.mark.slow
def test_owner_switches_wifi_uploads_on_and_off_and_is_told_when_the_address_changes(embedded_counter, qtbot):
    from shopdesk.ui.customer_uploads import CustomerUploadsDialog

    service, shop, emb = embedded_counter
    port = free_port()
    service.settings.customer_port = port
    dlg = CustomerUploadsDialog(service, None)
    qtbot.addWidget(dlg)
    assert dlg.switch.isVisibleTo(dlg) and not dlg.switch.isChecked() and not dlg.print_btn.isEnabled()
    assert dlg.port.value() == port

    with qtbot.waitSignal(service.shop_changed, timeout=30_000):
        dlg.switch.setChecked(True)  # the server restarts in a worker; the window stays responsive
    qtbot.waitUntil(lambda: not service.customer_state()["busy"], timeout=10_000)
    public = emb.public_url
    assert public.endswith(f":{port}") and dlg.url.text() == f"{public}/s/{shop.shop_id}"
    assert service.public_url() == public  # tickets and cover sheets now carry it
    assert service.settings.customer_uploads is True and AppSettings.load().customer_uploads is True
    page = requests.get(f"http://127.0.0.1:{port}/s/{shop.shop_id}", timeout=10)
    assert page.status_code == 200 and shop.name in page.text
    assert dlg.print_btn.isEnabled()

    # DHCP hands the shop a new address: the server follows it, the owner is told to reprint the poster
    service.lan_address = lambda: "10.99.0.7"
    with qtbot.waitSignal(service.message, timeout=30_000) as sig:
        service.check_lan_address()
    assert "changed" in sig.args[1] and "10.99.0.7" in sig.args[1] and "poster" in sig.args[1]
    assert emb.public_url == f"http://10.99.0.7:{port}"
    qtbot.waitUntil(lambda: dlg.notice.isVisibleTo(dlg) and "print the poster again" in dlg.notice.text(), timeout=5000)
    qtbot.waitUntil(lambda: service.public_url() == f"http://10.99.0.7:{port}", timeout=10_000)
    service.check_lan_address()  # the same address again: nothing to do
    assert not service.customer_state()["busy"]

    dlg.printer.setCurrentText("Front")
    with qtbot.waitSignal(service.message, timeout=20_000) as sig:
        dlg.print_btn.click()
    assert sig.args[0] == "Poster", sig.args
    qtbot.waitUntil(lambda: not dlg.notice.isVisibleTo(dlg), timeout=5000)  # reprinted: the warning goes
    assert service.settings.poster_printer == "Front"

    with qtbot.waitSignal(service.shop_changed, timeout=30_000):
        dlg.switch.setChecked(False)
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
    assert service.settings.customer_uploads is False and emb.public_url == ""
    assert not dlg.print_btn.isEnabled()
