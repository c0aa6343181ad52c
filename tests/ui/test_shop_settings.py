"""Shop → Shop settings… on the real widgets against the real server: the profile, the prices with their
example, logins (add, disable, reset, the last owner), the activity — and staff never see it."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal

import requests
from PySide6.QtWidgets import QMessageBox

from shopdesk.client.api import ShopClient
from shopdesk.printing.printers import PrinterSet
from shopdesk.settings import AppSettings
from shopdesk.ui.shopsettings import LoginEditor, ShopSettingsDialog
from tests.helpers.modal import ModalDriver


def open_dialog(qtbot, window, service) -> ShopSettingsDialog:
    dlg = ShopSettingsDialog(service.tasks, service.client, window)
    qtbot.addWidget(dlg)
    dlg.show()
    qtbot.waitUntil(lambda: dlg.name.text() != "" and dlg.staff_table.rowCount() > 0, timeout=10_000)
    return dlg


def test_the_owner_changes_the_shop_and_its_prices(counter, qtbot):
    window, service, shop = counter
    assert window.act_shop_settings.isVisible()
    dlg = open_dialog(qtbot, window, service)
    assert dlg.name.text() == shop.name
    dlg.name.setText("Corner Copy")
    dlg.hours.setText("Mon–Sat 9–19")
    dlg.save_profile_btn.click()
    qtbot.waitUntil(lambda: dlg.profile_status.text() == "Saved.", timeout=10_000)
    got = shop.get("/shop").json()
    assert (got["name"], got["hours"]) == ("Corner Copy", "Mon–Sat 9–19")
    dlg.name.setText("")
    dlg.save_profile_btn.click()
    assert "needs a name" in dlg.profile_form.errors["name"].text()

    # prices: the example follows what is typed, then the server has the new table
    dlg.tabs.setCurrentIndex(1)
    dlg.ex_pages.setValue(10)
    dlg.ex_copies.setValue(2)
    assert "20.00" in dlg.ex_cost.text()  # 10 × 2 × 1.00
    dlg.price_grid.fields[("bw", "A4")].setText("1.25")
    dlg.price_grid.changed.emit()
    assert "25.00" in dlg.ex_cost.text()
    dlg.price_grid.fields[("color", "A3")].setText("-3")
    dlg.save_prices_btn.click()
    assert "cannot be negative" in dlg.price_grid.error.text()
    dlg.price_grid.fields[("color", "A3")].setText("18.50")
    dlg.save_prices_btn.click()
    qtbot.waitUntil(lambda: dlg.prices_status.text().startswith("Saved"), timeout=10_000)
    body = json.loads(shop.get("/shop").text, parse_float=Decimal)  # the wire's amounts, exactly
    prices = {(p["color_mode"], p["paper_size"]): str(p["price"]) for p in body["prices"]}
    assert prices[("bw", "A4")] == "1.25" and prices[("color", "A3")] == "18.50"

    dlg.tabs.setCurrentIndex(3)
    qtbot.waitUntil(lambda: dlg.activity.rowCount() >= 2, timeout=10_000)
    texts = [dlg.activity.item(r, 2).text() for r in range(dlg.activity.rowCount())]
    assert "prices changed" in texts and "shop details changed" in texts
    dlg.close()
    service.refresh_shop()
    qtbot.waitUntil(lambda: window.windowTitle().startswith("Corner Copy"), timeout=10_000)


def test_the_owner_manages_logins_and_the_last_owner_stays(counter, qtbot):
    window, service, shop = counter
    dlg = open_dialog(qtbot, window, service)
    dlg.tabs.setCurrentIndex(2)
    name = f"ravi{uuid.uuid4().hex[:6]}"

    def fill(editor: LoginEditor, username: str, password: str):
        editor.username.setText(username)
        editor.full_name.setText("Ravi Kumar")
        editor.password.setText(password)
        editor.password2.setText(password)

    def weak_then_taken_then_good(editor: LoginEditor):
        fill(editor, name, "short")
        editor._check()
        assert "at least 10" in editor.form.errors["password"].text() and editor.isVisible()
        fill(editor, shop.staff[0], "long-enough-pw")  # taken: the server says so next to the field
        editor._check()

    def good(editor: LoginEditor):
        assert "taken" in editor.form.errors["username"].text()
        fill(editor, name, "long-enough-pw")
        editor._check()

    with ModalDriver((LoginEditor, weak_then_taken_then_good), (LoginEditor, good)) as driver:
        dlg.add_login()
    driver.assert_finished()
    qtbot.waitUntil(lambda: any(r["username"] == name for r in dlg.staff_rows), timeout=10_000)
    token = ShopClient(shop.url)
    token.login(name, "long-enough-pw")

    # disable: the new login's session ends at once
    row = next(i for i, r in enumerate(dlg.staff_rows) if r["username"] == name)
    dlg.staff_table.selectRow(row)
    assert dlg.toggle_btn.text() == "Disable"
    with ModalDriver((QMessageBox, lambda box: box.button(QMessageBox.StandardButton.Yes).click())) as driver:
        dlg.toggle_active()
    driver.assert_finished()
    qtbot.waitUntil(lambda: "disabled" in dlg.staff_status.text(), timeout=10_000)
    r = requests.get(shop.url + "/queue", headers={"Authorization": f"Bearer {token.token}"}, timeout=10)
    assert r.status_code == 401

    # reset a password
    row = next(i for i, r in enumerate(dlg.staff_rows) if r["username"] == shop.staff2[0])
    dlg.staff_table.selectRow(row)

    def new_password(editor: LoginEditor):
        editor.password.setText("a-new-password-2")
        editor.password2.setText("a-new-password-2")
        editor._check()

    with ModalDriver((LoginEditor, new_password)) as driver:
        dlg.reset_password()
    driver.assert_finished()
    qtbot.waitUntil(lambda: "was changed" in dlg.staff_status.text(), timeout=10_000)
    ShopClient(shop.url).login(shop.staff2[0], "a-new-password-2")

    # the only owner cannot step down
    row = next(i for i, r in enumerate(dlg.staff_rows) if r["role"] == "owner")
    dlg.staff_table.selectRow(row)
    assert dlg.role_btn.text() == "Make staff"
    dlg.toggle_role()
    qtbot.waitUntil(lambda: "last active owner" in dlg.staff_status.text(), timeout=10_000)


def test_staff_do_not_see_the_shop_settings(qtbot, shop, tmp_path, monkeypatch):
    monkeypatch.setenv("SHOPDESK_CONFIG_DIR", str(tmp_path / "config"))
    from shopdesk.ui.mainwindow import MainWindow
    from shopdesk.ui.service import CounterService

    client = ShopClient(shop.url)
    profile = client.login(*shop.staff)
    service = CounterService(client, profile, AppSettings(server_url=shop.url, notifications=False),
                             PrinterSet([]), tmp_path / "app")
    window = MainWindow(service)
    qtbot.addWidget(window)
    service.window = window
    window.show()
    service.start()
    try:
        qtbot.waitUntil(lambda: window.shop_label.text() != "", timeout=10_000)
        assert not window.act_shop_settings.isVisible()
        window.open_shop_settings()  # the shortcut does nothing for staff
        assert not any(isinstance(w, ShopSettingsDialog) for w in window.findChildren(ShopSettingsDialog))
    finally:
        service.shutdown()
