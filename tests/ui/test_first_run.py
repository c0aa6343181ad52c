"""First run on the real widgets: setting this computer up as the shop (its built-in server, for real),
a restart that logs in from the keyring, an interrupted setup, connecting to a shop server with every
way that can go wrong, and Switch shop."""

from __future__ import annotations

import argparse
import http.server
import json
import threading
import uuid

import pytest
import requests
from keyrings.alt.file import PlaintextKeyring
from PySide6.QtWidgets import QMessageBox

from shopdesk.client.credentials import Credentials
from shopdesk.settings import AppSettings, shop_dir
from shopdesk.ui.app import choose_session, start_shop_server
from shopdesk.ui.dialogs import LoginDialog
from shopdesk.ui.login import embedded_key
from shopdesk.ui.setup import SetupScreen
from tests.helpers.modal import ModalDriver
from tests.helpers.server import free_port, make_user

OWNER_PW = "owner-pass-123"


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A computer where shopdesk never ran: its own config and data folders and a real (file) keyring."""
    monkeypatch.setenv("SHOPDESK_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("SHOPDESK_APP_DATA_DIR", str(tmp_path / "data"))
    backend = PlaintextKeyring()
    backend.file_path = str(tmp_path / "keyring.cfg")
    return Credentials(backend, allow_insecure=True)


def args(**kw) -> argparse.Namespace:
    return argparse.Namespace(**{"demo": False, "screenshot": None, "data_dir": None, **kw})


def fill_setup(screen: SetupScreen, *, name="Corner Copy", owner="meena", password=OWNER_PW, staff: str | None = "ravi",
               bw_a4="2.50") -> None:
    screen.btn_own.click()
    assert screen.pages.currentIndex() == 1
    screen.shop_name.setText(name)
    screen.shop_address.setText("12 Main Road")
    screen.shop_phone.setText("+91 98450 00000")
    screen.owner_username.setText(owner)
    screen.owner_full_name.setText("Meena R")
    screen.owner_password.setText(password)
    screen.owner_password2.setText(password)
    screen.price_grid.fields[("bw", "A4")].setText(bw_a4)
    if staff:
        screen.staff_box.setChecked(True)
        screen.staff_username.setText(staff)
        screen.staff_password.setText("staff-pass-123")
        screen.staff_password2.setText("staff-pass-123")


def test_set_up_this_computer_as_the_shop_then_a_restart_goes_straight_in(qtbot, home):
    settings = AppSettings.load()
    assert settings.shop_mode == ""

    def create(screen):
        fill_setup(screen)
        screen.create_btn.click()

    with ModalDriver((SetupScreen, create)) as driver:
        session = choose_session(args(), settings, home, headless=False)
    driver.assert_finished()
    try:
        assert session.profile["role"] == "owner" and session.profile["username"] == "meena"
        assert not session.demo and session.embedded is not None
        shop = session.client.shop()
        assert (shop["name"], shop["address"], shop["phone"]) == ("Corner Copy", "12 Main Road", "+91 98450 00000")
        assert {(p["color_mode"], p["paper_size"]): str(p["price"]) for p in shop["prices"]}[("bw", "A4")] == "2.50"
        assert [u["username"] for u in session.client.staff()] == ["meena", "ravi"]
    finally:
        session.close()
    saved = AppSettings.load()
    assert saved.shop_mode == "embedded" and saved.username == "meena"
    stored = AppSettings.path().read_text()
    assert OWNER_PW not in stored and session.client.token not in stored  # secrets live in the keyring only
    assert (shop_dir(args()) / "shopdesk.db").exists()

    # the next start: the shop is found and the keyring's login is used — no dialog at all
    with ModalDriver() as driver:
        again = choose_session(args(), AppSettings.load(), home, headless=False)
    driver.assert_finished()
    try:
        assert again.profile["username"] == "meena" and again.client.shop()["name"] == "Corner Copy"
    finally:
        again.close()

    # without a kept login: the login dialog, for this computer's shop (no server field)
    home.forget(embedded_key(shop_dir(args())), "meena")

    def log_in_as_staff(dlg: LoginDialog):
        assert not dlg.server.isVisible()
        dlg.username.setText("ravi")
        dlg.password.setText("staff-pass-123")
        dlg.remember.setChecked(False)
        dlg.accept()

    with ModalDriver((LoginDialog, log_in_as_staff)) as driver:
        third = choose_session(args(), AppSettings.load(), home, headless=False)
    driver.assert_finished()
    try:
        assert third.profile["role"] == "staff"
    finally:
        third.close()


def test_setup_shows_each_problem_next_to_its_field_and_creates_nothing(qtbot, home, tmp_path):
    started = []
    screen = SetupScreen(start_server=lambda: started.append(1), creds=home, has_shop=False)
    qtbot.addWidget(screen)
    screen.show()
    fill_setup(screen, name="   ", password="short", bw_a4="abc")
    screen.owner_password2.setText("different-123")
    screen.staff_username.setText("MEENA")
    screen.create_btn.click()
    assert screen.shop_form.errors["name"].text() == "Your shop needs a name."
    assert "at least 10" in screen.owner_form.errors["password"].text()
    assert "not the same" in screen.owner_form.errors["password2"].text()
    assert "another username" in screen.staff_form.errors["username"].text()
    assert "Black & white A4" in screen.price_grid.error.text()
    assert not started  # nothing was sent anywhere

    # what only the server can judge comes back next to its field too (a zero-width space is not a name)
    folder = tmp_path / "shop"
    screen.start_server = lambda: start_shop_server(folder)
    fill_setup(screen, owner="mee\u200bna", staff=None)
    screen.staff_box.setChecked(False)
    screen.create_btn.click()
    qtbot.waitUntil(lambda: screen.owner_form.errors["username"].text() != "", timeout=30_000)
    assert "without spaces" in screen.owner_form.errors["username"].text()
    assert screen.create_btn.isEnabled() and screen.result_choice is None
    assert requests.get(screen.server.url + "/setup", timeout=5).json()["needed"] is True
    screen.reject()  # abandoning setup stops the server it started
    assert screen.server is None


def test_an_interrupted_setup_is_offered_again_on_the_next_start(qtbot, home):
    folder = shop_dir(args())
    server = start_shop_server(folder)  # the database exists, the shop was never made (the app died)
    server.stop()
    settings = AppSettings.load()
    settings.shop_mode = "embedded"
    settings.save()
    seen = {}

    def finish(screen):
        seen["page"], seen["notice"] = screen.pages.currentIndex(), screen.notice.text()
        fill_setup(screen, staff=None)
        screen.create_btn.click()

    with ModalDriver((SetupScreen, finish)) as driver:
        session = choose_session(args(), settings, home, headless=False)
    driver.assert_finished()
    try:
        assert seen["page"] == 1 and "did not finish" in seen["notice"]
        assert session.client.shop()["name"] == "Corner Copy"
    finally:
        session.close()


class NotShopdesk(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 — some other web server on the shop's network
        body = b"<html>router admin</html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


def test_connecting_to_a_shop_server_says_what_is_wrong_in_words(qtbot, home, shop):
    other = http.server.ThreadingHTTPServer(("127.0.0.1", 0), NotShopdesk)
    threading.Thread(target=other.serve_forever, daemon=True).start()
    admin = f"admin{uuid.uuid4().hex[:6]}"
    make_user(shop.server, admin, "admin-password-1", "admin")
    screen = SetupScreen(start_server=lambda: None, creds=home, has_shop=False)
    qtbot.addWidget(screen)
    screen.show()
    screen.btn_connect.click()

    def attempt(url, username, password):
        screen.server_url.setText(url)
        screen.connect_username.setText(username)
        screen.connect_password.setText(password)
        screen.connect_error.setText("")
        screen.connect_btn.click()
        qtbot.waitUntil(lambda: screen.connect_btn.isEnabled(), timeout=20_000)
        return screen.connect_error.text(), screen.connect_form.errors["url"].text()

    try:
        assert "http://" in attempt("shop-server:8080", *shop.staff)[1]
        assert "Cannot reach" in attempt(f"http://127.0.0.1:{free_port()}", *shop.staff)[0]
        assert "not a shopdesk server" in attempt(f"http://127.0.0.1:{other.server_port}", *shop.staff)[0]
        assert "Wrong username or password" in attempt(shop.url, shop.staff[0], "wrong-password")[0]
        assert "not a shop account" in attempt(shop.url, admin, "admin-password-1")[0]
        attempt(shop.url, *shop.staff)
        qtbot.waitUntil(lambda: screen.result_choice is not None, timeout=10_000)
    finally:
        other.shutdown()
    r = screen.result_choice
    assert r.kind == "remote" and r.url == shop.url and r.profile["role"] == "staff"
    assert home.token(shop.url, shop.staff[0]) == r.client.token  # "keep me logged in" was ticked


def test_switch_shop_asks_first_and_says_when_reports_are_still_waiting(counter, qtbot):
    window, service, shop = counter
    texts = []

    def cancel(box: QMessageBox):
        texts.append(box.text())
        box.button(QMessageBox.StandardButton.Cancel).click()

    def agree(box: QMessageBox):
        texts.append(box.text())
        box.button(QMessageBox.StandardButton.Ok).click()

    with ModalDriver((QMessageBox, cancel)) as driver:
        window.switch_shop()
    driver.assert_finished()
    assert not window.switch_requested and window.isVisible()
    service.outbox.stop(timeout=2)  # reports that cannot go out now
    service.outbox.add("confirm", 2_000_000_000, {"counter": "Counter 1"})
    with ModalDriver((QMessageBox, agree)) as driver:
        window.switch_shop()
    driver.assert_finished()
    assert "1 report" in texts[1] and "not reached" in texts[1]
    assert window.switch_requested and not window.isVisible()


def test_the_demo_says_it_is_a_demo(qtbot, home):
    session = choose_session(args(demo=True), AppSettings.load(), home, headless=False)
    try:
        assert session.demo and session.profile["role"] == "owner"
        from shopdesk.printing.printers import PrinterSet
        from shopdesk.ui.mainwindow import MainWindow
        from shopdesk.ui.service import CounterService

        service = CounterService(session.client, session.profile, AppSettings(), PrinterSet([]), session.app_data)
        window = MainWindow(service, demo=True)
        qtbot.addWidget(window)
        service.window = window
        window.show()
        service.start()
        qtbot.waitUntil(lambda: window.windowTitle().endswith("DEMO") and "Demo" in window.windowTitle(),
                        timeout=10_000)
        banner = window.findChild(type(window.shop_label), "demo-banner")
        assert banner is not None and banner.isVisible() and "DEMO" in banner.text()
        service.shutdown()
    finally:
        session.close()
    # trying the demo chooses no shop: the next start shows the first-run screen again
    assert not AppSettings.path().exists() or json.loads(AppSettings.path().read_text())["shop_mode"] == ""


def test_a_set_up_shop_starts_its_server_before_the_window_and_the_session_uses_that_one(qtbot, home):
    from shopdesk.app import early_server

    assert early_server(args()) is None  # not set up yet: the first-run screen starts it when asked

    def create(screen):
        fill_setup(screen, staff=None)
        screen.create_btn.click()

    with ModalDriver((SetupScreen, create)) as driver:
        choose_session(args(), AppSettings.load(), home, headless=False).close()
    driver.assert_finished()

    early = early_server(args())  # what shopdesk/app.py does before it imports the window
    assert early is not None and early.kind == "shop"
    a = args(early_server=early)
    with ModalDriver() as driver:  # the keyring's login: no dialog
        session = choose_session(a, AppSettings.load(), home, headless=False)
    driver.assert_finished()
    try:
        assert session.embedded is early.server and a.early_server is None  # used, and only once
        assert session.client.base_url == early.server.url and session.profile["username"] == "meena"
    finally:
        session.close()
    assert not early.server.running
