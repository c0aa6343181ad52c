"""CounterService: everything the window needs, as a QObject with signals. It owns the client, the queue
watcher, the outbox, the download cache, the printers and the print pipeline, and runs every blocking
call off the main thread (TaskRunner; one worker per printer, so a printer's jobs go in order)."""

from __future__ import annotations

import logging
import platform
import uuid
from pathlib import Path

from PySide6.QtCore import QObject, QThreadPool, QTimer, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import QSystemTrayIcon, QWidget

from .. import __version__
from ..client.api import ShopClient
from ..client.downloads import DownloadCache
from ..client.errors import ApiError, ConflictError, OfflineError
from ..client.outbox import Outbox
from ..client.reporter import ClientReporter
from ..client.watcher import QueueChange, QueueWatcher
from ..domain.codes import extract_job_code, status_url
from ..domain.printsettings import PrintSettings
from ..printing.backends import PrinterSet, PrinterUnavailable
from ..printing.inflight import AlreadyInFlight, InFlight
from ..printing.options import PrintRequest, UnsupportedOption
from ..printing.pipeline import PrintOutcome, PrintPipeline, Result
from ..printing.routing import choose_printer
from ..server.embedded import customer_url, lan_address
from ..settings import AppSettings, log_dir
from .preview import render_first_page
from .sounds import Sounds
from .tasks import TaskRunner

log = logging.getLogger("shopdesk.ui.service")


