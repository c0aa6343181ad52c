"""CounterService: everything the window needs, as a QObject with signals. It owns the client, the queue
watcher, the outbox, the download cache, the printers and the print pipeline, and runs every blocking
call off the main thread (TaskRunner; one worker per printer, so a printer's jobs go in order)."""

from __future__ import annotations

import logging
import platform
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
from ..domain.codes import extract_job_code
from ..printing.backends import PrinterSet, PrinterUnavailable
from ..printing.inflight import AlreadyInFlight, InFlight
from ..printing.options import PrintRequest, UnsupportedOption
from ..printing.pipeline import PrintOutcome, PrintPipeline, Result
from ..printing.routing import choose_printer
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

    # --- life --------------------------------------------------------------------------------------
    def start(self) -> None:
        self.watcher.start()
        self.outbox.start()
        self.outbox_changed.emit(self.outbox.state())
        self.refresh_shop()
        self.refresh_printers()
        self._printer_timer.start()
        self._heartbeat.start()
        self.cache.clean()
        if QSystemTrayIcon.isSystemTrayAvailable() and self.settings.notifications and self.window is not None:
            self.tray = QSystemTrayIcon(self.window.windowIcon(), self)
            self.tray.show()
        self.tasks.run(self.pipeline.resume, on_done=self._resumed, on_error=self._task_error("Resuming prints"))

    def shutdown(self) -> None:
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
                                        shop_name=self._shop.get("name"))
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

