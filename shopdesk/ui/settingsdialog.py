"""Settings: server, counter name, printers and routing, camera, confirmation, sounds."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from ..settings import AppSettings, RoutingRule


class SettingsDialog(QDialog):
    def __init__(self, settings: AppSettings, printers: list[str], parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Settings — shopdesk")
        self.setMinimumWidth(520)
        v = QVBoxLayout(self)
        general = QGroupBox("This counter")
        f = QFormLayout(general)
        where = {"embedded": "this computer (the built-in server)",
                 "remote": settings.server_url}.get(settings.shop_mode, "the demo shop")
        self.shop_where = QLabel(f"{where} — <i>Shop → Switch shop…</i> to change")
        self.counter = QLineEdit(settings.counter_name)
        f.addRow("Shop", self.shop_where)
        f.addRow("Counter name", self.counter)
        v.addWidget(general)
        pr = QGroupBox("Printers and routing")
        g = QFormLayout(pr)

        def printer_box(current: str) -> QComboBox:
            box = QComboBox()
            box.addItem("(automatic)", "")
            for name in printers:
                box.addItem(name, name)
            i = box.findData(current)
            box.setCurrentIndex(i if i >= 0 else 0)
            return box

        rules = {(r.color_mode, r.paper_size, r.print_mode): r.printer for r in settings.routing}
        self.default = printer_box(settings.default_printer)
        self.colour = printer_box(rules.get(("color", None, None), ""))
        self.a3 = printer_box(rules.get((None, "A3", None), ""))
        self.duplex = printer_box(rules.get((None, None, "double"), ""))
        g.addRow("Default printer", self.default)
        g.addRow("Colour jobs go to", self.colour)
        g.addRow("A3 jobs go to", self.a3)
        g.addRow("Double-sided jobs go to", self.duplex)
        self.auto_confirm = QCheckBox("Confirm automatically when the printer reports the job done")
        self.auto_confirm.setChecked(settings.auto_confirm)
        g.addRow(self.auto_confirm)
        self.hot = QLineEdit(settings.hot_folder)
        self.hot.setPlaceholderText("folder of a 'Hot folder' printer (empty: none)")
        g.addRow("Hot folder", self.hot)
        self.hot_takes = QLineEdit(settings.hot_folder_takes)
        self.hot_takes.setToolTip("what the hot folder's device takes: paper sizes, 'colour', 'duplex' — e.g. A4 A3 colour")
        g.addRow("Hot folder takes", self.hot_takes)
        v.addWidget(pr)
        other = QGroupBox("Scanning and sounds")
        h = QFormLayout(other)
        self.camera = QLineEdit(settings.camera_source)
        self.camera.setToolTip("0 for the first webcam, or a video file / stream URL")
        h.addRow("Camera", self.camera)
        self.sounds = QCheckBox("Play sounds")
        self.sounds.setChecked(settings.sounds)
        self.notifications = QCheckBox("Show a notification for new jobs")
        self.notifications.setChecked(settings.notifications)
        self.ticket = QCheckBox("Print a claim ticket with the QR code before each job")
        self.ticket.setChecked(settings.print_ticket_first)
        for w in (self.sounds, self.notifications, self.ticket):
            h.addRow(w)
        v.addWidget(other)
        v.addWidget(QLabel("Passwords and tokens are kept in the system keyring, never in this file."))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        v.addWidget(buttons)

    def apply(self, s: AppSettings) -> None:
        s.counter_name = self.counter.text().strip() or "Counter 1"
        s.default_printer = self.default.currentData() or ""
        rules = []
        if self.colour.currentData():
            rules.append(RoutingRule(printer=self.colour.currentData(), color_mode="color"))
        if self.a3.currentData():
            rules.append(RoutingRule(printer=self.a3.currentData(), paper_size="A3"))
        if self.duplex.currentData():
            rules.append(RoutingRule(printer=self.duplex.currentData(), print_mode="double"))
        s.routing = rules
        s.auto_confirm = self.auto_confirm.isChecked()
        s.hot_folder = self.hot.text().strip()
        s.hot_folder_takes = self.hot_takes.text().strip() or "A4"
        s.camera_source = self.camera.text().strip() or "0"
        s.sounds = self.sounds.isChecked()
        s.notifications = self.notifications.isChecked()
        s.print_ticket_first = self.ticket.isChecked()
