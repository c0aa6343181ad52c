"""Shop → Shop settings… (the owner's): the shop's profile, its prices (with what an example order costs),
its logins (add, disable, reset a password, change a role), the shop's activity — every change the
server records — and its counters (last heard from, version, printers, live or silent). Every call runs in a worker; the dialog only draws and says what went wrong, next to
the field it concerns."""

from __future__ import annotations

import functools
from datetime import datetime
from decimal import Decimal

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ..client.errors import ApiError
from .forms import ERROR_STYLE, FieldForm, field_problems, password_edit
from .login import run_blocking
from .prices import COLOURS, PAPERS, PriceGrid, format_money
from .tasks import TaskRunner

MIN_PASSWORD = 10


def _local(iso: str | None) -> str:
    if not iso:
        return "never"
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone().strftime("%Y-%m-%d %H:%M")


def _status(label: QLabel, text: str, ok: bool) -> None:
    label.setStyleSheet("color:#1a7f37;" if ok else ERROR_STYLE)
    label.setText(text)
    label.setVisible(bool(text))


def _footer(v: QVBoxLayout, button_text: str, slot) -> tuple[QLabel, QPushButton]:
    """A tab's end: a status line, then its Save button on the right."""
    status = QLabel("")
    status.setWordWrap(True)
    v.addWidget(status)
    v.addStretch(1)
    row = QHBoxLayout()
    row.addStretch(1)
    button = QPushButton(button_text)
    button.setObjectName("primary")
    button.clicked.connect(slot)
    row.addWidget(button)
    v.addLayout(row)
    return status, button


