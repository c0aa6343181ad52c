"""Print history: finished jobs with search, status and a date range, paged from the server."""

from __future__ import annotations

from datetime import UTC, datetime, time

from PySide6.QtCore import QDate, Qt, QTimer
from PySide6.QtWidgets import (
    QComboBox,
    QDateEdit,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from .queue_model import STATUS_TEXT, money

PAGE = 100


class HistoryDialog(QDialog):
    """`load(params: dict)` runs off the main thread and returns the server's history page."""

    def __init__(self, tasks, load, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Print history")
        self.resize(1000, 600)
        self._tasks, self._load = tasks, load
        self._offset = 0
        layout = QVBoxLayout(self)
        bar = QHBoxLayout()
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search code, file or customer…")
        self.search.setClearButtonEnabled(True)
        self.status = QComboBox()
        self.status.addItem("All finished", None)
        for key in ("downloaded", "cancelled", "withdrawn"):
            self.status.addItem(STATUS_TEXT[key], key)
        today = QDate.currentDate()
        self.date_from = QDateEdit(today.addDays(-30))
        self.date_to = QDateEdit(today)
        for d in (self.date_from, self.date_to):
            d.setCalendarPopup(True)
            d.setDisplayFormat("yyyy-MM-dd")
        bar.addWidget(self.search, 2)
        bar.addWidget(self.status)
        bar.addWidget(QLabel("from"))
        bar.addWidget(self.date_from)
        bar.addWidget(QLabel("to"))
        bar.addWidget(self.date_to)
        layout.addLayout(bar)
        self.table = QTableWidget(0, 8)
        self.table.setHorizontalHeaderLabels(["When", "Status", "Code", "Customer", "File", "Pages × copies",
                                              "Cost", "Counter / reason"])
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        layout.addWidget(self.table)
        foot = QHBoxLayout()
        self.summary = QLabel("")
        self.prev_btn = QPushButton("◀ Newer")
        self.next_btn = QPushButton("Older ▶")
        self.prev_btn.clicked.connect(lambda: self._page(-PAGE))
        self.next_btn.clicked.connect(lambda: self._page(PAGE))
        foot.addWidget(self.summary, 1)
        foot.addWidget(self.prev_btn)
        foot.addWidget(self.next_btn)
        layout.addLayout(foot)
        self._debounce = QTimer(self, singleShot=True, interval=300)
        self._debounce.timeout.connect(self.reload)
        self.search.textChanged.connect(lambda _t: self._debounce.start())
        self.status.currentIndexChanged.connect(lambda _i: self.reload())
        self.date_from.dateChanged.connect(lambda _d: self.reload())
        self.date_to.dateChanged.connect(lambda _d: self.reload())
        self.reload()

    def params(self) -> dict:
        start = datetime.combine(self.date_from.date().toPython(), time.min, tzinfo=UTC)
        end = datetime.combine(self.date_to.date().toPython(), time.max, tzinfo=UTC)
        p = {"limit": PAGE, "offset": self._offset, "from": start.isoformat(), "to": end.isoformat()}
        if self.search.text().strip():
            p["search"] = self.search.text().strip()
        if self.status.currentData():
            p["status"] = self.status.currentData()
        return p

    def reload(self) -> None:
        self._offset = 0
        self._fetch()

    def _page(self, delta: int) -> None:
        self._offset = max(0, self._offset + delta)
        self._fetch()

    def _fetch(self) -> None:
        self.summary.setText("Loading…")
        self._tasks.run(self._load, self.params(), on_done=self.show_page,
                        on_error=lambda e: self.summary.setText(f"Could not load the history: {e}"))

    def show_page(self, page: dict) -> None:
        jobs = page["jobs"]
        self.table.setRowCount(len(jobs))
        for r, j in enumerate(jobs):
            reason = j.get("cancel_reason") or (f"{j.get('counter') or ''} {j.get('printer') or ''}".strip())
            values = [j["updated_at"][:16].replace("T", " "), STATUS_TEXT.get(j["status"], j["status"]), j["code"],
                      j.get("customer_name") or "Walk-in", j["original_name"], f"{j['num_pages']} × {j['copies']}",
                      money(j["cost"]), reason]
            for c, v in enumerate(values):
                item = QTableWidgetItem(v)
                if c == 6:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(r, c, item)
        self.table.resizeColumnsToContents()
        total = page["total"]
        shown = f"{page['offset'] + 1}–{page['offset'] + len(jobs)}" if jobs else "0"
        self.summary.setText(f"{shown} of {total} finished job{'s' if total != 1 else ''}")
        self.prev_btn.setEnabled(page["offset"] > 0)
        self.next_btn.setEnabled(page["offset"] + len(jobs) < total)
