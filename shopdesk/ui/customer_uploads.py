"""Shop → Customer uploads… (owner): where customers send files from their phones, and the poster for the
wall. With the app's embedded server it switches listening on the shop's Wi-Fi on or off; with a remote
server it shows that server's public address. Either way it prints the A4 poster (QR code of the shop's
page, the address in large type, the prices) on a chosen printer. Every slow step runs in the service's
workers; this dialog only draws what `CounterService.customer_access_changed` says."""

from __future__ import annotations

import io

from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
)


def qr_png(text: str) -> bytes:  # worker thread
    import qrcode
    import qrcode.constants

    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=6, border=3)
    qr.add_data(text)
    buf = io.BytesIO()
    qr.make_image().save(buf)
    return buf.getvalue()


class CustomerUploadsDialog(QDialog):
    def __init__(self, service, parent=None):
        super().__init__(parent)
        self.service = service
        self.setWindowTitle("Customer uploads")
        self.setMinimumWidth(520)
        lay = QVBoxLayout(self)

        self.intro = QLabel()
        self.intro.setWordWrap(True)
        lay.addWidget(self.intro)

        row = QHBoxLayout()
        self.switch = QCheckBox("Let customers on the shop's Wi-Fi send files")
        self.port = QSpinBox()
        self.port.setRange(1024, 65535)
        self.port.setPrefix("port ")
        row.addWidget(self.switch)
        row.addStretch(1)
        row.addWidget(self.port)
        lay.addLayout(row)

        self.url = QLabel()
        self.url.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.url.setStyleSheet("font-size: 16pt; font-weight: bold;")
        self.url.setAlignment(Qt.AlignmentFlag.AlignCenter)
        lay.addWidget(self.url)
        self.qr = QLabel()
        self.qr.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.qr.setMinimumHeight(200)
        lay.addWidget(self.qr)

        self.notice = QLabel()
        self.notice.setWordWrap(True)
        self.notice.setStyleSheet("color: #9d1c14; font-weight: bold;")
        lay.addWidget(self.notice)

        prow = QHBoxLayout()
        prow.addWidget(QLabel("Poster (A4) on"))
        self.printer = QComboBox()
        names = [p.name for p in service.printers()]
        self.printer.addItems(names)
        wanted = service.settings.poster_printer or service.settings.default_printer
        if wanted in names:
            self.printer.setCurrentText(wanted)
        prow.addWidget(self.printer, 1)
        self.print_btn = QPushButton("Print poster")
        prow.addWidget(self.print_btn)
        lay.addLayout(prow)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)

        self._qr_for = ""
        self.switch.toggled.connect(self._switched)
        self.print_btn.clicked.connect(self._print)
        service.customer_access_changed.connect(self.show_state)
        service.shop_changed.connect(self._shop_changed)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.show_state(service.customer_state())

    def _shop_changed(self, _shop: dict) -> None:
        self.show_state(self.service.customer_state())

    def show_state(self, st: dict) -> None:
        embedded = st["embedded"]
        self.switch.setVisible(embedded)
        self.port.setVisible(embedded)
        self.switch.blockSignals(True)
        self.switch.setChecked(st["on"])
        self.switch.blockSignals(False)
        self.switch.setEnabled(not st["busy"])
        self.port.setEnabled(not st["busy"] and not st["on"])
        self.port.setValue(int(st["port"]))
        if not embedded:
            self.intro.setText("Customers send files from their phones at this shop server's address (its "
                               "SHOPDESK_PUBLIC_URL). Print the poster for the wall:")
        elif st["busy"]:
            self.intro.setText("Switching… the shop's server restarts (a few seconds).")
        elif st["on"]:
            self.intro.setText("Customers on the shop's Wi-Fi open this address (or scan the poster) to send "
                               "files, see the price and follow their jobs:")
        else:
            self.intro.setText("Off: only this computer can open the customer page. Switch it on to let "
                               "customers on the shop's Wi-Fi send files.")
        self.url.setText(st["url"])
        self.url.setEnabled(st["on"])
        notes = [st["error"]] if st["error"] else []
        if st["stale"]:
            notes.append("The shop's network address changed: print the poster again — the one on the wall "
                         "points to the old address.")
        self.notice.setText("\n".join(notes))
        self.notice.setVisible(bool(notes))
        self.print_btn.setEnabled(st["on"] and not st["busy"] and self.printer.count() > 0)
        if st["url"] != self._qr_for:
            self._qr_for = st["url"]
            self.service.tasks.run(qr_png, st["url"], on_done=lambda png, url=st["url"]: self._show_qr(url, png))

    def _show_qr(self, url: str, png: bytes) -> None:
        if url != self._qr_for:
            return  # an older address
        pix = QPixmap()
        pix.loadFromData(png, "PNG")
        self.qr.setPixmap(pix)

    def _switched(self, on: bool) -> None:
        self.service.set_customer_uploads(on, self.port.value())

    def _print(self) -> None:
        if self.printer.currentText():
            self.service.print_poster(self.printer.currentText())
