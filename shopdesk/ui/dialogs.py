"""Small dialogs: log in, cancel an order (preset reasons + free text), "Did it print?"."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

CANCEL_REASONS = (
    "Printer out of order. Please try another shop.",
    "The file could not be opened. Please upload it again as PDF.",
    "Out of the requested paper size.",
    "Colour printing is not available right now.",
    "The customer asked to cancel.",
    "Other (write below)",
)


class LoginDialog(QDialog):
    def __init__(self, server_url: str, username: str = "", message: str = "", parent: QWidget | None = None, *,
                 show_server: bool = True, title: str = ""):
        super().__init__(parent)
        self.setWindowTitle(f"Log in to {title} — shopdesk" if title else "Log in — shopdesk")
        form = QFormLayout()
        self.server = QLineEdit(server_url)
        self.server.setPlaceholderText("http://shop-server:8080")
        self.username = QLineEdit(username)
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.remember = QCheckBox("Keep me logged in on this computer (in the system keyring)")
        self.remember.setChecked(True)
        if show_server:
            form.addRow("Server", self.server)
        form.addRow("Username", self.username)
        form.addRow("Password", self.password)
        layout = QVBoxLayout(self)
        self.message = QLabel(message)
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #b00020;")
        self.message.setVisible(bool(message))
        layout.addWidget(self.message)
        layout.addLayout(form)
        layout.addWidget(self.remember)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Log in")
        buttons.accepted.connect(self._check)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        (self.password if username else self.username).setFocus()

    def show_error(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(True)

    def _check(self) -> None:
        if not self.username.text().strip() or not self.password.text():
            self.show_error("Enter your username and password.")
            return
        self.accept()


class CancelDialog(QDialog):
    """Asks why an order is cancelled; the reason goes to the customer."""

    def __init__(self, job: dict, order: dict, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Cancel order")
        n = len(order.get("files", [])) or 1
        who = order.get("customer_name") or "walk-in customer"
        layout = QVBoxLayout(self)
        head = QLabel(f"Cancel the order of <b>{who}</b> ({n} file{'s' if n > 1 else ''}, code {job['code']})?"
                      "<br>Files already printed stay printed; the rest are refunded.")
        head.setWordWrap(True)
        layout.addWidget(head)
        self.preset = QComboBox()
        self.preset.addItems(CANCEL_REASONS)
        self.text = QPlainTextEdit()
        self.text.setPlaceholderText("Reason for the customer (optional with a preset)")
        self.text.setMaximumHeight(80)
        layout.addWidget(QLabel("Reason"))
        layout.addWidget(self.preset)
        layout.addWidget(self.text)
        buttons = QDialogButtonBox()
        self.ok = buttons.addButton("Cancel order", QDialogButtonBox.ButtonRole.DestructiveRole)
        keep = buttons.addButton("Keep it", QDialogButtonBox.ButtonRole.RejectRole)
        self.ok.clicked.connect(self._check)
        keep.clicked.connect(self.reject)
        keep.setDefault(True)
        layout.addWidget(buttons)

    def reason(self) -> str:
        preset = self.preset.currentText()
        extra = self.text.toPlainText().strip()
        if preset.startswith("Other"):
            return extra
        return f"{preset} {extra}".strip()

    def _check(self) -> None:
        if not self.reason():
            QMessageBox.warning(self, "Cancel order", "Write a reason for the customer.")
            return
        self.accept()


def ask_did_it_print(parent: QWidget, job: dict, printer: str) -> bool | None:
    """True: printed (confirm); False: not printed (report failure); None: decide later."""
    box = QMessageBox(parent)
    box.setWindowTitle("Did it print?")
    box.setIcon(QMessageBox.Icon.Question)
    box.setText(f"Did <b>{job['original_name']}</b> (code {job['code']}) come out of {printer} "
                f"completely — {job['num_pages']} page(s) × {job['copies']}?")
    box.setTextFormat(Qt.TextFormat.RichText)
    yes = box.addButton("Yes, it printed", QMessageBox.ButtonRole.YesRole)
    no = box.addButton("No, it did not", QMessageBox.ButtonRole.NoRole)
    box.addButton("Ask me later", QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(yes)
    box.exec()
    if box.clickedButton() is yes:
        return True
    if box.clickedButton() is no:
        return False
    return None
