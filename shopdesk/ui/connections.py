"""Shop → Connections… (owner): the shop's signed webhooks — add one (its secret is shown once), see
each with its last delivery and its recent deliveries, delete one. Every call runs in a worker."""

from __future__ import annotations

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..counter.endofday import local_time

EVENTS = (("job.uploaded", "A job arrives"), ("job.printing", "Printing starts"), ("job.printed", "Printed"),
          ("job.failed", "A print failed"), ("job.cancelled", "Cancelled by the shop"),
          ("job.withdrawn", "Withdrawn by the customer"), ("shop.opened", "Shop opened"),
          ("shop.closed", "Shop closed"))


def last_words(d: dict | None) -> str:
    if not d:
        return "nothing sent yet"
    when = local_time(d.get("delivered_at") or d.get("last_attempt_at") or d.get("created_at"))
    if d["status"] == "delivered":
        return f"delivered {when} ({d['type']})"
    if d["status"] == "failed":
        return f"gave up after {d['attempts']} tries: {d.get('last_error') or ''}"
    if d["attempts"]:
        return f"retrying ({d['attempts']} tries): {d.get('last_error') or ''}"
    return "waiting to be sent"


class ConnectionsDialog(QDialog):
    def __init__(self, tasks, client, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Connections")
        self.resize(860, 600)
        self.tasks, self.client = tasks, client
        self.hooks: list[dict] = []
        layout = QVBoxLayout(self)
        intro = QLabel("Other systems (an SMS or WhatsApp gateway, accounting) can hear about jobs: each event "
                       "is sent to their address, signed with a secret, and retried until they answer.")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["Address", "Events", "Last delivery"])
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
        self.table.itemSelectionChanged.connect(self.load_deliveries)
        layout.addWidget(self.table, 2)
        row = QHBoxLayout()
        self.refresh_btn = QPushButton("Refresh")
        self.refresh_btn.clicked.connect(self.refresh)
        self.delete_btn = QPushButton("Delete…")
        self.delete_btn.clicked.connect(lambda: self.delete_selected())
        row.addWidget(self.refresh_btn)
        row.addStretch(1)
        row.addWidget(self.delete_btn)
        layout.addLayout(row)
        self.deliveries = QTableWidget(0, 4)
        self.deliveries.setHorizontalHeaderLabels(["Time", "Event", "Status", "Answer"])
        self.deliveries.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.deliveries.verticalHeader().setVisible(False)
        self.deliveries.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        layout.addWidget(self.deliveries, 2)

        add = QGroupBox("Add a connection")
        grid = QGridLayout(add)
        grid.addWidget(QLabel("Address"), 0, 0)
        self.url = QLineEdit()
        self.url.setPlaceholderText("https://sms.example.com/shopdesk")
        grid.addWidget(self.url, 0, 1, 1, 4)
        self.events: dict[str, QCheckBox] = {}
        for i, (event, words) in enumerate(EVENTS):
            box = QCheckBox(words)
            box.setChecked(event in ("job.printed", "job.cancelled"))
            box.setToolTip(event)
            self.events[event] = box
            grid.addWidget(box, 1 + i // 4, 1 + i % 4)
        self.add_btn = QPushButton("Add")
        self.add_btn.clicked.connect(self.add)
        grid.addWidget(self.add_btn, 3, 4)
        self.secret = QLineEdit()
        self.secret.setReadOnly(True)
        self.secret.setVisible(False)
        self.copy_btn = QPushButton("Copy secret")
        self.copy_btn.setVisible(False)
        self.copy_btn.clicked.connect(lambda: QGuiApplication.clipboard().setText(self.secret.text()))
        grid.addWidget(self.secret, 4, 1, 1, 3)
        grid.addWidget(self.copy_btn, 4, 4)
        layout.addWidget(add)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        self.refresh()

    def refresh(self) -> None:
        self.tasks.run(self.client.webhooks, on_done=self.show_hooks,
                       on_error=lambda e: self.status.setText(f"Could not load the connections: {e}"))

    def show_hooks(self, hooks: list[dict]) -> None:
        self.hooks = hooks
        self.table.setRowCount(len(hooks))
        for r, h in enumerate(hooks):
            for c, value in enumerate((h["url"], ", ".join(h["events"]), last_words(h.get("last_delivery")))):
                self.table.setItem(r, c, QTableWidgetItem(value))
        self.delete_btn.setEnabled(bool(hooks))
        if not hooks:
            self.deliveries.setRowCount(0)

    def selected(self) -> dict | None:
        rows = self.table.selectionModel().selectedRows()
        return self.hooks[rows[0].row()] if rows and rows[0].row() < len(self.hooks) else None

    def load_deliveries(self) -> None:
        hook = self.selected()
        if hook is None:
            return
        self.tasks.run(self.client.webhook_deliveries, hook["id"], on_done=self.show_deliveries,
                       on_error=lambda e: self.status.setText(f"Could not load the deliveries: {e}"))

    def show_deliveries(self, rows: list[dict]) -> None:
        self.deliveries.setRowCount(len(rows))
        for r, d in enumerate(rows):
            answer = str(d["last_status_code"] or "") if d["status"] == "delivered" else (d.get("last_error") or "")
            for c, value in enumerate((local_time(d["created_at"]), d["type"], d["status"], answer)):
                self.deliveries.setItem(r, c, QTableWidgetItem(value))

    def add(self) -> None:
        url = self.url.text().strip()
        events = [e for e, box in self.events.items() if box.isChecked()]
        if not url.startswith(("http://", "https://")):
            self.status.setText("Give the address it answers on, starting with https:// (or http:// on your own network).")
            return
        if not events:
            self.status.setText("Choose at least one event to send.")
            return
        self.add_btn.setEnabled(False)
        self.status.setText("Adding…")

        def done(hook: dict) -> None:
            self.add_btn.setEnabled(True)
            self.url.clear()
            self.secret.setText(hook["secret"])
            self.secret.setVisible(True)
            self.copy_btn.setVisible(True)
            self.status.setText("Added. Copy the secret into the receiving system now: it is shown only this once. "
                                "It checks the Shopdesk-Signature header of every delivery with it.")
            self.refresh()

        def failed(exc: BaseException) -> None:
            self.add_btn.setEnabled(True)
            self.status.setText(f"Not added: {exc}")

        self.tasks.run(self.client.add_webhook, url, events, on_done=done, on_error=failed)

    def delete_selected(self, ask: bool = True) -> None:
        hook = self.selected()
        if hook is None:
            self.status.setText("Choose a connection in the list first.")
            return
        if ask and QMessageBox.question(self, "Delete connection", f"Stop sending events to {hook['url']}? "
                                        "Deliveries not yet sent are dropped.") != QMessageBox.StandardButton.Yes:
            return
        self.tasks.run(self.client.delete_webhook, hook["id"],
                       on_done=lambda _: (self.status.setText(f"Deleted {hook['url']}."), self.refresh()),
                       on_error=lambda e: self.status.setText(f"Could not delete: {e}"))
