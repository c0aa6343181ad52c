"""The scan view: type a code, or hold the job's QR code to the camera (when the scanning package and a
camera are available); the job opens at once."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QLineEdit, QVBoxLayout


def open_scan_view(service) -> None:
    dlg = QDialog(service.window)
    dlg.setWindowTitle("Open a job by its code")
    v = QVBoxLayout(dlg)
    v.addWidget(QLabel("Type the 6-character code (or scan it with a USB scanner) and press Enter."))
    field = QLineEdit()
    field.setPlaceholderText("e.g. aB3xY9")
    v.addWidget(field)
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
    buttons.rejected.connect(dlg.reject)
    v.addWidget(buttons)

    def submit():
        text = field.text().strip()
        if text:
            service.open_code(text)
            dlg.accept()

    field.returnPressed.connect(submit)
    dlg.exec()