class ShopSettingsDialog(QDialog):
    def __init__(self, tasks: TaskRunner, client, parent: QWidget | None = None):
        super().__init__(parent)
        self.tasks, self.client = tasks, client
        self.setWindowTitle("Shop settings — shopdesk")
        self.setMinimumSize(760, 520)
        self.tabs = QTabWidget()
        self.tabs.addTab(self._profile_tab(), "Shop")
        self.tabs.addTab(self._prices_tab(), "Prices")
        self.tabs.addTab(self._staff_tab(), "Logins")
        self.tabs.addTab(self._activity_tab(), "Activity")
        self.tabs.addTab(self._counters_tab(), "Counters")
        self.tabs.currentChanged.connect(self._tab_changed)
        v = QVBoxLayout(self)
        v.addWidget(self.tabs)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        v.addWidget(close)
        self.staff_rows: list[dict] = []
        self.load()

    # --- loading ---------------------------------------------------------------------------------------
    def load(self) -> None:
        self.tasks.run(self.client.shop, on_done=self._shop_loaded, on_error=self._load_failed)
        self.load_staff()

    def _load_failed(self, exc: BaseException) -> None:
        _status(self.profile_status, f"Could not load the shop: {exc}", False)

    def _shop_loaded(self, shop: dict) -> None:
        self.shop = shop
        for key, edit in (("name", self.name), ("address", self.address), ("phone", self.phone),
                          ("hours", self.hours)):
            edit.setText(shop.get(key) or "")
        self.price_grid.set_prices(shop["prices"])
        self.update_example()

    def _tab_changed(self, index: int) -> None:
        if self.tabs.tabText(index) == "Activity":
            self.load_activity()
        elif self.tabs.tabText(index) == "Counters":
            self.load_counters()

    # --- the shop's profile ------------------------------------------------------------------------------
    def _profile_tab(self) -> QWidget:
        page = QWidget()
        v = QVBoxLayout(page)
        self.profile_form = FieldForm()
        self.name = self.profile_form.add("name", "Shop name", QLineEdit())
        self.address = self.profile_form.add("address", "Address", QLineEdit())
        self.phone = self.profile_form.add("phone", "Phone", QLineEdit())
        self.hours = self.profile_form.add("hours", "Opening hours", QLineEdit(), "e.g. Mon–Sat 9:00–19:00")
        v.addWidget(self.profile_form)
        self.profile_status, self.save_profile_btn = _footer(v, "Save", self.save_profile)
        return page

    def save_profile(self) -> None:
        self.profile_form.clear_errors()
        if not self.name.text().strip():
            self.profile_form.set_error("name", "The shop needs a name.")
            return
        values = {"name": self.name.text().strip(), "address": self.address.text().strip(),
                  "phone": self.phone.text().strip(), "hours": self.hours.text().strip()}
        self.save_profile_btn.setEnabled(False)

        def done(shop: dict) -> None:
            self.save_profile_btn.setEnabled(True)
            _status(self.profile_status, "Saved.", True)
            self.shop = shop

        def failed(exc: BaseException) -> None:
            self.save_profile_btn.setEnabled(True)
            rest = self.profile_form.show_problems(field_problems(str(exc)))
            _status(self.profile_status, "; ".join(rest.values()) if rest else "", False)

        self.tasks.run(self.client.update_shop, **values, on_done=done, on_error=failed)

    # --- prices --------------------------------------------------------------------------------------
    def _prices_tab(self) -> QWidget:
        page = QWidget()
        v = QVBoxLayout(page)
        v.addWidget(QLabel("What one printed page costs. New uploads and quotes use the new prices; jobs "
                           "already waiting keep the price they were given."))
        self.price_grid = PriceGrid()
        v.addWidget(self.price_grid)
        example = QHBoxLayout()
        example.addWidget(QLabel("Example order:"))
        self.ex_pages = QSpinBox()
        self.ex_pages.setRange(1, 2000)
        self.ex_pages.setValue(10)
        self.ex_pages.setSuffix(" pages")
        self.ex_copies = QSpinBox()
        self.ex_copies.setRange(1, 99)
        self.ex_copies.setValue(2)
        self.ex_copies.setSuffix(" copies")
        self.ex_colour = QComboBox()
        for key, label in COLOURS.items():
            self.ex_colour.addItem(label, key)
        self.ex_paper = QComboBox()
        for paper in PAPERS:
            self.ex_paper.addItem(paper, paper)
        self.ex_cost = QLabel("")
        self.ex_cost.setObjectName("example-cost")
        self.ex_cost.setTextFormat(Qt.TextFormat.RichText)
        for w in (self.ex_pages, self.ex_copies, self.ex_colour, self.ex_paper):
            example.addWidget(w)
        example.addWidget(self.ex_cost, 1)
        v.addLayout(example)
        for sig in (self.ex_pages.valueChanged, self.ex_copies.valueChanged, self.ex_colour.currentIndexChanged,
                    self.ex_paper.currentIndexChanged):
            sig.connect(lambda *_: self.update_example())
        self.price_grid.changed.connect(self.update_example)
        self.prices_status, self.save_prices_btn = _footer(v, "Save prices", self.save_prices)
        return page

    def example_cost(self) -> Decimal | None:
        price = self.price_grid.price(self.ex_colour.currentData(), self.ex_paper.currentData())
        if price is None:
            return None
        return price * self.ex_pages.value() * self.ex_copies.value()

    def update_example(self) -> None:
        cost = self.example_cost()
        self.ex_cost.setText("= <b>…</b> (fix the price above)" if cost is None else f"= <b>{format_money(cost)}</b>")

    def save_prices(self) -> None:
        prices = self.price_grid.prices()
        if prices is None:
            return
        self.save_prices_btn.setEnabled(False)

        def done(_rows) -> None:
            self.save_prices_btn.setEnabled(True)
            _status(self.prices_status, "Saved: new uploads use these prices.", True)

        def failed(exc: BaseException) -> None:
            self.save_prices_btn.setEnabled(True)
            _status(self.prices_status, f"Not saved: {exc}", False)

        self.tasks.run(self.client.set_prices, prices, on_done=done, on_error=failed)

    # --- logins --------------------------------------------------------------------------------------
    def _staff_tab(self) -> QWidget:
        page = QWidget()
        v = QVBoxLayout(page)
        self.staff_table = QTableWidget(0, 5)
        self.staff_table.setHorizontalHeaderLabels(["Username", "Name", "Role", "Status", "Last login"])
        self.staff_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.staff_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.staff_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.staff_table.verticalHeader().setVisible(False)
        self.staff_table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        v.addWidget(self.staff_table)
        row = QHBoxLayout()
        self.add_btn = QPushButton("Add login…")
        self.toggle_btn = QPushButton("Disable")
        self.reset_btn = QPushButton("Reset password…")
        self.role_btn = QPushButton("Make owner")
        for b in (self.add_btn, self.toggle_btn, self.reset_btn, self.role_btn):
            row.addWidget(b)
        row.addStretch(1)
        v.addLayout(row)
        self.staff_status = QLabel("")
        self.staff_status.setWordWrap(True)
        v.addWidget(self.staff_status)
        self.add_btn.clicked.connect(self.add_login)
        self.toggle_btn.clicked.connect(self.toggle_active)
        self.reset_btn.clicked.connect(self.reset_password)
        self.role_btn.clicked.connect(self.toggle_role)
        self.staff_table.itemSelectionChanged.connect(self._staff_selected)
        self._staff_selected()
        return page

    def load_staff(self, select_id: int | None = None) -> None:
        self.tasks.run(self.client.staff, on_done=lambda rows: self._staff_loaded(rows, select_id),
                       on_error=lambda e: _status(self.staff_status, f"Could not load the logins: {e}", False))

    def _staff_loaded(self, rows: list[dict], select_id: int | None) -> None:
        self.staff_rows = rows
        self.staff_table.setRowCount(len(rows))
        for r, u in enumerate(rows):
            cells = [u["username"], u["full_name"], u["role"], "active" if u["active"] else "disabled",
                     _local(u["last_login_at"])]
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if not u["active"]:
                    item.setForeground(Qt.GlobalColor.gray)
                self.staff_table.setItem(r, c, item)
            if u["id"] == select_id:
                self.staff_table.selectRow(r)
        self.staff_table.resizeColumnToContents(0)
        self._staff_selected()

    def selected_login(self) -> dict | None:
        rows = self.staff_table.selectionModel().selectedRows()
        return self.staff_rows[rows[0].row()] if rows else None

    def _staff_selected(self) -> None:
        u = self.selected_login()
        for b in (self.toggle_btn, self.reset_btn, self.role_btn):
            b.setEnabled(u is not None)
        if u is not None:
            self.toggle_btn.setText("Disable" if u["active"] else "Enable")
            self.role_btn.setText("Make staff" if u["role"] == "owner" else "Make owner")

    def _change(self, user: dict, done_words: str, **change) -> None:
        def done(updated: dict) -> None:
            _status(self.staff_status, done_words.format(name=updated["username"]), True)
            self.load_staff(select_id=updated["id"])

        def failed(exc: BaseException) -> None:
            _status(self.staff_status, str(exc) if isinstance(exc, ApiError) else f"Failed: {exc}", False)

        self.tasks.run(self.client.update_staff, user["id"], **change, on_done=done, on_error=failed)

    def toggle_active(self) -> None:
        u = self.selected_login()
        if u is None:
            return
        if u["active"]:
            if QMessageBox.question(self, "Disable login",
                                    f"Disable '{u['username']}'? They are logged out everywhere at once and "
                                    "cannot log in until you enable the login again.") != QMessageBox.StandardButton.Yes:
                return
            self._change(u, "'{name}' is disabled and logged out everywhere.", active=False)
        else:
            self._change(u, "'{name}' can log in again.", active=True)

    def toggle_role(self) -> None:
        u = self.selected_login()
        if u is not None:
            role = "staff" if u["role"] == "owner" else "owner"
            self._change(u, "'{name}' is now " + ("an owner." if role == "owner" else "staff."), role=role)

    def reset_password(self) -> None:
        u = self.selected_login()
        if u is None:
            return
        dlg = LoginEditor(self, title=f"New password for {u['username']}", username=u["username"])
        if dlg.exec():
            self._change(u, "The password of '{name}' was changed; their old sessions have ended.",
                         password=dlg.password.text())

    def add_login(self) -> None:
        dlg = LoginEditor(self, title="Add a login")
        while dlg.exec():
            body = dlg.values()
            try:
                user = run_blocking(functools.partial(self.client.add_staff, **body))
            except ApiError as exc:
                rest = dlg.form.show_problems(field_problems(str(exc)))
                dlg.error.setText("; ".join(rest.values()))
                dlg.error.setVisible(bool(rest))
                continue
            _status(self.staff_status, f"'{user['username']}' can now log in as {user['role']}.", True)
            self.load_staff(select_id=user["id"])
            return

    # --- activity ------------------------------------------------------------------------------------
    def _activity_tab(self) -> QWidget:
        page = QWidget()
        v = QVBoxLayout(page)
        self.activity = QTableWidget(0, 4)
        self.activity.setHorizontalHeaderLabels(["When", "Who", "What", "Details"])
        self.activity.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.activity.verticalHeader().setVisible(False)
        self.activity.horizontalHeader().setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        v.addWidget(self.activity)
        return page

    def load_activity(self) -> None:
        self.tasks.run(self.client.shop_events, on_done=self._activity_loaded,
                       on_error=lambda e: None)

    def _activity_loaded(self, events: list[dict]) -> None:
        words = {"shop.setup": "shop set up", "profile.update": "shop details changed",
                 "prices.update": "prices changed", "staff.add": "login added", "staff.disable": "login disabled",
                 "staff.enable": "login enabled", "staff.password": "password reset", "staff.role": "role changed",
                 "staff.rename": "name changed", "login.guessing": "password guessing"}
        self.activity.setRowCount(len(events))
        for r, e in enumerate(events):
            what = words.get(e["action"], e["action"]) + (f": {e['target']}" if e.get("target") else "")
            for c, text in enumerate((_local(e["at"]), e["actor"], what, e.get("detail") or "")):
                self.activity.setItem(r, c, QTableWidgetItem(text))
        self.activity.resizeColumnsToContents()
        self.activity.horizontalHeader().setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)

    # --- counters --------------------------------------------------------------------------------------
    def _counters_tab(self) -> QWidget:
        page = QWidget()
        v = QVBoxLayout(page)
        self.counters_note = QLabel("")
        self.counters_note.setWordWrap(True)
        v.addWidget(self.counters_note)
        self.counters = QTableWidget(0, 4)
        self.counters.setHorizontalHeaderLabels(["Counter", "Last heard from", "Version", "Printers"])
        self.counters.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.counters.verticalHeader().setVisible(False)
        self.counters.horizontalHeader().setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        v.addWidget(self.counters)
        return page

    def load_counters(self) -> None:
        self.tasks.run(self.client.counters, on_done=self._counters_loaded,
                       on_error=lambda e: self.counters_note.setText(f"Could not load the counters: {e}"))

    def _counters_loaded(self, answer: dict) -> None:
        rows = answer.get("counters") or []
        if answer.get("paused"):
            note = "Paused: no printer of a live counter is ready, so customers cannot send files."
        elif answer.get("unavailable"):
            note = "; ".join(answer["unavailable"]) + "."
        else:
            note = "" if rows else "No counter has reported itself yet (older versions do not)."
        self.counters_note.setText(note)
        self.counters.setRowCount(len(rows))
        for r, c in enumerate(rows):
            printers = c.get("printers")
            if printers is None:
                shown = "not reported"
            else:
                shown = ", ".join(f"{p['name']}: " + ("ready" if p["ready"] else (p.get("reason") or "not ready"))
                                  for p in printers) or "none"
            seen = _local(c["last_seen_at"]) + ("" if c["state"] == "live" else " — silent")
            for col, text in enumerate((c["counter"], seen, c.get("version") or "", shown)):
                self.counters.setItem(r, col, QTableWidgetItem(text))
        self.counters.resizeColumnsToContents()
        self.counters.horizontalHeader().setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)