class CounterService(QObject):
    # `object`, not list/dict: PySide would convert a list or dict argument to Qt containers and back,
    # deep, on every emit — a 1000-job queue took ~200 ms of GIL away from the window (bench/ui.py).
    queue_changed = Signal(object)
    connection_changed = Signal(bool, str)
    outbox_changed = Signal(object)
    printers_changed = Signal(object)
    shop_changed = Signal(object)
    job_progress = Signal(int, str, str, float)
    job_finished = Signal(int, bool, str)
    needs_confirmation = Signal(object, str)
    preview_ready = Signal(int, object, str)
    message = Signal(str, str, str)  # title, text, level: status | info | warning
    job_opened = Signal(str)
    logged_out = Signal()
    # Customer uploads: {"url", "on", "port", "error", "stale", "busy", "embedded"} (see customer_state)
    customer_access_changed = Signal(object)

    def __init__(self, client: ShopClient, profile: dict, settings: AppSettings, printers: PrinterSet,
                 data_dir: Path, parent: QObject | None = None):
        super().__init__(parent)
        self.client, self.profile, self.settings, self.printer_set = client, profile, settings, printers
        self.data_dir = Path(data_dir)
        self.tasks = TaskRunner(self)
        self.window: QWidget | None = None
        self._printer_pools: dict[str, TaskRunner] = {}
        self._printers: list = []
        self._shop: dict = {}
        self._orders: list = []
        self.outbox = Outbox(self.data_dir / "outbox.db", client, on_change=self.outbox_changed.emit)
        self.cache = DownloadCache(self.data_dir / "cache", client)
        self.inflight = InFlight(self.data_dir / "inflight.db")
        self.pipeline = PrintPipeline(ClientReporter(client, self.outbox, self.cache, settings.counter_name),
                                      printers, self.inflight, counter=settings.counter_name,
                                      confirm_mode="auto" if settings.auto_confirm else "ask")
        self.watcher = QueueWatcher(client, self._on_queue_change, self.connection_changed.emit,
                                    on_unauthorized=self.logged_out.emit)
        self.sounds = Sounds(self.data_dir / "sounds", settings.sounds)
        self.tray: QSystemTrayIcon | None = None
        self._heartbeat = QTimer(self, interval=60_000)
        self._heartbeat.timeout.connect(self.send_heartbeat)
        self._printer_timer = QTimer(self, interval=10_000)
        self._printer_timer.timeout.connect(self.refresh_printers)
        self._printer_timer.timeout.connect(self.settle_starts)
        # The app's EmbeddedServer, or None when it talks to a remote server (ui/app.py sets it).
        self.embedded = None
        self.lan_address = lan_address  # a collaborator, so a test can stand in for DHCP
        self.poster_stale = False
        self._customer_busy = False
        self._customer_error = ""
        self._lan_timer = QTimer(self, interval=30_000)
        self._lan_timer.timeout.connect(self.check_lan_address)

    # --- life --------------------------------------------------------------------------------------
    def start(self) -> None:
        self.watcher.start()
        self.outbox.start()
        self.outbox_changed.emit(self.outbox.state())
        self.refresh_shop()
        self.refresh_printers()
        self._printer_timer.start()
        self._heartbeat.start()
        self._lan_timer.start()
        self.cache.clean()
        if QSystemTrayIcon.isSystemTrayAvailable() and self.settings.notifications and self.window is not None:
            self.tray = QSystemTrayIcon(self.window.windowIcon(), self)
            self.tray.show()
        self.tasks.run(self.pipeline.resume, on_done=self._resumed, on_error=self._task_error("Resuming prints"))

    def shutdown(self) -> None:
        self._lan_timer.stop()
        self._heartbeat.stop()
        self._printer_timer.stop()
        self.watcher.stop(timeout=2)
        self.outbox.stop(timeout=2)
        for pool in self._printer_pools.values():
            pool.wait(2000)

    def settle_starts(self) -> None:
        """Prints whose print-started answer was lost (the server or network failed at that moment) may
        show as printing at this counter on the server: settled in a worker, every 10 s while any is left."""
        self.tasks.run(self.pipeline.resolve_starts, on_done=lambda outcomes: [self._print_done(o) for o in outcomes],
                       on_error=self._task_error("Settling interrupted prints"))

    def _resumed(self, outcomes: list[PrintOutcome]) -> None:
        for o in outcomes:
            self._print_done(o)
        for row in self.pipeline.awaiting_confirmation():
            self.needs_confirmation.emit(row.job, row.printer)

    # --- queue -------------------------------------------------------------------------------------
    def _on_queue_change(self, change: QueueChange) -> None:  # watcher thread
        self._orders = change.orders
        self.queue_changed.emit(change.orders)

    def refresh_now(self) -> None:
        self.watcher.refresh()
        self.refresh_shop()
        self.refresh_printers()

    def announce_new(self, jobs: list[dict]) -> None:
        self.sounds.play("new")
        n = len(jobs)
        text = f"{n} new job{'s' if n > 1 else ''}: " + ", ".join(f"{j['code']} {j['original_name']}" for j in jobs[:3])
        self.message.emit("New jobs", text, "status")
        if self.tray is not None and self.settings.notifications:
            self.tray.showMessage("shopdesk — new jobs", text, QSystemTrayIcon.MessageIcon.Information, 5000)

    # --- shop --------------------------------------------------------------------------------------
    def who(self) -> str:
        return f"{self.profile.get('username', '')} ({self.profile.get('role', '')}) at {self.settings.counter_name}"

    def is_owner(self) -> bool:
        return self.profile.get("role") == "owner"

    def can_toggle_open(self) -> bool:
        return self.is_owner()

    def refresh_shop(self) -> None:
        self.tasks.run(self.client.shop, on_done=self._shop_loaded, on_error=self._task_error("Loading the shop"))

    def _shop_loaded(self, shop: dict) -> None:
        self._shop = shop
        self.shop_changed.emit(shop)

    def set_open(self, is_open: bool) -> None:
        self.tasks.run(self.client.set_open, is_open, on_done=self._shop_loaded,
                       on_error=self._task_error("Opening or closing the shop"))

    def send_heartbeat(self) -> None:
        if self._shop.get("is_open"):
            self.tasks.run(self.client.heartbeat, on_done=self._shop_loaded, on_error=lambda e: log.info("heartbeat: %s", e))

    # --- printers ----------------------------------------------------------------------------------
    def refresh_printers(self) -> None:
        self.tasks.run(self.printer_set.printers, on_done=self._printers_loaded,
                       on_error=self._task_error("Listing printers"))

    def _printers_loaded(self, printers: list) -> None:
        self._printers = printers
        self.printers_changed.emit([p.as_dict() for p in printers])

    def printers(self) -> list:
        return self._printers

    def route(self, job: dict) -> str | None:
        try:
            req = PrintRequest.from_job(job)
        except Exception:
            return None
        return choose_printer(req, self._printers, self.settings.routing, self.settings.default_printer)

    # --- printing ----------------------------------------------------------------------------------
    def ask_print(self, jobs: list[dict], order: dict | None) -> None:
        from .printdialog import PrintDialog

        if not self._printers:
            self.message.emit("Print", "No printer is available. Check CUPS or the hot folder in Settings.", "warning")
            return
        dlg = PrintDialog(jobs, order or {}, self._printers, self.route(jobs[0]), self.window)
        if dlg.exec():
            for job in jobs:
                self.print_job(job, dlg.printer_name, customer=(order or {}).get("customer_name", ""),
                               page_ranges=dlg.page_ranges if len(jobs) == 1 else "")

    def _pool(self, printer: str) -> TaskRunner:
        if printer not in self._printer_pools:
            pool = QThreadPool(self)
            pool.setMaxThreadCount(1)  # one printer's jobs go in order
            self._printer_pools[printer] = TaskRunner(self, pool)
        return self._printer_pools[printer]

    def print_job(self, job: dict, printer: str, *, customer: str = "", page_ranges: str = "") -> None:
        fid = job["file_id"]
        self.job_progress.emit(fid, "starting", f"on {printer}", -1.0)

        def progress(stage: str, words: str, fraction: float) -> None:  # worker thread → queued signal
            self.job_progress.emit(fid, stage, words, float(fraction))

        def work():
            cover = None
            if self.settings.print_ticket_first:
                from ..scanning.tickets import make_ticket_pdf

                cover = make_ticket_pdf(job, self.data_dir / "covers" / f"{job['code']}.pdf",
                                        customer_name=customer or None, kind="cover",
                                        shop_name=self._shop.get("name"),
                                        qr_text=status_url(self.public_url(), job["code"]))
            return self.pipeline.print_job(job, printer, customer=customer, page_ranges=page_ranges,
                                           progress=progress, cover=cover)

        def failed(exc: BaseException) -> None:
            if isinstance(exc, ConflictError):
                text = f"Another counter has this job. {exc}"
            elif isinstance(exc, OfflineError):
                text = f"Not started: the server cannot be reached, so the job was not printed. {exc}"
            elif isinstance(exc, (UnsupportedOption, PrinterUnavailable, AlreadyInFlight, ApiError)):
                text = str(exc)
            else:
                log.error("printing %s failed unexpectedly: %r", job["code"], exc)
                text = f"Printing failed unexpectedly: {exc}"
            self.job_finished.emit(fid, False, f"{job['code']}: {text}")
            self.watcher.refresh()

        self._pool(printer).run(work, on_done=self._print_done, on_error=failed)

    def _print_done(self, outcome: PrintOutcome) -> None:
        if outcome.result is Result.NEEDS_CONFIRMATION:
            job = (self.inflight.get(outcome.file_id) or None)
            self.job_progress.emit(outcome.file_id, "waiting-confirm", outcome.message, -1.0)
            if job is not None:
                self.needs_confirmation.emit(job.job, outcome.printer)
            return
        ok = outcome.result is Result.PRINTED
        if ok:
            self.sounds.play("printed")
        self.job_finished.emit(outcome.file_id, ok, f"{outcome.code}: {outcome.message}")

    def answer_confirmation(self, job: dict, printer: str, printed: bool) -> None:
        def done(_):
            self.job_finished.emit(job["file_id"], printed, f"{job['code']}: " +
                                   ("confirmed as printed." if printed else "reported as not printed; back in the queue."))

        self.tasks.run(self.pipeline.settle, job["file_id"], printed, on_done=done,
                       on_error=self._task_error("Recording the answer"))

    def confirm_by_hand(self, job: dict) -> None:
        self.outbox.add("confirm", job["file_id"], {"counter": self.settings.counter_name})
        self.message.emit("Marked as printed", f"{job['code']} will be confirmed to the server.", "status")

    def cancel_order(self, job: dict, reason: str) -> None:
        self.outbox.add("cancel", job["file_id"], {"reason": reason})
        self.sounds.play("cancelled")
        self.message.emit("Cancelled", f"The order of {job['code']} is being cancelled: {reason}", "status")

    # --- customer uploads ------------------------------------------------------------------------
    def public_url(self) -> str:
        """How customers reach the shop's server; job QR codes carry `{public_url}/j/{code}`."""
        return (self._shop.get("public_url") or self.client.base_url).rstrip("/")

    def customer_url(self) -> str:
        return f"{self.public_url()}/s/{self._shop.get('shop_id') or self.profile.get('shop_id')}"

    def customer_state(self) -> dict:
        emb = self.embedded
        url = emb.public_url if emb is not None and emb.public_url else self.public_url()
        return {"url": f"{url}/s/{self._shop.get('shop_id') or self.profile.get('shop_id')}",
                "embedded": emb is not None, "on": emb is None or emb.customer_port is not None,
                "port": (emb.customer_port if emb is not None and emb.customer_port else self.settings.customer_port),
                "error": self._customer_error or (emb.customer_error if emb is not None else ""),
                "stale": self.poster_stale, "busy": self._customer_busy}

    def open_customer_uploads(self) -> None:
        if not self.is_owner():
            self.message.emit("Customer uploads", "Only the shop's owner can change customer uploads.", "warning")
            return
        from .customer_uploads import CustomerUploadsDialog

        CustomerUploadsDialog(self, self.window).exec()

    def set_customer_uploads(self, on: bool, port: int) -> None:
        """Embedded server only: customers on the LAN on (at `port`) or off; the server restarts in a worker."""
        if self.embedded is None or self._customer_busy:
            return
        self._customer_busy = True
        self._customer_error = ""
        self.customer_access_changed.emit(self.customer_state())
        emb = self.embedded

        def done(_url: str) -> None:
            self._customer_busy = False
            self.settings.customer_uploads = emb.customer_port is not None
            if emb.customer_port is not None:
                self.settings.customer_port = emb.customer_port
            self.settings.save()
            self.refresh_shop()
            self.customer_access_changed.emit(self.customer_state())

        def failed(exc: BaseException) -> None:
            self._customer_busy = False
            self._customer_error = f"The shop's server could not restart: {exc}"
            self.customer_access_changed.emit(self.customer_state())

        self.tasks.run(emb.set_customer_access, port if on else None, on_done=done, on_error=failed)

    def check_lan_address(self) -> None:
        """Every 30 s: when the LAN address changed (DHCP), the server follows it and the poster, which
        shows the old address, must be printed again."""
        emb = self.embedded
        if emb is None or emb.customer_port is None or self._customer_busy:
            return
        from urllib.parse import urlsplit

        def seen(address: str | None) -> None:
            if emb.customer_port is None or self._customer_busy:
                return
            old = urlsplit(emb.public_url).hostname
            if address is None or address == old:
                return
            self._customer_busy = True

            def moved(_url: str) -> None:
                self._customer_busy = False
                self.poster_stale = True
                self.refresh_shop()
                self.message.emit("Customer uploads", f"The shop's network address changed from {old} to {address}: "
                                  "print the poster again (Shop → Customer uploads…) — the one on the wall "
                                  "points to the old address.", "warning")
                self.customer_access_changed.emit(self.customer_state())

            def failed(exc: BaseException) -> None:
                self._customer_busy = False
                self._customer_error = f"The shop's server could not follow the new address {address}: {exc}"
                self.customer_access_changed.emit(self.customer_state())

            port = emb.customer_port
            self.tasks.run(emb.set_customer_access, port, customer_url(address, port), on_done=moved, on_error=failed)

        self.tasks.run(self.lan_address, on_done=seen, on_error=lambda e: log.info("LAN address: %s", e))

    def print_poster(self, printer: str) -> None:
        """The A4 poster with the QR code of the shop's upload page, made and printed in a worker."""
        from ..printing.options import PrintRequest, check_supported
        from ..scanning.tickets import make_poster_pdf

        shop, url = dict(self._shop), self.customer_state()["url"]
        path = self.data_dir / "poster.pdf"

        def work() -> str:
            make_poster_pdf(shop, url, path)
            found = self.printer_set.find(printer)
            if found is None:
                raise PrinterUnavailable(f"Printer '{printer}' is not there any more. Choose another printer.")
            backend, info = found
            req = PrintRequest(file_id=0, code="poster", customer="", original_name="poster.pdf", sha256="",
                               num_pages=1, settings=PrintSettings())
            check_supported(req, info, [p for p in self._printers if p.name != printer])
            backend.submit(req, printer, path, f"shopdesk poster {uuid.uuid4().hex[:12]}")
            return printer

        def done(name: str) -> None:
            self.poster_stale = False
            self.settings.poster_printer = name
            self.settings.save()
            self.message.emit("Poster", f"The poster for {url} was sent to '{name}'.", "status")
            self.customer_access_changed.emit(self.customer_state())

        self._pool(printer).run(work, on_done=done, on_error=self._task_error("Printing the poster"))

    # --- codes -------------------------------------------------------------------------------------
    def open_code(self, text: str, typed_fast: bool = False) -> None:
        code = extract_job_code(text)
        if code is None:
            self.sounds.play("unknown")
            self.message.emit("Unknown code", f"'{text[:40]}' is not a job code (6 letters and digits).", "warning")
            return
        if self.window is not None and self.window.select_code(code):
            self.sounds.play("found")
            self.job_opened.emit(code)
            return

        def found(job: dict) -> None:
            status = job["status"]
            if status in ("uploaded", "printing"):
                self.sounds.play("found")
                self.watcher.refresh()
                self.job_opened.emit(code)
                return
            self.sounds.play("printed" if status == "downloaded" else "cancelled")
            words = {"downloaded": "was already printed", "cancelled": "was cancelled",
                     "withdrawn": "was withdrawn by the customer"}.get(status, status)
            self.message.emit("Job " + code, f"Job {code} ({job['original_name']}) {words}.", "warning")

        def missing(exc: BaseException) -> None:
            self.sounds.play("unknown")
            self.message.emit("Unknown code", f"No job with code {code} at this shop. {exc}", "warning")

        self.tasks.run(self.client.job_by_code, code, on_done=found, on_error=missing)

    # --- previews ----------------------------------------------------------------------------------
    def request_preview(self, job: dict) -> None:
        fid = job["file_id"]

        screen = QGuiApplication.primaryScreen()
        width = int(480 * (screen.devicePixelRatio() if screen else 1.0))  # sharp on high-DPI screens

        def work():
            path = self.cache.fetch(fid, job["sha256"])
            return render_first_page(path, job["content_type"], width)

        def done(image) -> None:
            self.preview_ready.emit(fid, image, "")

        def failed(exc: BaseException) -> None:
            self.preview_ready.emit(fid, None, f"No preview: {exc}")

        if job["status"] in ("uploaded", "printing"):
            self.tasks.run(work, on_done=done, on_error=failed)

    # --- windows -----------------------------------------------------------------------------------
    def open_history(self) -> None:
        from .history import HistoryDialog

        HistoryDialog(self.tasks, lambda params: self.client.history(**params), self.window).exec()

    def open_payouts(self) -> None:
        if not self.is_owner():
            self.message.emit("Payouts", "Only the shop's owner can see payouts.", "warning")
            return
        from .payouts import PayoutsDialog

        PayoutsDialog(self.tasks, lambda group: (self.client.payouts(), self.client.earnings(group)), self.window).exec()

    def open_settings(self) -> None:
        from .settingsdialog import SettingsDialog

        dlg = SettingsDialog(self.settings, [p.name for p in self._printers], self.window)
        if dlg.exec():
            dlg.apply(self.settings)
            self.settings.save()
            self.pipeline.confirm_mode = "auto" if self.settings.auto_confirm else "ask"
            self.sounds.enabled = self.settings.sounds
            self.message.emit("Settings", "Settings saved.", "status")

    def open_scanner(self) -> None:
        from .scanview import open_scan_view

        open_scan_view(self)

    def open_log_folder(self) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(log_dir())))

    def diagnostics(self) -> str:
        st = self.outbox.state()
        lines = [f"shopdesk {__version__} on {platform.platform()} (Python {platform.python_version()})",
                 f"server: {self.client.base_url} — user {self.profile.get('username')} ({self.profile.get('role')})",
                 f"counter: {self.settings.counter_name}; watcher connected: {self.watcher.connected}",
                 f"outbox: {st['pending']} pending, {st['rejected']} rejected, last error: {st['last_error']}",
                 f"in flight: {[(r.code, r.printer, r.stage) for r in self.inflight.all()]}",
                 "printers: " + "; ".join(f"{p.name} ({p.backend}): {p.health[1]}" for p in self._printers),
                 f"logs: {log_dir()}"]
        return "\n".join(lines)

    def copy_diagnostics(self) -> None:
        QGuiApplication.clipboard().setText(self.diagnostics())
        self.message.emit("Diagnostics", "Diagnostics copied to the clipboard (no passwords or tokens).", "status")

    def play(self, name: str) -> None:
        self.sounds.play(name)

    def _task_error(self, what: str):
        def report(exc: BaseException) -> None:
            level = "status" if isinstance(exc, OfflineError) else "warning"
            self.message.emit(what, f"{what} failed: {exc}", level)

        return report

