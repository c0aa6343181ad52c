"""Shop → End of day… (owner): the reconciliation of a chosen day — per counter, per printer, and what
needs a look — printed as a one-page report through the counter's printers, or exported as CSV. Every
call runs in a worker; this dialog only draws."""

from __future__ import annotations

from PySide6.QtCore import QDate, Qt, QTimeZone
from PySide6.QtWidgets import (
    QComboBox,
    QDateEdit,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..counter.endofday import COLUMNS, KIND_WORDS, amount, cell, jobs_words, local_time, make_report_pdf


def local_zone() -> str | None:
    """This computer's IANA zone (the shop's day is the counter's day), or None for the server's."""
    zone = bytes(QTimeZone.systemTimeZoneId().data()).decode(errors="replace")
    return zone if "/" in zone or zone == "UTC" else None


class EndOfDayDialog(QDialog):
    def __init__(self, service, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("End of day")
        self.resize(940, 640)
        self.service, self.tasks, self.client = service, service.tasks, service.client
        self.tz = local_zone()
        self.report: dict | None = None
        self._asked = 0  # the newest load; an older answer arriving late is dropped
        layout = QVBoxLayout(self)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Day"))
        self.day = QDateEdit(QDate.currentDate())
        self.day.setCalendarPopup(True)
        self.day.setDisplayFormat("yyyy-MM-dd")
        self.day.setMaximumDate(QDate.currentDate())
        self.day.dateChanged.connect(self.refresh)
        bar.addWidget(self.day)
        bar.addWidget(QLabel(f"<span style='color:#667'>{self.tz or 'server time'}</span>"))
        bar.addStretch(1)
        self.printer = QComboBox()
        self.printer.addItems([p.name for p in service.printers()])
        preferred = service.settings.poster_printer or service.settings.default_printer
        if preferred and self.printer.findText(preferred) >= 0:
            self.printer.setCurrentText(preferred)
        bar.addWidget(self.printer)
        self.print_btn = QPushButton("Print report")
        self.print_btn.clicked.connect(self.print_report)
        bar.addWidget(self.print_btn)
        self.export_btn = QPushButton("Export CSV…")
        self.export_btn.clicked.connect(lambda: self.export_csv())
        bar.addWidget(self.export_btn)
        layout.addLayout(bar)
        self.totals = QLabel("Loading…")
        self.totals.setTextFormat(Qt.TextFormat.RichText)
        self.totals.setWordWrap(True)
        layout.addWidget(self.totals)
        heads = [h for h, _ in COLUMNS]
        self.counters = self._table(["Counter", *heads])
        self.printers = self._table(["Printer", *heads])
        self.issues = self._table(["Time", "Code", "What", "Counter / printer", "Detail"])
        for c in range(4):
            self.issues.horizontalHeader().setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
        for title, table, stretch in (("By counter", self.counters, 2), ("By printer", self.printers, 2),
                                      ("Needs a look", self.issues, 3)):
            label = QLabel(f"<b>{title}</b>")
            layout.addWidget(label)
            layout.addWidget(table, stretch)
        self.status = QLabel("")
        layout.addWidget(self.status)
        close = QPushButton("Close")
        close.clicked.connect(self.accept)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(close)
        layout.addLayout(row)
        self.refresh()

    @staticmethod
    def _table(heads: list[str]) -> QTableWidget:
        t = QTableWidget(0, len(heads))
        t.setHorizontalHeaderLabels(heads)
        t.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        t.verticalHeader().setVisible(False)
        t.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        return t

    def day_text(self) -> str:
        return self.day.date().toString("yyyy-MM-dd")

    def refresh(self) -> None:
        self._asked += 1
        asked, day = self._asked, self.day_text()
        self.totals.setText("Loading…")
        self.print_btn.setEnabled(False)
        self.tasks.run(self.client.reconciliation, day, self.tz,
                       on_done=lambda rep: self.show_report(rep) if asked == self._asked else None,
                       on_error=lambda e: self._failed(asked, e))

    def _failed(self, asked: int, exc: BaseException) -> None:
        if asked == self._asked:
            self.totals.setText(f"<span style='color:#b00020'>Could not load the day: {exc}</span>")

    def show_report(self, rep: dict) -> None:
        self.report = rep
        t = rep["totals"]
        self.totals.setText(
            f"<b>{jobs_words(t['jobs_printed'])}</b> · <b>{t['sheets']}</b> sheets · <b>{t['impressions']}</b> "
            f"impressions · <b>{t['pages_charged']}</b> pages charged · earned <b>{amount(t['earned'])}</b> · "
            f"refunds <b>{amount(t['refunds'])}</b>" + ("" if t["jobs_printed"] or t["refunds"] else
                                                         " <span style='color:#667'>(nothing this day)</span>"))
        for table, rows, key in ((self.counters, rep["counters"], "counter"), (self.printers, rep["printers"], "printer")):
            table.setRowCount(len(rows))
            for r, row in enumerate(rows):
                table.setItem(r, 0, QTableWidgetItem(row.get(key) or "—"))
                for c, (_, k) in enumerate(COLUMNS, start=1):
                    item = QTableWidgetItem(cell(row, k))
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                    table.setItem(r, c, item)
        issues = rep["discrepancies"]
        self.issues.setRowCount(len(issues))
        for r, i in enumerate(issues):
            where = " / ".join(x for x in (i.get("counter"), i.get("printer")) if x)
            for c, value in enumerate((local_time(i.get("at")), i["code"], KIND_WORDS.get(i["kind"], i["kind"]),
                                       where, i["detail"])):
                self.issues.setItem(r, c, QTableWidgetItem(value))
        self.print_btn.setEnabled(self.printer.count() > 0)
        self.status.setText("")

    def print_report(self) -> None:
        if self.report is None or not self.printer.currentText():
            return
        rep, printer = self.report, self.printer.currentText()
        path = self.service.data_dir / "reports" / f"end-of-day-{rep['date']}.pdf"
        shop_name = (getattr(self.service, "_shop", None) or {}).get("name", "")
        self.status.setText(f"Sending the report to '{printer}'…")
        self.print_btn.setEnabled(False)

        def done(name: str) -> None:
            self.status.setText(f"The report of {rep['date']} was sent to '{name}'.")
            self.print_btn.setEnabled(True)

        def failed(exc: BaseException) -> None:
            self.status.setText(f"Could not print the report: {exc}")
            self.print_btn.setEnabled(True)

        self.service.print_document(printer, lambda: (make_report_pdf(rep, shop_name, path), 1), "end-of-day report",
                                    on_done=done, on_error=failed)

    def export_csv(self, path: str | None = None) -> None:
        day = self.day_text()
        if path is None:
            path, _ = QFileDialog.getSaveFileName(self, "Export the day", f"end-of-day-{day}.csv", "CSV (*.csv)")
        if not path:
            return

        def work() -> str:
            text = self.client.reconciliation_csv(day, self.tz)
            with open(path, "w", newline="", encoding="utf-8") as f:
                f.write(text)
            return path

        self.status.setText("Exporting…")
        self.tasks.run(work, on_done=lambda p: self.status.setText(f"Saved {p}."),
                       on_error=lambda e: self.status.setText(f"Could not export: {e}"))
