"""CounterCore: one counter's parts and life, written once for the window and the agent.

It builds the outbox (durable reports), the download cache, the in-flight store (the double-print
guard) and the print pipeline on one data folder, and runs the counter's life: start, resume the jobs
that were in flight, settle the starts whose answer was lost, heartbeat, print, answer "Did it print?",
confirm by hand, cancel, and say in words why a job was not printed. Plain blocking code: the window runs
it in worker threads, the agent in its own loop."""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Callable, Collection
from pathlib import Path

from .. import __version__
from ..client.api import ShopClient
from ..client.downloads import DownloadCache
from ..client.errors import ApiError, ConflictError, OfflineError
from ..client.outbox import Outbox
from ..client.prefetch import Prefetcher
from ..client.reporter import ClientReporter
from ..domain.jobs import JobStatus
from ..printing.backend import PrinterUnavailable
from ..printing.inflight import AlreadyInFlight, InFlight, InFlightJob
from ..printing.options import UnsupportedOption
from ..printing.pipeline import PrintOutcome, PrintPipeline, Progress
from ..printing.printers import PrinterSet
from ..printing.readiness import printers_report
from ..printing.stages import ConfirmMode, Stage

log = logging.getLogger("shopdesk.counter")

HEARTBEAT_SECONDS = 60.0  # an open shop stays open while a counter says so this often


class Refusal(enum.Enum):
    """Why a Print did not happen (nothing was printed, nothing reported); the value is the agent's word."""

    TAKEN = "skipped"            # another counter has the job, or it moved on
    UNSUPPORTED = "not-printed"  # this printer cannot do the job: waiting will not change that
    NOT_NOW = "not-printed"      # the printer is away, or the job is already being printed here
    OFFLINE = "not-started"      # the server cannot be reached: a job cannot start offline
    REFUSED = "refused"          # the server refused it otherwise (its words)
    UNEXPECTED = "failed"        # a defect

    @property
    def worth_retrying_soon(self) -> bool:
        """Left for a reason of this counter's own (its printer, the network), not because the job moved on."""
        return self in (Refusal.NOT_NOW, Refusal.OFFLINE)


def explain(exc: BaseException) -> tuple[Refusal, str]:
    """The one place a refused Print becomes words (the window shows them, the agent prints them)."""
    if isinstance(exc, ConflictError):
        return Refusal.TAKEN, f"Another counter has this job. {exc}"
    if isinstance(exc, OfflineError):
        return Refusal.OFFLINE, f"Not started: the server cannot be reached, so the job was not printed. {exc}"
    if isinstance(exc, UnsupportedOption):
        return Refusal.UNSUPPORTED, str(exc)
    if isinstance(exc, (PrinterUnavailable, AlreadyInFlight)):
        return Refusal.NOT_NOW, str(exc)
    if isinstance(exc, ApiError):
        return Refusal.REFUSED, str(exc)
    return Refusal.UNEXPECTED, f"Printing failed unexpectedly: {exc}"


