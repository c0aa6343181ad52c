"""CounterService: the Qt adapter over the counter core (shopdesk/counter/). The core owns the wiring
(outbox, download cache, in-flight store, pipeline) and the counter's life; this class runs its blocking
calls off the main thread (TaskRunner; one worker per printer, so a printer's jobs go in order), watches
the queue, and tells the window what happened through its signals:

- queue_changed(orders)                the waiting orders, after every change of the queue
- connection_changed(ok, words)        the server connection
- outbox_changed(state)                reports waiting in the outbox ({"pending", "rejected", "last_error"})
- printers_changed(printers)           every printer with its health, as dicts
- shop_changed(shop)                   the shop (open/closed, name, public_url)
- job_progress(file_id, stage, words, fraction)   a print's `Stage`; fraction 0..1, or -1 when unknown
- job_finished(file_id, ok, words)     a print ended, or was not started (the words say why)
- needs_confirmation(job, printer)     ask "Did it print?"
- preview_ready(file_id, image, error) a job's first page
- message(title, text, level)          level: status | info | warning
- job_opened(code)                     a scanned or typed code opened a job
- logged_out()                         the token stopped working
- customer_access_changed(state)       customer uploads (see customer_state)

Dialogs are opened by the window (ui/mainwindow.py), which then calls this class to do the work."""

from __future__ import annotations

import importlib
import logging
import platform
import threading
import uuid
from pathlib import Path

from PySide6.QtCore import QObject, QThreadPool, QTimer, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QWidget

from .. import __version__
from ..client.api import ShopClient
from ..client.errors import OfflineError
from ..client.watcher import QueueChange, QueueWatcher
from ..counter import CounterCore, Refusal, explain
from ..domain.codes import extract_job_code, status_url
from ..domain.jobs import FINISHED, WAITING, JobStatus
from ..domain.printsettings import PrintSettings
from ..printing.backend import PrinterUnavailable
from ..printing.options import PrintRequest
from ..printing.pipeline import PrintOutcome, Result
from ..printing.printers import PrinterSet
from ..printing.readiness import printer_report, readiness_key
from ..printing.routing import choose_printer
from ..printing.stages import ConfirmMode, Stage
from ..settings import AppSettings, log_dir
from .preview import PreviewProcess, PreviewSuperseded
from .sounds import Sounds
from .tasks import TaskRunner

log = logging.getLogger("shopdesk.ui.service")


WARM_UP_AFTER_MS = 3000
WARM_UP_MODULES = ("shopdesk.scanning.process", "shopdesk.ui.scanview")


