"""The owner's money view: payouts table, totals, an earnings chart (QtCharts) and CSV export."""

from __future__ import annotations

import csv
from decimal import Decimal

from PySide6.QtCharts import QBarCategoryAxis, QBarSeries, QBarSet, QChart, QChartView, QValueAxis
from PySide6.QtCore import Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from .queue_model import money


class PayoutsDialog(QDialog):
    """`load(group_by)` is called off the main thread by the caller and returns (payouts, earnings)."""

    def __init__(self, tasks, load, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Payouts and earnings")
        self.resize(900, 620)
        self._tasks, self._load = tasks, load
        self._payouts: list[dict] = []
        layout = QVBoxLayout(self)
        self.totals = QLabel("Loading…")
        self.totals.setTextFormat(Qt.TextFormat.RichText)
        layout.addWidget(self.totals)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Earnings per"))
        self.group = QComboBox()
        self.group.addItems(["day", "week"])
        self.group.currentTextChanged.connect(self.refresh)
        bar.addWidget(self.group)
        bar.addStretch(1)
        self.export_btn = QPushButton("Export CSV…")
        self.export_btn.clicked.connect(self.export_csv)
        bar.addWidget(self.export_btn)
        layout.addLayout(bar)
        self.chart = QChart()
        self.chart.setTitle("Earnings")
        self.chart.legend().hide()
        self.chart_view = QChartView(self.chart)
        self.chart_view.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.chart_view.setMinimumHeight(260)
        layout.addWidget(self.chart_view, 3)
        self.table = QTableWidget(0, 5)
        self.table.setHorizontalHeaderLabels(["Period", "Amount", "Status", "Paid at", "Payout"])
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        layout.addWidget(self.table, 2)
        self.refresh()

    def refresh(self) -> None:
        self.totals.setText("Loading…")
        self._tasks.run(self._load, self.group.currentText(), on_done=self.show_data,
                        on_error=lambda e: self.totals.setText(f"<span style='color:#b00020'>Could not load: {e}</span>"))

    def show_data(self, data) -> None:
        payouts, earnings = data
        t = payouts["totals"]
        self.totals.setText(f"<b>Not yet settled:</b> {money(t['unsettled'])} &nbsp; <b>Pending payout:</b> "
                            f"{money(t['pending'])} &nbsp; <b>Paid:</b> {money(t['paid'])}")
        self._payouts = payouts["payouts"]
        self.table.setRowCount(len(self._payouts))
        for r, p in enumerate(self._payouts):
            for c, value in enumerate((f"{p['period_start'][:10]} – {p['period_end'][:10]}", money(p["amount"]),
                                       p["status"], (p.get("paid_at") or "")[:16].replace("T", " "), f"#{p['id']}")):
                item = QTableWidgetItem(value)
                if c == 1:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(r, c, item)
        self._plot(earnings)

    def _plot(self, earnings: list[dict]) -> None:
        self.chart.removeAllSeries()
        for axis in self.chart.axes():
            self.chart.removeAxis(axis)
        bars = QBarSet("Earnings")
        cats = []
        top = Decimal(0)
        for point in earnings[-31:]:
            amount = Decimal(str(point["amount"]))
            bars.append(float(amount))  # chart pixels only; money stays Decimal everywhere else
            cats.append(point["period"][5:] if self.group.currentText() == "day" else point["period"])
            top = max(top, amount)
        series = QBarSeries()
        series.append(bars)
        self.chart.addSeries(series)
        x = QBarCategoryAxis()
        x.append(cats or ["no earnings yet"])
        y = QValueAxis()
        y.setRange(0, float(top * Decimal("1.15")) or 1.0)
        y.setLabelFormat("%.0f")
        self.chart.addAxis(x, Qt.AlignmentFlag.AlignBottom)
        self.chart.addAxis(y, Qt.AlignmentFlag.AlignLeft)
        series.attachAxis(x)
        series.attachAxis(y)
        self.chart.setTitle(f"Earnings per {self.group.currentText()} (last {len(cats)})")

    def export_csv(self, path: str | None = None) -> str | None:
        if path is None:
            path, _ = QFileDialog.getSaveFileName(self, "Export payouts", "payouts.csv", "CSV (*.csv)")
        if not path:
            return None
        try:
            with open(path, "w", newline="", encoding="utf-8") as f:
                w = csv.writer(f)
                w.writerow(["payout_id", "period_start", "period_end", "amount", "status", "paid_at"])
                for p in self._payouts:
                    w.writerow([p["id"], p["period_start"], p["period_end"], money(p["amount"]), p["status"],
                                p.get("paid_at") or ""])
        except OSError as exc:
            QMessageBox.warning(self, "Export payouts", f"Could not write {path}: {exc.strerror}")
            return None
        return path