class CounterCore:
    def __init__(self, client: ShopClient, printers: PrinterSet, data_dir: Path, *, counter: str,
                 confirm_mode: ConfirmMode | str = ConfirmMode.AUTO, reporter=None,
                 on_outbox_change: Callable[[dict], None] | None = None, prefetch_bytes: int | None = None,
                 prefetch_files: int | None = None, **pipeline_kw):
        self.client, self.printers, self.counter = client, printers, counter
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.outbox = Outbox(self.data_dir / "outbox.db", client, on_change=on_outbox_change)
        self.cache = DownloadCache(self.data_dir / "cache", client)
        self.inflight = InFlight(self.data_dir / "inflight.db")
        # Files of waiting jobs fetched before the click; a file a print of ours still needs is kept.
        self.prefetch = Prefetcher(self.cache, max_bytes=prefetch_bytes, max_files=prefetch_files,
                                   in_use=lambda: [r.job.get("sha256", "") for r in self.inflight.all()])
        self.reporter = reporter or ClientReporter(client, self.outbox, self.cache, counter)
        self.pipeline = PrintPipeline(self.reporter, printers, self.inflight, counter=counter,
                                      confirm_mode=confirm_mode, **pipeline_kw)
        self._last_beat = float("-inf")

    # --- life ----------------------------------------------------------------------------------------
    def start(self) -> None:
        """Starts delivering the outbox's reports, drops stale downloads and starts prefetching."""
        self.outbox.start()
        self.cache.clean()
        self.prefetch.start()

    def resume(self, progress: Progress | None = None) -> list[PrintOutcome]:
        """Picks up every job that was in flight when this counter stopped (blocking)."""
        return self.pipeline.resume(progress)

    def settle_starts(self) -> list[PrintOutcome]:
        """Settles prints whose print-started answer was lost (blocking; call it now and then)."""
        return self.pipeline.resolve_starts()

    def awaiting_confirmation(self) -> list[InFlightJob]:
        return self.pipeline.awaiting_confirmation()

    def heartbeat(self, only: Collection[str] | None = None) -> dict:
        """Says this counter is alive, as itself, with its printers and what each can do now (the server
        pauses the shop or refuses settings from these); the shop as the server then shows it. `only`:
        the printers this counter prints on (the agent's one), when not every printer it sees."""
        self._last_beat = time.monotonic()
        return self.client.heartbeat({"counter": self.counter, "version": __version__,
                                      "printers": printers_report(self.printers, only)})

    def heartbeat_due(self) -> bool:
        return time.monotonic() - self._last_beat > HEARTBEAT_SECONDS

    def stop(self, timeout: float = 2.0) -> None:
        self.prefetch.stop(timeout=timeout)
        self.outbox.stop(timeout=timeout)

    def close(self) -> None:
        self.prefetch.stop()
        self.outbox.close()
        self.inflight.close()

    # --- jobs ----------------------------------------------------------------------------------------
    def waiting_jobs(self) -> list[tuple[dict, dict]]:
        """(order, job) for every job of the queue that waits to be printed (the prefetcher sees it too)."""
        orders, _etag = self.client.queue()
        self.queue_seen(orders)
        return [(o, j) for o in orders for j in o["files"] if j["status"] == JobStatus.UPLOADED]

    def queue_seen(self, orders: list[dict]) -> None:
        """The queue as the server last answered it: waiting jobs' files are fetched in the background,
        the files of jobs that left it dropped. Returns at once (call it from any thread)."""
        self.prefetch.update(orders)

    def print_job(self, job: dict, printer: str, *, customer: str = "", page_ranges: str = "",
                  progress: Progress | None = None, cover: Path | None = None) -> PrintOutcome:
        """Prefetching waits while this job is being sent: until the printer has it, or it fails. (The
        pipeline fetches a file not prefetched yet, and sends it held to CUPS, while print-started is on
        the wire.)"""
        end = self.prefetch.begin_sending(job.get("sha256", ""))

        def watch(stage: str, words: str, fraction: float) -> None:
            if stage not in (Stage.STARTING, Stage.DOWNLOADING):
                end()
            if progress is not None:
                progress(stage, words, fraction)

        try:
            return self.pipeline.print_job(job, printer, customer=customer, page_ranges=page_ranges,
                                           progress=watch, cover=cover)
        finally:
            end()

    def answer_confirmation(self, file_id: int, printed: bool) -> None:
        """The shopkeeper's answer to "Did it print?" (blocking)."""
        self.pipeline.settle(file_id, printed)

    def confirm_by_hand(self, file_id: int) -> None:
        self.outbox.add("confirm", file_id, {"counter": self.counter})

    def cancel_order(self, file_id: int, reason: str) -> None:
        self.outbox.add("cancel", file_id, {"reason": reason})

    def set_confirm_mode(self, mode: ConfirmMode | str) -> None:
        self.pipeline.confirm_mode = ConfirmMode(mode)