def _import_quietly(modules) -> None:
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception:  # the scan view reports a missing camera stack itself, when it is opened
            log.debug("warm-up import of %s failed", name, exc_info=True)


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
        self._readiness: tuple | None = None  # which printers were ready at the last look
        self._shop: dict = {}
        self._orders: list = []
        self.core = CounterCore(client, printers, self.data_dir, counter=settings.counter_name,
                                confirm_mode=_confirm_mode(settings), on_outbox_change=self.outbox_changed.emit)
        self.outbox, self.cache, self.inflight, self.pipeline = (self.core.outbox, self.core.cache,
                                                                 self.core.inflight, self.core.pipeline)
        self.watcher = QueueWatcher(client, self._on_queue_change, self.connection_changed.emit,
                                    on_unauthorized=self.logged_out.emit)
        self.sounds = Sounds(self.data_dir / "sounds", settings.sounds)
        self.previews = PreviewProcess()  # its child starts with the first preview (ui/preview.py)
        self._heartbeat = QTimer(self, interval=60_000)
        self._heartbeat.timeout.connect(self.send_heartbeat)
        self._printer_timer = QTimer(self, interval=10_000)
        self._printer_timer.timeout.connect(self.refresh_printers)
        self._printer_timer.timeout.connect(self.settle_starts)
        # The app's EmbeddedServer, or None when it talks to a remote server (ui/app.py sets it).
        self.embedded = None
        self.lan_address = _lan_address  # a collaborator, so a test can stand in for DHCP
        self.poster_stale = False
        self._customer_busy = False
        self._customer_error = ""
        self._lan_timer = QTimer(self, interval=30_000)
        self._lan_timer.timeout.connect(self.check_lan_address)

    # --- life --------------------------------------------------------------------------------------
    def start(self) -> None:
        self.watcher.start()
        self.core.start()
        self.outbox_changed.emit(self.outbox.state())
        # the first heartbeat loads the shop (one answer, not two racing ones): this counter and its
        # printers are known to the server from the start
        self.tasks.run(self.core.heartbeat, on_done=self._shop_loaded, on_error=lambda e: self.refresh_shop())
        self.refresh_printers()
        self._printer_timer.start()
        self._heartbeat.start()
        self._lan_timer.start()
        self.tasks.run(self.core.resume, on_done=self._resumed, on_error=self._task_error("Resuming prints"))
        QTimer.singleShot(WARM_UP_AFTER_MS, self._warm_up)

    def _warm_up(self) -> None:
        """The camera's modules, imported once the window has settled and off the main thread: the
        first scan view then opens without a ~40 ms pause of the window (numpy, the decoder, the
        capture process's spawn machinery), which the start does not pay either."""
        threading.Thread(target=_import_quietly, args=(WARM_UP_MODULES,), name="shopdesk-warm-up",
                         daemon=True).start()

    def shutdown(self) -> None:
        self._lan_timer.stop()
        self._heartbeat.stop()
        self._printer_timer.stop()
        self.watcher.stop(timeout=2)
        self.core.stop(timeout=2)
        self.previews.close()
        for pool in self._printer_pools.values():
            pool.wait(2000)

    def settle_starts(self) -> None:
        """Prints whose print-started answer was lost (the server or network failed at that moment) may
        show as printing at this counter on the server: settled in a worker, every 10 s while any is left."""
        self.tasks.run(self.core.settle_starts, on_done=lambda outcomes: [self._print_done(o) for o in outcomes],
                       on_error=self._task_error("Settling interrupted prints"))

    def _resumed(self, outcomes: list[PrintOutcome]) -> None:
        for o in outcomes:
            self._print_done(o)
        for row in self.core.awaiting_confirmation():
            self.needs_confirmation.emit(row.job, row.printer)

    # --- queue -------------------------------------------------------------------------------------
    def _on_queue_change(self, change: QueueChange) -> None:  # watcher thread
        self._orders = change.orders
        self.core.queue_seen(change.orders)  # files of waiting jobs fetched before the click (own thread)
        self.queue_changed.emit(change.orders)

    def refresh_now(self) -> None:
        self.watcher.refresh()
        self.refresh_shop()
        self.refresh_printers()

    def announce_new(self, jobs: list[dict]) -> str:
        """The sound and the status line for new jobs; the words, for the window's tray notice."""
        self.sounds.play("new")
        n = len(jobs)
        text = f"{n} new job{'s' if n > 1 else ''}: " + ", ".join(f"{j['code']} {j['original_name']}" for j in jobs[:3])
        self.message.emit("New jobs", text, "status")
        return text

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
        """Every minute, open or closed (a counter that stays silent has its printing jobs taken back), and
        at once when a printer becomes ready or stops (the server pauses the shop or refuses settings)."""
        self.tasks.run(self.core.heartbeat, on_done=self._shop_loaded, on_error=lambda e: log.info("heartbeat: %s", e))

    # --- printers ----------------------------------------------------------------------------------
    def refresh_printers(self) -> None:
        self.tasks.run(self.printer_set.printers, on_done=self._printers_loaded,
                       on_error=self._task_error("Listing printers"))

    def _printers_loaded(self, printers: list) -> None:
        self._printers = printers
        self.printers_changed.emit([p.as_dict() for p in printers])
        readiness = readiness_key([printer_report(p) for p in printers])
        if self._readiness is not None and readiness != self._readiness:
            self.send_heartbeat()  # a printer became ready or stopped: the server hears it now, not in a minute
        self._readiness = readiness

    def printers(self) -> list:
        return self._printers

    def route(self, job: dict) -> str | None:
        try:
            req = PrintRequest.from_job(job)
        except Exception:
            return None
        return choose_printer(req, self._printers, self.settings.routing, self.settings.default_printer)

    # --- printing ----------------------------------------------------------------------------------
    def _pool(self, printer: str) -> TaskRunner:
        if printer not in self._printer_pools:
            pool = QThreadPool(self)
            pool.setMaxThreadCount(1)  # one printer's jobs go in order
            self._printer_pools[printer] = TaskRunner(self, pool)
        return self._printer_pools[printer]

    def print_job(self, job: dict, printer: str, *, customer: str = "", page_ranges: str = "") -> None:
        fid = job["file_id"]
        self.job_progress.emit(fid, Stage.STARTING, f"on {printer}", -1.0)

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
            return self.core.print_job(job, printer, customer=customer, page_ranges=page_ranges,
                                       progress=progress, cover=cover)

        def failed(exc: BaseException) -> None:
            why, text = explain(exc)
            if why is Refusal.UNEXPECTED:
                log.error("printing %s failed unexpectedly: %r", job["code"], exc)
            self.job_finished.emit(fid, False, f"{job['code']}: {text}")
            self.watcher.refresh()

        self._pool(printer).run(work, on_done=self._print_done, on_error=failed)

    def _print_done(self, outcome: PrintOutcome) -> None:
        if outcome.result is Result.NEEDS_CONFIRMATION:
            job = (self.inflight.get(outcome.file_id) or None)
            self.job_progress.emit(outcome.file_id, Stage.WAITING_CONFIRM, outcome.message, -1.0)
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

        self.tasks.run(self.core.answer_confirmation, job["file_id"], printed, on_done=done,
                       on_error=self._task_error("Recording the answer"))

    def confirm_by_hand(self, job: dict) -> None:
        self.core.confirm_by_hand(job["file_id"])
        self.message.emit("Marked as printed", f"{job['code']} will be confirmed to the server.", "status")

    def cancel_order(self, job: dict, reason: str) -> None:
        self.core.cancel_order(job["file_id"], reason)
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
            from ..server.embedded import customer_url

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

    def print_document(self, printer: str, make, title: str, on_done=None, on_error=None) -> None:
        """A shop document (the end-of-day report): `make()` writes its PDF and returns the path and its
        page count; it goes to `printer` through the counter's own print path (as the poster does), in
        that printer's worker, never on the main thread."""
        from ..printing.options import check_supported

        def work() -> str:
            path, pages = make()
            found = self.printer_set.find(printer)
            if found is None:
                raise PrinterUnavailable(f"Printer '{printer}' is not there any more. Choose another printer.")
            backend, info = found
            req = PrintRequest(file_id=0, code="report", customer="", original_name=Path(path).name, sha256="",
                               num_pages=pages, settings=PrintSettings())
            check_supported(req, info, [p for p in self._printers if p.name != printer])
            backend.submit(req, printer, Path(path), f"shopdesk {title} {uuid.uuid4().hex[:8]}")
            return printer

        self._pool(printer).run(work, on_done=on_done, on_error=on_error or self._task_error(f"Printing the {title}"))

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
            if status in WAITING:
                self.sounds.play("found")
                self.watcher.refresh()
                self.job_opened.emit(code)
                return
            self.sounds.play("printed" if status == JobStatus.DOWNLOADED else "cancelled")
            words = JobStatus(status).final_words if status in FINISHED else status
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
            return self.previews.render(path, job["content_type"], width)  # in the previewer's process

        def done(image) -> None:
            self.preview_ready.emit(fid, image, "")

        def failed(exc: BaseException) -> None:
            if not isinstance(exc, PreviewSuperseded):  # another job was selected meanwhile
                self.preview_ready.emit(fid, None, f"No preview: {exc}")

        if job["status"] in WAITING:
            self.tasks.run(work, on_done=done, on_error=failed)

    # --- settings ----------------------------------------------------------------------------------
    def apply_settings(self) -> None:
        """After the window's Settings dialog changed self.settings: save them and follow them."""
        self.settings.save()
        self.core.set_confirm_mode(_confirm_mode(self.settings))
        self.sounds.enabled = self.settings.sounds
        self.message.emit("Settings", "Settings saved.", "status")

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

    def play(self, name: str) -> None:
        self.sounds.play(name)

    def _task_error(self, what: str):
        def report(exc: BaseException) -> None:
            level = "status" if isinstance(exc, OfflineError) else "warning"
            self.message.emit(what, f"{what} failed: {exc}", level)

        return report


def _lan_address() -> str | None:
    # imported when first asked (only with the built-in server's customer uploads on): a counter of a
    # shop server never loads the server's modules
    from ..server.embedded import lan_address

    return lan_address()


def _confirm_mode(settings: AppSettings) -> ConfirmMode:
    return ConfirmMode.AUTO if settings.auto_confirm else ConfirmMode.ASK