class LoginEditor(QDialog):
    """A new login (username, name, role, password twice) or, with `username` given, a new password."""

    def __init__(self, parent: QWidget | None, *, title: str, username: str = ""):
        super().__init__(parent)
        self.setWindowTitle(title)
        self.new = not username
        v = QVBoxLayout(self)
        self.form = FieldForm()
        if self.new:
            self.username = self.form.add("username", "Username", QLineEdit(), "no spaces")
            self.full_name = self.form.add("full_name", "Full name", QLineEdit())
            self.role = self.form.add("role", "Role", QComboBox())
            self.role.addItem("Staff (the counter)", "staff")
            self.role.addItem("Owner (also prices, logins, payouts)", "owner")
        self.password = self.form.add("password", "Password", password_edit(), f"at least {MIN_PASSWORD} characters")
        self.password2 = self.form.add("password2", "Password again", password_edit())
        v.addWidget(self.form)
        self.error = QLabel("")
        self.error.setStyleSheet(ERROR_STYLE)
        self.error.setWordWrap(True)
        self.error.setVisible(False)
        v.addWidget(self.error)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Add login" if self.new else "Set password")
        buttons.accepted.connect(self._check)
        buttons.rejected.connect(self.reject)
        v.addWidget(buttons)

    def values(self) -> dict:
        return {"username": self.username.text().strip(), "full_name": self.full_name.text().strip(),
                "role": self.role.currentData(), "password": self.password.text()}

    def _check(self) -> None:
        self.form.clear_errors()
        ok = True
        if self.new and (not self.username.text().strip() or any(c.isspace() for c in self.username.text().strip())):
            self.form.set_error("username", "Choose a username without spaces.")
            ok = False
        if len(self.password.text()) < MIN_PASSWORD:
            self.form.set_error("password", f"The password needs at least {MIN_PASSWORD} characters.")
            ok = False
        elif self.password.text() != self.password2.text():
            self.form.set_error("password2", "The two passwords are not the same.")
            ok = False
        if ok:
            self.accept()
