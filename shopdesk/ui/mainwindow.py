"""The counter's main window: the live queue, the selected job with its first page, and the actions a
shopkeeper uses all day — print, print the whole order, cancel, mark printed, scan — with shortcuts.
It only draws: every network, CUPS and disk call goes through the CounterService (worker threads)."""

from __future__ import annotations

import logging

from PySide6.QtCore import QItemSelectionModel, QSettings, Qt, QTimer, QUrl
from PySide6.QtGui import QAction, QDesktopServices, QGuiApplication, QIcon, QImage, QKeySequence, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QSystemTrayIcon,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ..domain.jobs import JobStatus
from ..printing.stages import Stage
from ..settings import log_dir
from .dialogs import CancelDialog, ask_did_it_print
from .queue_model import COL, QueueFilter, QueueModel, file_label, job_facts, money

log = logging.getLogger("shopdesk.ui")

STAGE_TEXT = {Stage.STARTING: "Telling the server…", Stage.DOWNLOADING: "Downloading…",
              Stage.SENT: "Sent to the printer", Stage.PRINTING: "Printing…", Stage.DONE: "Printed",
              Stage.FAILED: "Failed", Stage.WAITING_CONFIRM: "Did it print?"}


class JobPanel(QFrame):
    """The selected job: first-page preview, settings, progress and its actions."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setMinimumWidth(300)
        self.setMaximumWidth(420)
        v = QVBoxLayout(self)
        self.preview = QLabel("Select a job")
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.setMinimumHeight(260)
        self.preview.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)  # the pixmap follows
        self.preview.setStyleSheet("background:#eef1f5; border:1px solid #d5dae1; color:#667;")
        v.addWidget(self.preview, 1)
        self.title = QLabel("")
        self.title.setWordWrap(True)
        self.title.setTextFormat(Qt.TextFormat.RichText)
        v.addWidget(self.title)
        self.details = QLabel("")
        self.details.setWordWrap(True)
        self.details.setTextFormat(Qt.TextFormat.RichText)
        v.addWidget(self.details)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.progress_text = QLabel("")
        self.progress_text.setWordWrap(True)
        v.addWidget(self.progress)
        v.addWidget(self.progress_text)
        row = QHBoxLayout()
        self.print_btn = QPushButton("Print  (Enter)")
        self.print_btn.setObjectName("primary")
        self.order_btn = QPushButton("Print order")
        row.addWidget(self.print_btn, 2)
        row.addWidget(self.order_btn, 1)
        v.addLayout(row)
        row2 = QHBoxLayout()
        self.confirm_btn = QPushButton("Mark printed")
        self.cancel_btn = QPushButton("Cancel order…")
        self.cancel_btn.setObjectName("danger")
        row2.addWidget(self.confirm_btn)
        row2.addWidget(self.cancel_btn)
        v.addLayout(row2)
        self.show_job(None, None)

    def show_job(self, job: dict | None, order: dict | None) -> None:
        for b in (self.print_btn, self.order_btn, self.confirm_btn, self.cancel_btn):
            b.setEnabled(job is not None)
        if job is None:
            self.title.setText("<span style='color:#667'>No job selected.</span>")
            self.details.setText("Pick a job in the queue, scan its QR code (Ctrl+K) or type its code (Ctrl+F).")
            self.preview.setPixmap(QPixmap())
            self.preview.setText("Select a job")
            return
        sides = "double-sided" if job["print_mode"] == "double" else "single-sided"
        colour = "<b style='color:#b1440e'>colour</b>" if job["color_mode"] == "color" else "black & white"
        self.title.setText(f"<span style='font-size:15pt'><b>{job['code']}</b></span> &nbsp; "
                           f"{_esc(order.get('customer_name') or 'Walk-in')}<br>{_esc(file_label(job))}")
        lines = [f"{job['num_pages']} page(s) × {job['copies']} copies, {sides}, {colour}, {job['paper_size']}",
                 f"Cost <b>{money(job['cost'])}</b> (order {money(order.get('total_cost', job['cost']))})"]
        style = {"note": "<i>{}</i>", "failure": "<span style='color:#b00020'>{}</span>", "printing": "<b>{}</b>"}
        lines += [style.get(kind, "{}").format(_esc(text)) for kind, text in job_facts(order, job)]
        self.details.setText("<br>".join(lines))
        self.print_btn.setEnabled(job["status"] == JobStatus.UPLOADED)
        self.cancel_btn.setEnabled(job["status"] == JobStatus.UPLOADED)

    def show_preview(self, image: QImage | None, message: str = "") -> None:
        if image is None or image.isNull():
            self.preview.setPixmap(QPixmap())
            self.preview.setText(message or "No preview")
            return
        ratio = self.preview.devicePixelRatioF()  # sharp on high-DPI screens
        pm = QPixmap.fromImage(image).scaled(self.preview.size() * ratio, Qt.AspectRatioMode.KeepAspectRatio,
                                             Qt.TransformationMode.SmoothTransformation)
        pm.setDevicePixelRatio(ratio)
        self.preview.setPixmap(pm)

    def show_progress(self, stage: str, detail: str = "", fraction: float | None = None) -> None:
        self.progress.setVisible(stage not in (Stage.DONE, Stage.FAILED, ""))
        if fraction is None:
            self.progress.setRange(0, 0)  # busy
        else:
            self.progress.setRange(0, 100)
            self.progress.setValue(int(fraction * 100))
        text = STAGE_TEXT.get(stage, stage)
        colour = "#b00020" if stage == Stage.FAILED else ("#1a7f37" if stage == Stage.DONE else "#333")
        self.progress_text.setText(f"<span style='color:{colour}'><b>{text}</b> {_esc(detail)}</span>")


def _esc(text: str) -> str:
    return (text or "").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def capacity_words(shop: dict) -> str:
    """The status bar's word on what customers can send now: paused (no printer of the shop is ready), or
    each setting no ready printer can do — as the customers' page and the server's refusals say it."""
    if shop.get("paused"):
        return ("<span style='color:#b00020'>Paused: no printer is ready — customers cannot send files "
                "until one is</span>")
    notes = shop.get("unavailable") or []
    if not notes:
        return ""
    # one short line for the status bar ("Colour printing is unavailable right now" → "colour printing");
    # the whole sentences are the label's tooltip
    what = [n.removesuffix(" is unavailable right now") for n in notes]
    what = [w[0].lower() + w[1:] if w[:1].isupper() and not w[1:2].isupper() and not w[1:2].isdigit() else w
            for w in what]
    return f"<span style='color:#b26a00'>Customers cannot choose now: {_esc(', '.join(what))}</span>"


class MainWindow(QMainWindow):
    def __init__(self, service, parent=None, *, demo: bool = False):
        super().__init__(parent)
        self.service = service
        self.demo = demo
        self.switch_requested = False  # closed by Shop → Switch shop…: the app shows the first-run screen
        self.setWindowTitle("shopdesk — DEMO" if demo else "shopdesk")
        self.setWindowIcon(QIcon.fromTheme("printer"))
        self.model = QueueModel(self)
        self.proxy = QueueFilter(self)
        self.proxy.setSourceModel(self.model)
        self._progress: dict[int, tuple[str, str, float | None]] = {}
        self.notices: list[QMessageBox] = []  # open non-blocking messages
        self._loaded = False
        self._shown: tuple[dict | None, dict | None] = (None, None)  # the job and order the panel shows
        self._build()
        self._connect()
        self._restore()
        from .keyboard import ScannerKeys

        self.scanner_keys = ScannerKeys(service, self)
        QApplication.instance().installEventFilter(self.scanner_keys)
        self.tray: QSystemTrayIcon | None = None  # new-job notices, when the desktop has a tray
        if QSystemTrayIcon.isSystemTrayAvailable() and service.settings.notifications:
            self.tray = QSystemTrayIcon(self.windowIcon(), self)
            self.tray.show()

    # --- building ----------------------------------------------------------------------------------
    def _build(self) -> None:
        central = QWidget()
        outer = QVBoxLayout(central)
        outer.setContentsMargins(8, 8, 8, 4)
        if self.demo:
            banner = QLabel("<b>DEMO</b> — a sample shop with sample jobs; nothing here is a real customer's. "
                            "<i>Shop → Switch shop…</i> sets up your own shop.")
            banner.setObjectName("demo-banner")
            banner.setStyleSheet("background:#fff4ce; border:1px solid #e0c060; padding:6px; color:#5c4400;")
            outer.addWidget(banner)
        top = QHBoxLayout()
        self.shop_label = QLabel("")
        self.shop_label.setTextFormat(Qt.TextFormat.RichText)
        top.addWidget(self.shop_label)
        self.open_btn = QPushButton("…")
        self.open_btn.setCheckable(True)
        self.open_btn.setMinimumWidth(140)
        self.open_btn.setToolTip("Open or close the shop for new uploads (Ctrl+O)")
        top.addWidget(self.open_btn)
        top.addStretch(1)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search or type a job code… (Ctrl+F)")
        self.search.setClearButtonEnabled(True)
        self.search.setMinimumWidth(280)
        top.addWidget(self.search)
        self.status_filter = QComboBox()
        self.status_filter.addItem("All waiting", None)
        self.status_filter.addItem("Waiting to print", JobStatus.UPLOADED.value)
        self.status_filter.addItem("Printing", JobStatus.PRINTING.value)
        top.addWidget(self.status_filter)
        self.scan_btn = QPushButton("Scan QR (Ctrl+K)")
        top.addWidget(self.scan_btn)
        outer.addLayout(top)

        self.split = QSplitter(Qt.Orientation.Horizontal)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.setAlternatingRowColors(False)
        self.table.setWordWrap(False)
        hh = self.table.horizontalHeader()
        hh.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        hh.setSectionResizeMode(COL["File"], QHeaderView.ResizeMode.Stretch)
        for name, width in (("Status", 110), ("Code", 80), ("Customer", 150), ("Pages", 55), ("Copies", 60),
                            ("Sides", 65), ("Colour", 65), ("Paper", 60), ("Cost", 75), ("Waiting", 85)):
            self.table.setColumnWidth(COL[name], width)
        self.empty = QLabel("No jobs waiting. New uploads appear here the moment they arrive.")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setStyleSheet("color:#667; font-size:13pt;")
        left = QWidget()
        lv = QVBoxLayout(left)
        lv.setContentsMargins(0, 0, 0, 0)
        lv.addWidget(self.table)
        lv.addWidget(self.empty)
        self.split.addWidget(left)
        self.panel = JobPanel()
        self.split.addWidget(self.panel)
        self.split.setStretchFactor(0, 3)
        self.split.setStretchFactor(1, 1)
        outer.addWidget(self.split, 1)
        self.setCentralWidget(central)

        sb = self.statusBar()
        self.conn_label = QLabel("Connecting…")
        self.outbox_label = QLabel("")
        self.printer_label = QLabel("")
        self.capacity_label = QLabel("")  # paused, or settings no ready printer of the shop can do
        for w in (self.conn_label, self.outbox_label, self.printer_label, self.capacity_label):
            w.setTextFormat(Qt.TextFormat.RichText)
            sb.addPermanentWidget(w)
        self.resize(1280, 760)
        self._actions()
        self.setStyleSheet(STYLE)

    def _actions(self) -> None:
        def act(text, shortcut, slot, menu=None):
            a = QAction(text, self)
            if shortcut:
                a.setShortcut(QKeySequence(shortcut))
            a.triggered.connect(slot)
            self.addAction(a)
            if menu is not None:
                menu.addAction(a)
            return a

        mb = self.menuBar()
        m_job = mb.addMenu("&Job")
        self.act_print = act("&Print", "Ctrl+P", self.print_selected, m_job)
        self.act_print_order = act("Print whole &order", "Ctrl+Shift+P", self.print_order, m_job)
        self.act_confirm = act("&Mark as printed", "Ctrl+M", self.confirm_selected, m_job)
        self.act_cancel = act("&Cancel order…", "Ctrl+Del", self.cancel_selected, m_job)
        m_job.addSeparator()
        act("&Find / type a code", "Ctrl+F", self.focus_search, m_job)
        act("&Scan QR code", "Ctrl+K", self.open_scanner, m_job)
        act("&Refresh", "F5", self.service.refresh_now, m_job)
        m_shop = mb.addMenu("&Shop")
        act("&Open / close the shop", "Ctrl+O", self.toggle_open, m_shop)
        act("Print &history", "Ctrl+H", self.open_history, m_shop)
        self.act_payouts = act("&Payouts and earnings", "Ctrl+E", self.open_payouts, m_shop)
        self.act_customers = act("&Customer uploads…", None, self.open_customer_uploads, m_shop)
        self.act_end_of_day = act("&End of day…", None, self.open_end_of_day, m_shop)
        self.act_connections = act("Co&nnections…", None, self.open_connections, m_shop)
        m_shop.addSeparator()
        self.act_shop_settings = act("Shop s&ettings…", "Ctrl+Shift+,", self.open_shop_settings, m_shop)
        act("&Settings…", "Ctrl+,", self.open_settings, m_shop)
        act("S&witch shop…", None, self.switch_shop, m_shop)
        m_shop.addSeparator()
        act("&Quit", "Ctrl+Q", self.close, m_shop)
        m_help = mb.addMenu("&Help")
        act("Open &log folder", None, self.open_log_folder, m_help)
        act("&Copy diagnostics", None, self.copy_diagnostics, m_help)

    def _connect(self) -> None:
        s = self.service
        s.queue_changed.connect(self.on_queue)
        s.connection_changed.connect(self.on_connection)
        s.outbox_changed.connect(self.on_outbox)
        s.printers_changed.connect(self.on_printers)
        s.shop_changed.connect(self.on_shop)
        s.job_progress.connect(self.on_progress)
        s.job_finished.connect(self.on_finished)
        s.needs_confirmation.connect(self.on_needs_confirmation)
        s.preview_ready.connect(self.on_preview)
        s.message.connect(self.show_message)
        s.job_opened.connect(self.select_code)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self.on_selection())
        self.table.doubleClicked.connect(lambda _i: self.print_selected())
        self.search.textChanged.connect(self.proxy.set_text)
        self.search.returnPressed.connect(self.on_search_enter)
        self.status_filter.currentIndexChanged.connect(lambda _i: self.proxy.set_status(self.status_filter.currentData()))
        self.open_btn.clicked.connect(lambda _c: self.toggle_open())
        self.panel.print_btn.clicked.connect(self.print_selected)
        self.panel.order_btn.clicked.connect(self.print_order)
        self.panel.confirm_btn.clicked.connect(self.confirm_selected)
        self.panel.cancel_btn.clicked.connect(self.cancel_selected)
        self.scan_btn.clicked.connect(getattr(s, "open_scanner", lambda: None))
        self._clock = QTimer(self, interval=30_000)
        self._clock.timeout.connect(self.model.refresh_waiting_times)
        self._clock.start()

    def _restore(self) -> None:
        st = QSettings("shopdesk", "window")
        geo = st.value("geometry")
        if geo is not None:
            self.restoreGeometry(geo)
        state = st.value("splitter")
        if state is not None:
            self.split.restoreState(state)

    def closeEvent(self, event) -> None:
        QApplication.instance().removeEventFilter(self.scanner_keys)
        st = QSettings("shopdesk", "window")
        st.setValue("geometry", self.saveGeometry())
        st.setValue("splitter", self.split.saveState())
        self.service.shutdown()
        super().closeEvent(event)

    def keyPressEvent(self, event) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.table.hasFocus():
            self.print_selected()
            return
        if event.key() == Qt.Key.Key_Delete and self.table.hasFocus():
            self.cancel_selected()
            return
        super().keyPressEvent(event)

    # --- reacting ----------------------------------------------------------------------------------
    @property
    def loaded(self) -> bool:
        return self._loaded

    def on_queue(self, orders: list) -> None:
        added, _removed = self.model.set_orders(orders)
        first = not self._loaded
        self._loaded = True
        self.empty.setVisible(self.model.rowCount() == 0)
        self.table.setVisible(self.model.rowCount() > 0)
        if added and not first:
            text = self.service.announce_new(added)
            if self.tray is not None and self.service.settings.notifications:
                self.tray.showMessage("shopdesk — new jobs", text, QSystemTrayIcon.MessageIcon.Information, 5000)
        if first and self.proxy.rowCount() and not self.table.selectionModel().hasSelection():
            self.table.selectRow(0)  # the oldest job: what the shopkeeper prints next
        job, order = self.selected_job(), self.selected_order()
        if (job, order) != self._shown:  # a refresh that left the selected job alone leaves the panel alone
            self._show_selected(job, order)

    def on_connection(self, ok: bool, text: str) -> None:
        colour = "#1a7f37" if ok else "#b00020"
        self.conn_label.setText(f"<span style='color:{colour}'>●</span> {_esc(text)}")

    def on_outbox(self, state: dict) -> None:
        pending = state.get("pending", 0)
        if not pending:
            self.outbox_label.setText("Reports: all sent")
        else:
            err = state.get("last_error") or ""
            self.outbox_label.setText(f"<span style='color:#b26a00'>Reports waiting: {pending}</span>"
                                      + (f" — {_esc(err)}" if err else ""))

    def on_printers(self, printers: list) -> None:
        if not printers:
            self.printer_label.setText("<span style='color:#b00020'>No printer</span>")
            return
        bits = []
        for p in printers[:4]:
            ok = p.get("ok", True)
            colour = "#1a7f37" if ok else "#b00020"
            bits.append(f"<span style='color:{colour}'>●</span> {_esc(p['name'])}"
                        + ("" if ok else f": {_esc(p.get('health', ''))}"))
        self.printer_label.setText(" &nbsp; ".join(bits))

    def on_shop(self, shop: dict) -> None:
        self.shop_label.setText(f"<b style='font-size:14pt'>{_esc(shop.get('name', ''))}</b> &nbsp; "
                                f"<span style='color:#667'>{_esc(self.service.who())}</span>")
        is_open = bool(shop.get("is_open"))
        self.open_btn.setChecked(is_open)
        self.open_btn.setText("● OPEN" if is_open else "○ CLOSED")
        self.open_btn.setProperty("state", "open" if is_open else "closed")
        self.open_btn.style().unpolish(self.open_btn)
        self.open_btn.style().polish(self.open_btn)
        self.open_btn.setEnabled(self.service.can_toggle_open())
        self.capacity_label.setText(capacity_words(shop))
        self.capacity_label.setToolTip("\n".join(f"{n}." for n in shop.get("unavailable") or []))
        self.act_payouts.setEnabled(self.service.is_owner())
        self.act_customers.setVisible(self.service.is_owner())
        self.act_end_of_day.setVisible(self.service.is_owner())
        self.act_connections.setVisible(self.service.is_owner())
        self.act_shop_settings.setVisible(self.service.is_owner())  # staff do not see it
        name = shop.get("name", "")
        self.setWindowTitle(f"{name} — shopdesk" + (" — DEMO" if self.demo else "") if name else self.windowTitle())

    def on_progress(self, file_id: int, stage: str, detail: str, fraction: float) -> None:
        self._progress[file_id] = (stage, detail, None if fraction < 0 else fraction)
        job = self.selected_job()
        if job and job["file_id"] == file_id:
            self.panel.show_progress(stage, detail, None if fraction < 0 else fraction)

    def on_finished(self, file_id: int, ok: bool, message: str) -> None:
        self._progress[file_id] = (Stage.DONE if ok else Stage.FAILED, message, None)
        job = self.selected_job()
        if job and job["file_id"] == file_id:
            self.panel.show_progress(Stage.DONE if ok else Stage.FAILED, message)
        if ok:
            self.statusBar().showMessage(message, 8000)
        else:
            self.service.play("failed")
            self.notice("Print failed", message + "\n\nThe job is back in the queue; press Print to retry.",
                        QMessageBox.Icon.Warning)

    def on_needs_confirmation(self, job: dict, printer: str) -> None:
        answer = ask_did_it_print(self, job, printer)
        if answer is not None:
            self.service.answer_confirmation(job, printer, answer)

    def on_preview(self, file_id: int, image, message: str) -> None:
        job = self.selected_job()
        if job and job["file_id"] == file_id:
            self.panel.show_preview(image, message)

    def show_message(self, title: str, text: str, level: str) -> None:
        if level == "status":
            self.statusBar().showMessage(text, 8000)
            return
        self.notice(title, text, QMessageBox.Icon.Warning if level == "warning" else QMessageBox.Icon.Information)

    def notice(self, title: str, text: str, icon: QMessageBox.Icon) -> QMessageBox:
        """A message that does not block the counter: the queue keeps updating behind it."""
        box = QMessageBox(icon, title, text, QMessageBox.StandardButton.Ok, self)
        box.setModal(False)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.finished.connect(lambda _r, b=box: self.notices.remove(b) if b in self.notices else None)
        self.notices.append(box)
        box.show()
        return box

    def selected_job(self) -> dict | None:
        rows = self.table.selectionModel().selectedRows()
        return self.proxy.job(rows[0]) if rows else None

    def selected_order(self) -> dict | None:
        rows = self.table.selectionModel().selectedRows()
        return self.proxy.order(rows[0]) if rows else None

    def on_selection(self) -> None:
        self._show_selected(self.selected_job(), self.selected_order())

    def _show_selected(self, job: dict | None, order: dict | None) -> None:
        """The panel shows the selected job; its first page is rendered again only for another file (a
        preview per queue refresh was a render in a worker and a smooth rescale on the main thread)."""
        before = self._shown[0]
        self._shown = (job, order)
        self.panel.show_job(job, order)
        for a in (self.act_print, self.act_cancel):
            a.setEnabled(bool(job and job["status"] == JobStatus.UPLOADED))
        if job is None:
            return
        stage = self._progress.get(job["file_id"])
        if stage:
            self.panel.show_progress(*stage)
        else:
            self.panel.show_progress("", "")
        if before is None or before["file_id"] != job["file_id"]:
            self.service.request_preview(job)

    def select_code(self, code: str) -> bool:
        row = self.model.row_of_code(code)
        if row is None:
            return False
        self.search.clear()
        self.status_filter.setCurrentIndex(0)
        idx = self.proxy.mapFromSource(self.model.index(row, 0))
        self.table.selectionModel().select(idx, QItemSelectionModel.SelectionFlag.ClearAndSelect
                                           | QItemSelectionModel.SelectionFlag.Rows)
        self.table.scrollTo(idx)
        self.table.setFocus()
        return True

    def on_search_enter(self) -> None:
        text = self.search.text().strip()
        if self.proxy.rowCount() == 1:
            idx = self.proxy.index(0, 0)
            self.table.selectionModel().select(idx, QItemSelectionModel.SelectionFlag.ClearAndSelect
                                               | QItemSelectionModel.SelectionFlag.Rows)
            # After this Enter has finished travelling: moved now, the same key press would reach the
            # window with the table focused and start a print nobody asked for.
            QTimer.singleShot(0, self.table.setFocus)
        elif text:
            self.service.open_code(text, typed_fast=False)

    def focus_search(self) -> None:
        self.search.setFocus()
        self.search.selectAll()

    # --- dialogs: the window opens them; the service does the work ---------------------------------
    def ask_print(self, jobs: list[dict], order: dict | None) -> None:
        from .printdialog import PrintDialog

        s = self.service
        if not s.printers():
            s.message.emit("Print", "No printer is available. Check CUPS or the hot folder in Settings.", "warning")
            return
        dlg = PrintDialog(jobs, order or {}, s.printers(), s.route(jobs[0]), self)
        if dlg.exec():
            for job in jobs:
                s.print_job(job, dlg.printer_name, customer=(order or {}).get("customer_name", ""),
                            page_ranges=dlg.page_ranges if len(jobs) == 1 else "")

    def open_customer_uploads(self) -> None:
        if not self.service.is_owner():
            self.service.message.emit("Customer uploads", "Only the shop's owner can change customer uploads.",
                                      "warning")
            return
        from .customer_uploads import CustomerUploadsDialog

        CustomerUploadsDialog(self.service, self).exec()

    def open_history(self) -> None:
        from .history import HistoryDialog

        s = self.service
        HistoryDialog(s.tasks, lambda params: s.client.history(**params), self).exec()

    def open_payouts(self) -> None:
        s = self.service
        if not s.is_owner():
            s.message.emit("Payouts", "Only the shop's owner can see payouts.", "warning")
            return
        from .payouts import PayoutsDialog

        PayoutsDialog(s.tasks, lambda group: (s.client.payouts(), s.client.earnings(group)), self).exec()

    def open_end_of_day(self) -> None:
        if not self.service.is_owner():
            return
        from .endofday import EndOfDayDialog

        EndOfDayDialog(self.service, self).exec()

    def open_connections(self) -> None:
        if not self.service.is_owner():
            return
        from .connections import ConnectionsDialog

        ConnectionsDialog(self.service.tasks, self.service.client, self).exec()

    def open_settings(self) -> None:
        from .settingsdialog import SettingsDialog

        s = self.service
        dlg = SettingsDialog(s.settings, [p.name for p in s.printers()], self)
        if dlg.exec():
            dlg.apply(s.settings)
            s.apply_settings()

    def open_scanner(self) -> None:
        from .scanview import open_scan_view

        open_scan_view(self.service)

    def open_log_folder(self) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(log_dir())))

    def copy_diagnostics(self) -> None:
        QGuiApplication.clipboard().setText(self.service.diagnostics())
        self.service.message.emit("Diagnostics", "Diagnostics copied to the clipboard (no passwords or tokens).",
                                  "status")

    # --- actions -----------------------------------------------------------------------------------
    def print_selected(self) -> None:
        job = self.selected_job()
        if job:
            self.ask_print([job], self.selected_order())

    def print_order(self) -> None:
        order = self.selected_order()
        if order:
            jobs = [j for j in order["files"] if j["status"] == JobStatus.UPLOADED]
            if not jobs:
                self.show_message("Print order", "Nothing of this order is waiting to print.", "status")
                return
            self.ask_print(jobs, order)

    def confirm_selected(self) -> None:
        job = self.selected_job()
        if not job:
            return
        if QMessageBox.question(self, "Mark as printed",
                                f"Mark {job['code']} ({job['original_name']}) as printed and collected?") \
                == QMessageBox.StandardButton.Yes:
            self.service.confirm_by_hand(job)

    def cancel_selected(self) -> None:
        job, order = self.selected_job(), self.selected_order()
        if not job or job["status"] != JobStatus.UPLOADED:
            return
        dlg = CancelDialog(job, order, self)
        if dlg.exec():
            self.service.cancel_order(job, dlg.reason())

    def open_shop_settings(self) -> None:
        if not self.service.is_owner():
            return
        from .shopsettings import ShopSettingsDialog

        ShopSettingsDialog(self.service.tasks, self.service.client, self).exec()
        self.service.refresh_shop()

    def switch_shop(self) -> None:
        pending = self.service.outbox.state().get("pending", 0)
        text = "Close this shop's counter and choose another shop (or set up your own)?"
        if pending:
            text += (f"\n\n{pending} report{'s' if pending > 1 else ''} of printed or cancelled jobs "
                     "have not reached this shop's server yet. They are kept on this computer and sent when "
                     "you open this shop again.")
        box = QMessageBox(QMessageBox.Icon.Warning if pending else QMessageBox.Icon.Question, "Switch shop", text,
                          QMessageBox.StandardButton.Ok | QMessageBox.StandardButton.Cancel, self)
        box.button(QMessageBox.StandardButton.Ok).setText("Switch shop")
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        if box.exec() == QMessageBox.StandardButton.Ok:
            self.switch_requested = True
            self.close()

    def toggle_open(self) -> None:
        if self.service.can_toggle_open():
            self.service.set_open(not self.open_btn.property("state") == "open")


STYLE = """
QPushButton { padding: 6px 12px; }
QPushButton#primary { background: #1a5fb4; color: white; font-weight: bold; border-radius: 4px; padding: 8px; }
QPushButton#primary:disabled { background: #9bb3d6; }
QPushButton#danger { color: #b00020; }
QPushButton#danger:disabled { color: #a0a4aa; }
QPushButton[state="open"] { background: #1a7f37; color: white; font-weight: bold; border-radius: 4px; }
QPushButton[state="closed"] { background: #6b6f76; color: white; font-weight: bold; border-radius: 4px; }
QTableView { gridline-color: #e3e6ea; selection-background-color: #1a5fb4; selection-color: white; }
QHeaderView::section { padding: 4px; font-weight: bold; }
"""
