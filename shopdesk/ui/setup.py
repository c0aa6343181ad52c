"""The first-run screen: three ways in — set this computer up as the shop (its built-in server becomes
the shop's real, lasting server), connect to a shop server, or try the demo. Also where
`Shop → Switch shop…` comes back to.

Setting up checks every field here first (each problem next to its field), then starts the built-in
server in a worker and sends one `POST /setup`: the shop, its prices, its owner and an optional first
staff login are created in one transaction on the server, so an interrupted setup never leaves a shop
without an owner — the next start simply offers setup again."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QCommandLinkButton,
    QDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from ..client.api import ShopClient
from ..client.credentials import Credentials
from ..client.errors import ApiError, ValidationError
from .forms import ERROR_STYLE, FieldForm, field_problems, password_edit
from .login import check_server_url, connect, embedded_key, remember
from .prices import PriceGrid
from .tasks import TaskRunner

log = logging.getLogger("shopdesk.ui.setup")
MIN_PASSWORD = 10


@dataclass
class SetupResult:
    kind: str  # "embedded" (this computer is the shop), "remote" (a shop server), "demo", "open" (log in to
    #            this computer's existing shop)
    client: ShopClient | None = None
    profile: dict | None = None
    server: object | None = None  # the started EmbeddedServer, handed over to the app
    url: str = ""


class SetupScreen(QDialog):
    """`exec()`, then `.result_choice` (a SetupResult) when accepted. `start_server()` starts this computer's
    built-in server (in a worker thread) and returns it; its `settings.setup_key` authorises POST /setup."""

    def __init__(self, *, start_server: Callable[[], object], creds: Credentials, has_shop: bool,
                 server: object | None = None, page: str = "welcome", message: str = "",
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Welcome to shopdesk")
        self.setMinimumSize(720, 560)
        self.start_server, self.creds, self.has_shop = start_server, creds, has_shop
        self.server = server  # started lazily, kept across retries, stopped if setup is abandoned
        self.result_choice: SetupResult | None = None
        self.tasks = TaskRunner(self)
        self.pages = QStackedWidget()
        self.pages.addWidget(self._welcome_page())
        self.pages.addWidget(self._shop_page())
        self.pages.addWidget(self._connect_page())
        outer = QVBoxLayout(self)
        outer.addWidget(self.pages)
        self.show_page(page)
        if message:
            self.notice.setText(message)
            self.notice.setVisible(True)

    # --- pages ---------------------------------------------------------------------------------------
    def _welcome_page(self) -> QWidget:
        page = QWidget()
        v = QVBoxLayout(page)
        v.setContentsMargins(40, 30, 40, 30)
        title = QLabel("<h1>Welcome to shopdesk</h1>"
                       "<p>The counter software of your print shop. How do you want to start?</p>")
        title.setWordWrap(True)
        v.addWidget(title)
        self.notice = QLabel("")
        self.notice.setWordWrap(True)
        self.notice.setStyleSheet("background:#fff4ce; border:1px solid #e0c060; padding:8px;")
        self.notice.setVisible(False)
        v.addWidget(self.notice)
        if self.has_shop:
            self.btn_own = QCommandLinkButton("Open the shop on this computer",
                                              "This computer already holds your shop: log in to it.")
        else:
            self.btn_own = QCommandLinkButton("Set up this computer as my shop",
                                              "For a one-counter shop: your shop, your owner login, your prices "
                                              "and staff, kept on this computer.")
        self.btn_connect = QCommandLinkButton("Connect to a shop server",
                                              "Your shop already runs shopdesk-server (several counters or "
                                              "branches): give its address and your login.")
        self.btn_demo = QCommandLinkButton("Try the demo",
                                           "A sample shop with a queue of jobs, to look around. Nothing you do "
                                           "there touches a real shop.")
        for b in (self.btn_own, self.btn_connect, self.btn_demo):
            b.setMinimumHeight(64)
            v.addWidget(b)
        v.addStretch(1)
        self.btn_own.clicked.connect(self._own_chosen)
        self.btn_connect.clicked.connect(lambda: self.show_page("connect"))
        self.btn_demo.clicked.connect(lambda: self._finish(SetupResult("demo")))
        return page

    def _shop_page(self) -> QWidget:
        page = QWidget()
        v = QVBoxLayout(page)
        v.addWidget(QLabel("<h2>Set up this computer as your shop</h2>"
                           "<p>Everything stays on this computer. You can change it all later under "
                           "<i>Shop → Shop settings…</i></p>"))
        body = QWidget()
        b = QVBoxLayout(body)
        shop_box = QGroupBox("Your shop")
        self.shop_form = FieldForm()
        self.shop_name = self.shop_form.add("name", "Shop name", QLineEdit())
        self.shop_name.setPlaceholderText("e.g. Corner Copy Centre")
        self.shop_address = self.shop_form.add("address", "Address", QLineEdit())
        self.shop_phone = self.shop_form.add("phone", "Phone", QLineEdit())
        QVBoxLayout(shop_box).addWidget(self.shop_form)
        b.addWidget(shop_box)

        owner_box = QGroupBox("Your owner login")
        self.owner_form = FieldForm()
        self.owner_username = self.owner_form.add("username", "Username", QLineEdit(), "no spaces, e.g. meena")
        self.owner_full_name = self.owner_form.add("full_name", "Full name", QLineEdit())
        self.owner_password = self.owner_form.add("password", "Password", password_edit(),
                                                  f"at least {MIN_PASSWORD} characters")
        self.owner_password2 = self.owner_form.add("password2", "Password again", password_edit())
        self.keep_logged_in = QCheckBox("Keep me logged in on this computer (in the system keyring)")
        self.keep_logged_in.setChecked(True)
        ob = QVBoxLayout(owner_box)
        ob.addWidget(self.owner_form)
        ob.addWidget(self.keep_logged_in)
        b.addWidget(owner_box)

        price_box = QGroupBox("Prices (what one printed page costs)")
        self.price_grid = PriceGrid()
        QVBoxLayout(price_box).addWidget(self.price_grid)
        b.addWidget(price_box)

        self.staff_box = QGroupBox("A first staff login for the counter (optional)")
        self.staff_box.setCheckable(True)
        self.staff_box.setChecked(False)
        self.staff_form = FieldForm()
        self.staff_username = self.staff_form.add("username", "Username", QLineEdit())
        self.staff_full_name = self.staff_form.add("full_name", "Full name", QLineEdit())
        self.staff_password = self.staff_form.add("password", "Password", password_edit(),
                                                  f"at least {MIN_PASSWORD} characters")
        self.staff_password2 = self.staff_form.add("password2", "Password again", password_edit())
        QVBoxLayout(self.staff_box).addWidget(self.staff_form)
        b.addWidget(self.staff_box)
        b.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(body)
        self.shop_scroll = scroll
        v.addWidget(scroll, 1)

        self.setup_error = QLabel("")
        self.setup_error.setStyleSheet(ERROR_STYLE)
        self.setup_error.setWordWrap(True)
        self.setup_error.setVisible(False)
        v.addWidget(self.setup_error)
        self.setup_progress = QProgressBar()
        self.setup_progress.setRange(0, 0)
        self.setup_progress.setFormat("Creating your shop…")
        self.setup_progress.setTextVisible(True)
        self.setup_progress.setVisible(False)
        v.addWidget(self.setup_progress)
        row = QHBoxLayout()
        self.shop_back = QPushButton("Back")
        self.create_btn = QPushButton("Create my shop")
        self.create_btn.setObjectName("primary")
        self.create_btn.setDefault(True)
        row.addWidget(self.shop_back)
        row.addStretch(1)
        row.addWidget(self.create_btn)
        v.addLayout(row)
        self.shop_back.clicked.connect(lambda: self.show_page("welcome"))
        self.create_btn.clicked.connect(self.create_shop)
        return page

    def _connect_page(self) -> QWidget:
        page = QWidget()
        v = QVBoxLayout(page)
        v.addWidget(QLabel("<h2>Connect to a shop server</h2><p>The address of your shop's server and your "
                           "staff or owner login.</p>"))
        self.connect_form = FieldForm()
        self.server_url = self.connect_form.add("url", "Server address", QLineEdit(), "e.g. http://shop-server:8080")
        self.server_url.setPlaceholderText("http://")
        self.connect_username = self.connect_form.add("username", "Username", QLineEdit())
        self.connect_password = self.connect_form.add("password", "Password", password_edit())
        v.addWidget(self.connect_form)
        self.connect_remember = QCheckBox("Keep me logged in on this computer (in the system keyring)")
        self.connect_remember.setChecked(True)
        v.addWidget(self.connect_remember)
        self.connect_error = QLabel("")
        self.connect_error.setStyleSheet(ERROR_STYLE)
        self.connect_error.setWordWrap(True)
        self.connect_error.setVisible(False)
        v.addWidget(self.connect_error)
        self.connect_progress = QProgressBar()
        self.connect_progress.setRange(0, 0)
        self.connect_progress.setVisible(False)
        v.addWidget(self.connect_progress)
        v.addStretch(1)
        row = QHBoxLayout()
        back = QPushButton("Back")
        self.connect_btn = QPushButton("Connect")
        self.connect_btn.setObjectName("primary")
        row.addWidget(back)
        row.addStretch(1)
        row.addWidget(self.connect_btn)
        v.addLayout(row)
        back.clicked.connect(lambda: self.show_page("welcome"))
        self.connect_btn.clicked.connect(self.connect_server)
        self.server_url.returnPressed.connect(self.connect_server)
        self.connect_password.returnPressed.connect(self.connect_server)
        return page

    def show_page(self, name: str) -> None:
        self.pages.setCurrentIndex({"welcome": 0, "shop": 1, "connect": 2}[name])
        focus = {"welcome": self.btn_own, "shop": self.shop_name, "connect": self.server_url}[name]
        focus.setFocus()

    # --- set up this computer ------------------------------------------------------------------------
    def _own_chosen(self) -> None:
        if self.has_shop:
            self._finish(SetupResult("open", server=self.server))
        else:
            self.show_page("shop")

    def _check_form(self) -> dict | None:
        """The setup request, or None after showing every problem next to its field."""
        for form in (self.shop_form, self.owner_form, self.staff_form):
            form.clear_errors()
        self.setup_error.setVisible(False)
        ok = True

        def need(cond: bool, form: FieldForm, key: str, text: str) -> None:
            nonlocal ok
            if not cond:
                form.set_error(key, text)
                ok = False

        name = self.shop_name.text().strip()
        need(bool(name), self.shop_form, "name", "Your shop needs a name.")
        for form, user, pw, pw2, who in (
                (self.owner_form, self.owner_username, self.owner_password, self.owner_password2, "owner"),
                (self.staff_form, self.staff_username, self.staff_password, self.staff_password2, "staff")):
            if who == "staff" and not self.staff_box.isChecked():
                continue
            username = user.text().strip()
            need(bool(username) and not any(c.isspace() for c in username), form, "username",
                 "Choose a username without spaces.")
            need(len(pw.text()) >= MIN_PASSWORD, form, "password",
                 f"The password needs at least {MIN_PASSWORD} characters.")
            need(pw.text() == pw2.text(), form, "password2", "The two passwords are not the same.")
        if self.staff_box.isChecked():
            need(self.staff_username.text().strip().lower() != self.owner_username.text().strip().lower(),
                 self.staff_form, "username", "The staff login needs another username than the owner's.")
        prices = self.price_grid.prices()
        if prices is None:
            ok = False
        if not ok:
            self._scroll_to_first_error()
            return None
        body = {"shop": {"name": name, "address": self.shop_address.text().strip(),
                         "phone": self.shop_phone.text().strip()},
                "owner": {"username": self.owner_username.text().strip(), "password": self.owner_password.text(),
                          "full_name": self.owner_full_name.text().strip()},
                "prices": prices}
        if self.staff_box.isChecked():
            body["staff"] = {"username": self.staff_username.text().strip(), "password": self.staff_password.text(),
                             "full_name": self.staff_full_name.text().strip()}
        return body

    def _scroll_to_first_error(self) -> None:
        for form in (self.shop_form, self.owner_form, self.staff_form):
            w = form.first_error_widget()
            if w is not None:
                self.shop_scroll.ensureWidgetVisible(w)
                w.setFocus()
                return

    def _busy(self, busy: bool, progress: QProgressBar, *buttons: QWidget) -> None:
        progress.setVisible(busy)
        for b in buttons:
            b.setEnabled(not busy)

    def create_shop(self) -> None:
        body = self._check_form()
        if body is None:
            return
        self._busy(True, self.setup_progress, self.create_btn, self.shop_back)

        def work():
            if self.server is None:
                self.server = self.start_server()
            client = ShopClient(self.server.url)
            status = client.setup_status()
            if not status["needed"]:
                return client, None
            client.setup(body, self.server.settings.setup_key)
            return client, client.profile()

        self.tasks.run(work, on_done=self._created, on_error=self._setup_failed)

    def _created(self, result) -> None:
        self._busy(False, self.setup_progress, self.create_btn, self.shop_back)
        client, profile = result
        if profile is None:  # a shop was made meanwhile (an earlier, interrupted run): log in to it
            self._finish(SetupResult("open", server=self.server))
            return
        if self.keep_logged_in.isChecked():
            remember(self, self.creds, embedded_key(Path(self.server.settings.data_dir)), profile["username"],
                     client.token, self.owner_password.text())
        self._finish(SetupResult("embedded", client, profile, self.server, self.server.url))

    def _setup_failed(self, exc: BaseException) -> None:
        self._busy(False, self.setup_progress, self.create_btn, self.shop_back)
        if isinstance(exc, ValidationError) or (isinstance(exc, ApiError) and exc.status == 409):
            rest = field_problems(str(exc))
            rest = self.shop_form.show_problems(rest, "shop.")
            rest = self.owner_form.show_problems(rest, "owner.")
            rest = self.staff_form.show_problems(rest, "staff.")
            prices = {k: v for k, v in rest.items() if k.startswith("prices")}
            if prices:
                self.price_grid.show_error("; ".join(f"{k.removeprefix('prices.')}: {v}" for k, v in prices.items()))
            rest = {k: v for k, v in rest.items() if not k.startswith("prices")}
            text = "; ".join(f"{k}: {v}" if k else v for k, v in rest.items())
            self._scroll_to_first_error()
        else:
            log.warning("setup failed: %r", exc)
            text = f"The shop could not be created: {exc}"
        self.setup_error.setText(text)
        self.setup_error.setVisible(bool(text))

    # --- connect to a server -------------------------------------------------------------------------
    def connect_server(self) -> None:
        self.connect_form.clear_errors()
        self.connect_error.setVisible(False)
        url = self.server_url.text().strip().rstrip("/")
        bad = check_server_url(url)
        if bad:
            self.connect_form.set_error("url", bad)
        if not self.connect_username.text().strip():
            self.connect_form.set_error("username", "Enter your username.")
        if not self.connect_password.text():
            self.connect_form.set_error("password", "Enter your password.")
        if self.connect_form.first_error_widget() is not None:
            return
        self._busy(True, self.connect_progress, self.connect_btn)
        self.tasks.run(connect, url, self.connect_username.text().strip(), self.connect_password.text(),
                       on_done=lambda r: self._connected(url, *r), on_error=self._connect_failed)

    def _connected(self, url: str, client: ShopClient, profile: dict) -> None:
        self._busy(False, self.connect_progress, self.connect_btn)
        if self.connect_remember.isChecked():
            remember(self, self.creds, url, profile["username"], client.token, self.connect_password.text())
        self._finish(SetupResult("remote", client, profile, url=url))

    def _connect_failed(self, exc: BaseException) -> None:
        self._busy(False, self.connect_progress, self.connect_btn)
        self.connect_error.setText(str(exc) if isinstance(exc, ApiError) else f"Could not connect: {exc}")
        self.connect_error.setVisible(True)

    # --- leaving -------------------------------------------------------------------------------------
    def _finish(self, result: SetupResult) -> None:
        self.result_choice = result
        self.accept()

    def reject(self) -> None:
        if self.tasks.in_flight:  # a setup is on its way: let it end first, or the shop half-opens
            return
        if self.server is not None and (self.result_choice is None or self.result_choice.server is None):
            self.server.stop()
            self.server = None
        super().reject()

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Escape and self.pages.currentIndex() != 0:
            self.show_page("welcome")
            return
        super().keyPressEvent(event)
