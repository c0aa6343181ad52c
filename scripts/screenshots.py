"""Regenerates docs/screenshots/: the main window, the print dialog, payouts and history on the demo
shop, on a real (virtual) X screen. Run through scripts/screenshots.sh."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("out", type=Path)
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    app = QApplication(sys.argv[:1])
    from shopdesk.client.credentials import Credentials
    from shopdesk.printing.printers import default_printer_set
    from shopdesk.settings import AppSettings
    from shopdesk.ui.app import start_demo
    from shopdesk.ui.history import HistoryDialog
    from shopdesk.ui.mainwindow import MainWindow
    from shopdesk.ui.payouts import PayoutsDialog
    from shopdesk.ui.printdialog import PrintDialog
    from shopdesk.ui.service import CounterService
    from shopdesk.ui.setup import SetupScreen
    from shopdesk.ui.shopsettings import ShopSettingsDialog

    tmp = Path(tempfile.mkdtemp(prefix="shopdesk-shots-"))
    server, client, profile = start_demo(tmp / "server")
    # some history and earnings to show
    orders, _ = client.queue()
    for o in orders[1:3]:
        client.confirm(o["files"][0]["file_id"])
    settings = AppSettings(sounds=False, notifications=False)
    service = CounterService(client, profile, settings, default_printer_set(tmp / "hot"), tmp / "app")
    window = MainWindow(service)
    service.window = window
    window.resize(1366, 768)
    window.show()
    service.start()

    def grab(name, widget):
        path = args.out / f"{name}.png"
        widget.grab().save(str(path))
        print(f"saved {path}")

    def step_main():
        if not (window.loaded and window.model.rowCount() and service.printers()):
            QTimer.singleShot(200, step_main)
            return
        window.table.selectRow(0)
        QTimer.singleShot(1200, lambda: (grab("main", window), step_print()))

    def step_print():
        job, order = window.model.job_at(2), window.model.order_at(2)  # the A3 colour poster
        dlg = PrintDialog([job], order, service.printers(), service.route(job), window)
        dlg.show()
        QTimer.singleShot(400, lambda: (grab("print-dialog", dlg), dlg.close(), step_payouts()))

    def step_payouts():
        dlg = PayoutsDialog(service.tasks, lambda g: (client.payouts(), client.earnings(g)), window)
        dlg.show()
        QTimer.singleShot(1500, lambda: (grab("payouts", dlg), dlg.close(), step_history()))

    def step_history():
        dlg = HistoryDialog(service.tasks, lambda p: client.history(**p), window)
        dlg.show()
        QTimer.singleShot(1500, lambda: (grab("history", dlg), dlg.close(), step_shop_settings()))

    def step_shop_settings():
        dlg = ShopSettingsDialog(service.tasks, client, window)
        dlg.resize(820, 560)
        dlg.show()
        dlg.tabs.setCurrentIndex(1)

        def logins():
            grab("shop-settings-prices", dlg)
            dlg.tabs.setCurrentIndex(2)
            QTimer.singleShot(800, lambda: (grab("shop-settings-logins", dlg), dlg.close(), step_setup()))

        QTimer.singleShot(1500, logins)

    def step_setup():
        screen = SetupScreen(start_server=lambda: None, creds=Credentials(), has_shop=False)
        screen.resize(760, 640)
        screen.show()

        def form():
            grab("setup", screen)
            screen.btn_own.click()
            screen.shop_name.setText("Corner Copy Centre")
            screen.shop_address.setText("12 Main Road, Jayanagar")
            screen.shop_phone.setText("+91 98450 00000")
            screen.owner_username.setText("meena")
            screen.owner_full_name.setText("Meena Rao")
            screen.owner_password.setText("short")
            screen.create_btn.click()  # shows what a shopkeeper sees for a weak password
            QTimer.singleShot(500, lambda: (grab("setup-shop", screen), screen.close(), app.quit()))

        QTimer.singleShot(500, form)

    QTimer.singleShot(300, step_main)
    app.exec()
    service.shutdown()
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
