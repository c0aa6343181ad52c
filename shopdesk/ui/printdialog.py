"""The print dialog: the job's settings as the customer chose them, the printer chosen by routing (with
its health), page ranges; an option the printer cannot do is refused here with the alternative offered."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ..printing.options import PrintRequest, UnsupportedOption, check_supported, validate_page_ranges
from .queue_model import money


class PrintDialog(QDialog):
    def __init__(self, jobs: list[dict], order: dict, printers: list, chosen: str | None, parent: QWidget | None = None):
        super().__init__(parent)
        self.jobs, self.order, self.printers = jobs, order or {}, printers
        self.setWindowTitle("Print" if len(jobs) == 1 else f"Print {len(jobs)} files")
        self.setMinimumWidth(520)
        v = QVBoxLayout(self)
        who = self.order.get("customer_name") or "Walk-in"
        lines = [f"<b>{who}</b>"]
        for j in jobs:
            sides = "double-sided" if j["print_mode"] == "double" else "single-sided"
            colour = "colour" if j["color_mode"] == "color" else "b/w"
            lines.append(f"<b>{j['code']}</b> {j['original_name']} — {j['num_pages']} p × {j['copies']}, {sides}, "
                         f"{colour}, {j['paper_size']} — {money(j['cost'])}")
        head = QLabel("<br>".join(lines))
        head.setTextFormat(Qt.TextFormat.RichText)
        head.setWordWrap(True)
        v.addWidget(head)
        form = QFormLayout()
        self.printer = QComboBox()
        for p in printers:
            ok = p.ok
            self.printer.addItem(f"{'●' if ok else '○'} {p.name} — {p.health[1]}", p.name)
        if chosen:
            i = self.printer.findData(chosen)
            if i >= 0:
                self.printer.setCurrentIndex(i)
        form.addRow("Printer", self.printer)
        self.pages = QLineEdit()
        self.pages.setPlaceholderText("all pages (or e.g. 1-3,5)")
        self.pages.setEnabled(len(jobs) == 1)
        form.addRow("Pages", self.pages)
        v.addLayout(form)
        self.problem = QLabel("")
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet("color:#b00020;")
        v.addWidget(self.problem)
        self.alternative = QPushButton("")
        self.alternative.setVisible(False)
        self.alternative.clicked.connect(self._use_alternative)
        v.addWidget(self.alternative)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.ok = self.buttons.addButton("Print", QDialogButtonBox.ButtonRole.AcceptRole)
        self.ok.setDefault(True)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        v.addWidget(self.buttons)
        self.printer.currentIndexChanged.connect(lambda _i: self.validate())
        self.pages.textChanged.connect(lambda _t: self.validate())
        self._alt_name: str | None = None
        self.validate()

    @property
    def printer_name(self) -> str | None:
        return self.printer.currentData()

    @property
    def page_ranges(self) -> str:
        return self.pages.text().strip()

    def validate(self) -> bool:
        self._alt_name = None
        self.alternative.setVisible(False)
        info = next((p for p in self.printers if p.name == self.printer_name), None)
        problem = ""
        if info is None:
            problem = "No printer is available. Check the printers in Settings."
        elif not info.ok and (info.state == 5 or not info.accepting):
            problem = f"Printer '{info.name}' is {info.health[1]}. Fix it or choose another printer."
        else:
            try:
                for j in self.jobs:
                    ranges = validate_page_ranges(self.page_ranges, int(j["num_pages"])) if len(self.jobs) == 1 else ""
                    check_supported(PrintRequest.from_job(j, page_ranges=ranges), info, self.printers)
            except UnsupportedOption as exc:
                problem = str(exc)
                able = [p.name for p in self.printers if p.name != info.name and f"'{p.name}'" in problem]
                if able:
                    self._alt_name = able[0]
                    self.alternative.setText(f"Use '{able[0]}' instead")
                    self.alternative.setVisible(True)
        self.problem.setText(problem)
        self.ok.setEnabled(not problem)
        return not problem

    def _use_alternative(self) -> None:
        if self._alt_name:
            self.printer.setCurrentIndex(self.printer.findData(self._alt_name))
