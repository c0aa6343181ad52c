"""PrintPipeline: one job from "Print" to the shop knowing what happened.

check the printer can do it → claim (double-print guard, persisted) → print-started (acknowledged, or
nothing is printed) and, at the same time, the download (verified) streamed into a CUPS job created held
with the job's options → release it once both succeeded (else cancel it) → watch the CUPS job
by its id until it ends → confirm, or cancel the CUPS job (so it cannot come out later) and report
print-failed with the reason in words. Reports go through the durable outbox. After a restart,
`resume()` picks up every job that was in flight. Plain blocking code: run it in a worker thread."""

from __future__ import annotations

import enum
import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from ..domain.printsettings import ColorMode, PrintMode, PrintSettings
from .backend import Backend, PrinterUnavailable, SubmitError
from .capabilities import not_answering_words
from .inflight import AlreadyInFlight, InFlight, InFlightJob
from .options import PrintRequest, check_supported, missing_capabilities, sheets_of, validate_page_ranges
from .outcomes import RESTARTED_WORDS, JobView, Outcome, classify, judge, timeout_words, unknown_words
from .printers import PrinterSet
from .reporting import JobReporter
from .stages import ConfirmMode, InFlightStage, Stage
from .states import JobState, PrinterState

log = logging.getLogger("shopdesk.printing.pipeline")

# A print-started whose answer never came (the server or the network failed): it may have reached the
# server, which then shows the job printing at this counter while nothing prints. The in-flight row
# keeps the attempt's Idempotency-Key until `resolve_starts()` (or a new Print soon after) settles it.
UNKNOWN_START = InFlightStage.START_UNKNOWN
LOST_START_WORDS = ("The connection to the shop server was lost as printing began; nothing was printed. "
                    "The job is back in the queue.")

# (stage, words, fraction 0..1 or -1 when unknown); the stages are `Stage`'s. Called from the pipeline's
# (worker) thread.
Progress = Callable[[Stage, str, float], None]


class Result(enum.Enum):
    PRINTED = "printed"
    FAILED = "failed"
    NEEDS_CONFIRMATION = "needs-confirmation"


@dataclass
class PrintOutcome:
    file_id: int
    code: str
    printer: str
    result: Result
    message: str
    cups_job_id: int | None = None
    impressions: int | None = None  # as the printer (else CUPS) counted them, when it was read
    sheets: int | None = None  # sheets CUPS counted for the job

    def line(self) -> str:
        return f"{self.code} {self.result.value} {self.printer!r}: {self.message}"


def _noop(stage: str, words: str, fraction: float) -> None:
    pass


class PrintPipeline:
    def __init__(self, reporter: JobReporter, printers: PrinterSet, inflight: InFlight, *, counter: str,
                 confirm_mode: ConfirmMode | str = ConfirmMode.AUTO, poll_seconds: float = 0.5, timeout_base: float = 180.0,
                 timeout_per_sheet: float = 6.0, stuck_limit: float = 30.0, start_reuse_seconds: float = 120.0,
                 unconfirmed: str = "ask"):
        if confirm_mode not in tuple(ConfirmMode):
            raise ValueError("confirm_mode is 'auto' or 'ask'")
        if unconfirmed not in ("ask", "fail"):
            raise ValueError("unconfirmed is 'ask' or 'fail'")
        # A job CUPS calls completed that the printer did not confirm: "ask" the shopkeeper (the window)
        # or report it failed (the agent, which has no one to ask). Never confirmed either way.
        self.unconfirmed = unconfirmed
        self.reporter, self.printers, self.inflight = reporter, printers, inflight
        self.counter, self.confirm_mode = counter, confirm_mode
        self.poll_seconds, self.timeout_base, self.timeout_per_sheet = poll_seconds, timeout_base, timeout_per_sheet
        self.stuck_limit = stuck_limit
        # A new Print of a job whose start is unknown re-sends that start (same key) only this soon
        # after; later, the job may have been requeued and taken by another counter in between, so the
        # old start is settled first (resolve) and a new one made.
        self.start_reuse_seconds = start_reuse_seconds
        self._active: set[int] = set()  # jobs a print_job / resolve of this process is working on
        self._active_lock = threading.Lock()

    @property
    def confirm_mode(self) -> ConfirmMode:
        return self._confirm_mode

    @confirm_mode.setter
    def confirm_mode(self, mode: ConfirmMode | str) -> None:
        self._confirm_mode = ConfirmMode(mode)

    # --- before anything is sent ---------------------------------------------------------------------
    def prepare(self, job: dict, printer: str, *, customer: str = "", page_ranges: str = "") -> PrintRequest:
        """Validates the job against the chosen printer; raises UnsupportedOption / PrinterUnavailable."""
        return self._prepare(job, printer, customer, page_ranges)[0]

    def _prepare(self, job: dict, printer: str, customer: str, page_ranges: str):
        req = PrintRequest.from_job(job, customer, validate_page_ranges(page_ranges, int(job["num_pages"])))
        found = self.printers.find(printer)
        if found is None:
            raise PrinterUnavailable(f"Printer '{printer}' is not available on this computer. Choose another printer.")
        backend, info = found
        ok, words = info.health
        if not info.accepting or info.state == PrinterState.STOPPED:
            raise PrinterUnavailable(f"Printer '{printer}' is {words}. Fix it or choose another printer.")
        if missing_capabilities(req, info):
            check_supported(req, info, self.printers.printers())  # raises, naming the printers that can
        return req, backend

    # --- the whole path ------------------------------------------------------------------------------
    def print_job(self, job: dict, printer: str, *, customer: str = "", page_ranges: str = "",
                  progress: Progress | None = None, cover: Path | None = None) -> PrintOutcome:
        """Raises (nothing printed, nothing reported) for: UnsupportedOption, PrinterUnavailable,
        AlreadyInFlight, and the client's ConflictError / OfflineError from print-started. Every later
        problem is reported to the server as print-failed and returned as a FAILED outcome."""
        progress = progress or _noop
        req, backend = self._prepare(job, printer, customer, page_ranges)
        row = self._begin(job, printer, backend)
        try:
            return self._print(row, req, backend, printer, progress, cover)
        finally:
            self._end(row.file_id)

    def _begin(self, job: dict, printer: str, backend: Backend) -> InFlightJob:
        fid = int(job["file_id"])
        if not self._take(fid):
            raise AlreadyInFlight(f"Job {job['code']} is already being printed on this counter.")
        try:
            old = self.inflight.get(fid)
            if old is not None and old.stage == UNKNOWN_START:
                if _age(old) < self.start_reuse_seconds:  # Print again soon after: the same start, re-sent
                    tag = uuid.uuid4().hex[:8]  # a new attempt in CUPS (an old held job keeps the old tag)
                    self.inflight.update(fid, printer=printer, backend=backend.kind, stage=InFlightStage.STARTING,
                                         tag=tag)
                    return replace(old, printer=printer, backend=backend.kind, stage=InFlightStage.STARTING, tag=tag)
                self._resolve(old)  # raises while the server still cannot be reached
            return self.inflight.claim(job, printer, backend.kind, self.counter)
        except BaseException:
            self._end(fid)
            raise

    def _take(self, file_id: int) -> bool:
        """Marks the job as worked on by this process; False if something here already is."""
        with self._active_lock:
            if file_id in self._active:
                return False
            self._active.add(file_id)
            return True

    def _end(self, file_id: int) -> None:
        with self._active_lock:
            self._active.discard(file_id)

    def _print(self, row: InFlightJob, req: PrintRequest, backend: Backend, printer: str, progress: Progress,
               cover: Path | None) -> PrintOutcome:
        progress(Stage.STARTING, "Telling the server…", -1)
        title = f"{req.job_name} #{row.tag}"  # the tag finds this job in CUPS after a crash
        # While print-started is on the wire, the file is fetched (SHA-256 checked) and, where the backend
        # can hold a job (CUPS), streamed into a job created held: released below only once the server
        # acknowledged the start AND the file matched its SHA-256, cancelled otherwise. The in-flight row
        # (with the tag) is on disk before the held job exists, so resume() finds one a crash left behind.
        # A cover sheet must come out right before its job: then nothing is held, the job is sent after.
        hold = cover is None and getattr(backend, "can_hold", False)
        early = _Early(self.reporter, req, backend, printer, title, hold).start()
        try:
            self.reporter.print_started(req.file_id, printer=printer, counter=self.counter, key=row.start_key)
        except BaseException as exc:
            early.abandon()  # nothing of it prints; the file still lands in the cache (a read only)
            if isinstance(exc, Exception) and self.reporter.is_transient(exc):
                self.inflight.update(req.file_id, stage=UNKNOWN_START)  # it may have arrived: settle it later
            else:
                self.inflight.release(req.file_id)  # nothing happened: the job stays with whoever has it
            raise
        try:
            early.forward(progress, req.original_name)
        except BaseException:
            early.abandon()
            raise
        if early.fetch_error is not None:
            early.abandon()
            return self._failed(row, f"Could not download the file: {early.fetch_error}", progress=progress)
        if early.send_error is not None:
            early.abandon()
            exc = early.send_error
            words = str(exc) if isinstance(exc, SubmitError) else f"The job could not be sent to '{printer}': {exc}"
            if not isinstance(exc, (SubmitError, PrinterUnavailable)):
                log.error("sending %s to %s held", req.code, printer, exc_info=exc)
            return self._failed(row, words, progress=progress)
        if hold:
            job_id = self._release(backend, early)
            if job_id is None:
                return self._failed(row, f"The job could not be sent to '{printer}': {early.release_error}",
                                    progress=progress)
        else:
            if cover is not None:
                self._print_cover(backend, req, printer, cover)
            try:
                job_id = backend.submit(req, printer, early.path, title)
            except SubmitError as exc:
                return self._failed(row, str(exc), progress=progress)
            except Exception as exc:
                # The connection may have dropped after CUPS took the job: look before saying it failed, or
                # the shop would print it again.
                job_id = self._find(backend, row)
                if job_id is None:
                    if not isinstance(exc, PrinterUnavailable):
                        log.exception("submitting %s to %s", req.code, printer)
                    return self._failed(row, f"The job could not be sent to '{printer}': {exc}", progress=progress)
        self.inflight.update(req.file_id, job_id=job_id, stage=InFlightStage.SUBMITTED)
        row.job_id = job_id
        progress(Stage.SENT, f"CUPS job {job_id} on {printer}", -1)
        return self._watch(row, req.sheets_hint, progress)

    @staticmethod
    def _release(backend, early: _Early) -> int | None:
        """Lets the held job print; its id, or None when it certainly was not released (then cancelled,
        the reason in `early.release_error`). When the answer is lost on the way, CUPS is asked whether the
        job is still held; if that cannot be told either, the job is watched like any sent job (it is
        either printing or held — a held job looks stuck and is cancelled after the stuck limit)."""
        job_id = early.detach()
        for attempt in (1, 2):
            try:
                backend.release(job_id)
                return job_id
            except SubmitError as exc:
                early.release_error = exc
                break
            except PrinterUnavailable as exc:
                early.release_error = exc
                try:
                    state = backend.job_state(job_id)
                except PrinterUnavailable:
                    log.warning("releasing CUPS job %s: %s; watching it", job_id, exc)
                    return job_id
                if state != JobState.HELD:
                    return job_id  # released after all (or ended): watched like any sent job
                log.info("CUPS job %s still held after a lost release (%s)%s", job_id, exc,
                         "; releasing again" if attempt == 1 else "")
        backend.cancel(job_id)
        return None

    @staticmethod
    def _find(backend: Backend, row: InFlightJob) -> int | None:
        try:
            return backend.find_job(f"#{row.tag}")
        except PrinterUnavailable:
            return None

    @staticmethod
    def _print_cover(backend: Backend, req: PrintRequest, printer: str, cover: Path) -> None:
        """A claim ticket / cover sheet (one page, b/w) right before the job, on the same printer. It is
        not watched or reported: the job is what the shop is paid for."""
        settings = PrintSettings(copies=1, print_mode=PrintMode.SINGLE, color_mode=ColorMode.BW,
                                 paper_size=req.settings.paper_size)
        cover_req = replace(req, num_pages=1, settings=settings, page_ranges="",
                            original_name=f"cover-{req.code}.pdf")
        try:
            backend.submit(cover_req, printer, cover, f"{req.job_name} cover")
        except Exception as exc:  # a missing cover must not stop the job
            log.warning("cover sheet for %s not printed: %s", req.code, exc)

    def time_allowed(self, sheets: int) -> float:
        """How long a job may take before it is given up: proportional to the sheets it prints."""
        return self.timeout_base + self.timeout_per_sheet * max(1, sheets)

    def _watch(self, row: InFlightJob, sheets: int, progress: Progress) -> PrintOutcome:
        backend = self.printers.backend_of_kind(row.backend)
        allowed = self.time_allowed(sheets)
        deadline = time.monotonic() + allowed
        stuck_since: float | None = None
        last_words = ""
        history_lost_before: bool | None = None  # the queue already carried the missing-history reason
        history_lost = False
        finished_at_printer = False  # the printer itself said the job completed, while CUPS still watched it
        finished = getattr(backend, "printer_finished", None)
        sent_to = ""  # the network printer CUPS was sending the job to (it answered while the job ran)
        printer_silent = False  # CUPS let go of the job and that printer does not answer now
        cups_counted: dict = {"impressions": None, "sheets": None}
        while True:
            try:
                view = backend.view(row.job_id, row.printer)
            except PrinterUnavailable as exc:
                log.warning("watching job %s: %s", row.code, exc)
                if time.monotonic() > deadline:
                    return self._failed(row, f"{exc} The job on '{row.printer}' could not be followed to its end.",
                                        cancel=True, progress=progress)
                time.sleep(self.poll_seconds)
                continue
            now = time.monotonic()
            if history_lost_before is None:
                history_lost_before = view.missing_history
            history_lost = history_lost or (view.missing_history and not history_lost_before)
            if finished is not None and not finished_at_printer and view.device_answers and view.state == JobState.PROCESSING:
                finished_at_printer = finished(row.printer, f"#{row.tag}")
            for k, v in (("impressions", view.impressions), ("sheets", view.sheets)):
                cups_counted[k] = v or cups_counted[k]  # the most CUPS counted while it had the job
            if view.state == JobState.PROCESSING and view.device_answers and view.device_uri:
                sent_to, printer_silent = view.device_uri, False
            elif sent_to and view.state != JobState.COMPLETED:
                # CUPS let go of a job it had been sending (its queue removed or changed, stopped,
                # the job cancelled or aborted): a printer that already has a job prints it whatever
                # happens to the queue, so the printer's copy decides, not CUPS's word.
                followed, printer_silent = self._follow_at_printer(backend, row, sent_to, cups_counted, deadline,
                                                                   progress)
                if followed is not None:
                    return followed
                if not printer_silent:
                    sent_to = ""  # the printer has no copy: CUPS's word stands
            stuck_since = (stuck_since or now) if classify(view) is Outcome.STUCK else None
            outcome, words = judge(view, row.printer, stuck_for=now - stuck_since if stuck_since else 0.0,
                                   stuck_limit=self.stuck_limit)
            if outcome is Outcome.PRINTED:
                return self._completed(backend, row, view, words, history_lost, finished_at_printer, progress)
            if outcome is Outcome.FAILED:
                if printer_silent and view.printer_exists and view.state in (JobState.PENDING, JobState.HELD,
                                                                             JobState.STOPPED):
                    words = f"{not_answering_words(row.printer)} — the job was taken back."  # say why in words
                return self._failed(row, words, cancel=True, progress=progress)
            if now > deadline:
                return self._failed(row, timeout_words(view, row.printer, allowed), cancel=True, progress=progress)
            if words != last_words:
                progress(Stage.PRINTING, words, -1)
                last_words = words
            time.sleep(self.poll_seconds)

    def _follow_at_printer(self, backend: Backend, row: InFlightJob, uri: str, cups_counted: dict, deadline: float,
                           progress: Progress) -> tuple[PrintOutcome | None, bool]:
        """The job as the network printer at `uri` has it, once CUPS has let go of it: (the outcome, or
        None when CUPS's word stands for now; whether to ask the printer again at the next look).
        CUPS's word stands while the printer does not answer (asked again), when it has no copy, or when
        its copy ended while CUPS still has one to send. A printer switched on again since the job was
        sent, with no record of it, may have printed it: CUPS's copy is cancelled and the outcome is
        "unknown — check the output tray". Otherwise the printer's copy is followed to its end — printed
        when the printer completes it (CUPS's copy is then cancelled: it must not be sent a second time),
        taken back when the printer stops answering for the stuck limit, unknown when the printer loses
        it or still has it when time runs out."""
        ask = getattr(backend, "device_job", None)
        if ask is None:
            return None, False
        needle = f"#{row.tag}"
        where, impressions = ask(uri, needle, _age(row))
        if where == "restarted":
            self._cancel_in_backend(row)
            return self._unconfirmed(row, unknown_words(row.printer, RESTARTED_WORDS), progress, {}), False
        if where not in ("in-printer", "completed"):
            if where != "silent":  # a silent printer is asked again at every look
                log.info("job %s: CUPS let go of it and printer %s has no copy (%s)", row.code, row.printer, where)
            return None, where == "silent"
        log.warning("job %s: CUPS let go of it, but printer %s has it (%s): following it there",
                    row.code, row.printer, where)
        silent_since: float | None = None
        while where in ("in-printer", "silent"):
            now = time.monotonic()
            silent_since = (silent_since or now) if where == "silent" else None
            if silent_since is not None and now - silent_since >= self.stuck_limit:
                return self._failed(row, f"{not_answering_words(row.printer)} — the job was taken back.",
                                    cancel=True, progress=progress), False
            if now > deadline:
                why = "the printer still had it when the time allowed ran out"
                self._cancel_in_backend(row)
                return self._unconfirmed(row, unknown_words(row.printer, why), progress, {}), False
            progress(Stage.PRINTING, f"Printing at '{row.printer}' (the job is in the printer itself)…", -1)
            time.sleep(self.poll_seconds)
            where, impressions = ask(uri, needle, _age(row))
        if where == "completed":
            self._cancel_in_backend(row)
            # what the printer counted, else what CUPS had counted (a printer may report 0 for a job it kept)
            counted = {**cups_counted, "impressions": impressions or cups_counted["impressions"]}
            return self._printed(row, f"Printed on '{row.printer}'.", progress, counted), False
        if self._still_in_backend(backend, row):
            log.info("job %s: printer %s's copy ended (%s); CUPS still has one", row.code, row.printer, where)
            return None, False
        if where == "ended":
            return self._failed(row, f"Printer '{row.printer}' did not finish the job: it was cancelled or "
                                     "aborted at the printer.", progress=progress), False
        why = {"restarted": RESTARTED_WORDS,
               "no-history": "the printer stopped telling what it did with it"}.get(
            where, "the printer had the job, then lost track of it")
        return self._unconfirmed(row, unknown_words(row.printer, why), progress, {}), False

    def _cancel_in_backend(self, row: InFlightJob) -> None:
        backend = self.printers.backend_of_kind(row.backend)
        if backend is not None and row.job_id is not None:
            backend.cancel(row.job_id)

    @staticmethod
    def _still_in_backend(backend: Backend, row: InFlightJob) -> bool:
        """CUPS still has the job to send (pending, held, stopped or sending)."""
        try:
            view = backend.view(row.job_id, row.printer)
        except PrinterUnavailable:
            return False
        return view.printer_exists and view.state in (JobState.PENDING, JobState.HELD, JobState.STOPPED,
                                                      JobState.PROCESSING)

    def _completed(self, backend: Backend, row: InFlightJob, view: JobView, words: str, history_lost: bool,
                   finished_at_printer: bool, progress: Progress) -> PrintOutcome:
        """CUPS says completed: printed only if the printer's side agrees (its job history has the job, now
        or when it was asked while the job was in flight, and CUPS did not take a "job not found" on the
        printer for completed while it ran)."""
        counted = {"impressions": view.impressions, "sheets": view.sheets}
        if finished_at_printer:
            return self._printed(row, words, progress, counted)
        if history_lost:
            why = "the print system lost track of it at the printer (was the printer restarted?)"
            return self._unconfirmed(row, unknown_words(row.printer, why), progress, counted)
        ask = getattr(backend, "printer_confirms", None)
        if ask is not None:
            try:
                agrees, why, impressions = ask(row.printer, f"#{row.tag}", _age(row))
            except PrinterUnavailable as exc:
                agrees, why, impressions = False, str(exc), None
            if agrees is False:
                return self._unconfirmed(row, unknown_words(row.printer, why), progress, counted)
            if impressions:
                counted["impressions"] = impressions
        return self._printed(row, words, progress, counted)

    def _unconfirmed(self, row: InFlightJob, words: str, progress: Progress, counted: dict) -> PrintOutcome:
        log.warning("job %s on %s: %s", row.code, row.printer, words)
        if self.unconfirmed == "fail":
            out = self._failed(row, words, progress=progress)
            return replace(out, **counted)
        self.inflight.update(row.file_id, stage=InFlightStage.AWAITING_CONFIRM)
        message = f"{words} Did it print?"
        progress(Stage.WAITING_CONFIRM, message, -1)
        return PrintOutcome(row.file_id, row.code, row.printer, Result.NEEDS_CONFIRMATION, message, row.job_id,
                            **counted)

    def _printed(self, row: InFlightJob, words: str, progress: Progress = _noop,
                 counted: dict | None = None) -> PrintOutcome:
        # What was sent, for the shop's reconciliation (the confirm carries it): the impressions the
        # printer (else CUPS) counted, and the sheets CUPS counted, else the sheets submitted.
        counted = {"impressions": None, "sheets": None, **(counted or {})}
        counted["sheets"] = counted["sheets"] or sheets_of(row.job)
        if self.confirm_mode is ConfirmMode.ASK:
            self.inflight.update(row.file_id, stage=InFlightStage.AWAITING_CONFIRM)
            message = f"{words} Did it come out right?"
            progress(Stage.WAITING_CONFIRM, message, -1)
            return PrintOutcome(row.file_id, row.code, row.printer, Result.NEEDS_CONFIRMATION, message, row.job_id,
                                **counted)
        self.reporter.confirm(row.file_id, **counted)
        self.inflight.release(row.file_id)
        progress(Stage.DONE, words, 1.0)
        return PrintOutcome(row.file_id, row.code, row.printer, Result.PRINTED, words, row.job_id, **counted)

    def _failed(self, row: InFlightJob, reason: str, cancel: bool = False, progress: Progress = _noop) -> PrintOutcome:
        if cancel:
            self._cancel_in_backend(row)  # a stuck job must not come out later: no double print
        self.reporter.print_failed(row.file_id, reason)
        self.inflight.release(row.file_id)
        log.warning("job %s failed on %s: %s", row.code, row.printer, reason)
        progress(Stage.FAILED, reason, -1)
        return PrintOutcome(row.file_id, row.code, row.printer, Result.FAILED, reason, row.job_id)

    # --- after the fact ------------------------------------------------------------------------------
    def settle(self, file_id: int, printed: bool, reason: str = "") -> None:
        """The shopkeeper's answer to "Did it print?"."""
        row = self.inflight.get(file_id)
        if row is None:
            return
        if printed:  # what CUPS counted is not kept while the shopkeeper decides: the sheets sent are
            self.reporter.confirm(file_id, impressions=None, sheets=sheets_of(row.job))
            self.inflight.release(file_id)
        else:
            self._failed(row, reason or f"The shopkeeper saw it did not print correctly on '{row.printer}'.")

    def _resolve(self, row: InFlightJob, reason: str = LOST_START_WORDS) -> PrintOutcome | None:
        """Settles a start whose answer never came, without printing: the same start is sent again
        with its key (a start that did arrive is answered as before; one that did not now takes
        hold), so the job is this counter's for certain, then print-failed returns it to the queue.
        A refusal (another counter has it, it was cancelled) means it is not ours: forgotten. Raises
        while the server cannot be reached. A held job this attempt left in CUPS (its cancel did not get
        through) is cancelled first, when CUPS can be reached."""
        self._drop_held(row)
        try:
            self.reporter.print_started(row.file_id, printer=row.printer, counter=self.counter, key=row.start_key)
        except Exception as exc:
            if self.reporter.is_transient(exc):
                raise
            log.info("start of %s settled: not ours (%s)", row.code, exc)
            self.inflight.release(row.file_id)
            return None
        return self._failed(row, reason)

    def _drop_held(self, row: InFlightJob) -> None:
        backend = self.printers.backend_of_kind(row.backend)
        state_of = getattr(backend, "job_state", None)
        if state_of is None:
            return
        try:
            found = backend.find_job(f"#{row.tag}")
            if found is not None and state_of(found) == JobState.HELD:
                backend.cancel(found)
        except PrinterUnavailable as exc:
            log.info("cannot look for a held job of %s: %s", row.code, exc)

    def resolve_starts(self) -> list[PrintOutcome]:
        """Settles every start whose answer never came (see UNKNOWN_START); call it now and then (the
        agent does before each look at the queue). Jobs whose server is still unreachable stay."""
        out = []
        for row in self._mine():
            if row.stage != UNKNOWN_START or not self._take(row.file_id):
                continue
            try:
                outcome = self._resolve(row)
                if outcome is not None:
                    out.append(outcome)
            except Exception as exc:
                log.info("cannot settle the start of %s yet: %s", row.code, exc)
            finally:
                self._end(row.file_id)
        return out

    def awaiting_confirmation(self) -> list[InFlightJob]:
        return [r for r in self._mine() if r.stage == InFlightStage.AWAITING_CONFIRM]

    def _mine(self) -> list[InFlightJob]:
        """The in-flight jobs this counter started (a store written before counters were recorded: all)."""
        return [r for r in self.inflight.all() if r.counter in ("", self.counter)]

    def resume(self, progress: Progress | None = None) -> list[PrintOutcome]:
        """Picks up jobs that were in flight when this counter stopped."""
        progress = progress or _noop
        out = []
        for row in self._mine():
            if row.stage == InFlightStage.AWAITING_CONFIRM or row.file_id in self._active:
                continue
            backend = self.printers.backend_of_kind(row.backend)
            if row.job_id is None and backend is not None:
                try:
                    found = backend.find_job(f"#{row.tag}")
                    state = backend.job_state(found) if found is not None and hasattr(backend, "job_state") else None
                except PrinterUnavailable as exc:
                    # Cannot tell whether CUPS has it: failing it could mean printing it twice. Keep it.
                    log.warning("cannot resume %s yet: %s", row.code, exc)
                    continue
                if state in (JobState.HELD, JobState.CANCELED, JobState.ABORTED):
                    # Sent held and never released (a release is recorded before anything else): it has
                    # not printed and must not. Cancelled, then settled below as never having started.
                    backend.cancel(found)
                    found = None
                if found is not None:
                    row.job_id = found
                    self.inflight.update(row.file_id, job_id=found, stage=InFlightStage.SUBMITTED)
            if row.job_id is None or backend is None:
                # Never reached the printer. Whether the server saw the start is not known for certain
                # (the counter may have stopped while asking): settle it as a lost start.
                try:
                    outcome = self._resolve(row, "The counter stopped before the job reached the printer; "
                                                 "it is back in the queue.")
                except Exception as exc:
                    log.warning("cannot resume %s yet: %s", row.code, exc)
                    continue
                if outcome is not None:
                    out.append(outcome)
                continue
            sheets = int(row.job.get("num_pages", 1)) * int(row.job.get("copies", 1))
            out.append(self._watch(row, sheets, progress))
        return out


def _age(row: InFlightJob) -> float:
    try:
        return (datetime.now(UTC) - datetime.fromisoformat(row.started_at)).total_seconds()
    except ValueError:
        return float("inf")


_DONE = object()


class _Early:
    """What runs beside print-started, in its own thread: the file fetched (SHA-256 checked, into the
    download cache) and, when `hold`, streamed as it comes into a CUPS job created held. Nothing it
    does can print: only the pipeline releases the held job, after the start was acknowledged and the
    file verified. `abandon()` cancels the held job (the download still lands in the cache: a read
    only); `detach()` hands the job over for release. Progress is queued to the pipeline's own thread
    (`forward`), so callers see every stage from the thread that called print_job, in order."""

    def __init__(self, reporter, req: PrintRequest, backend, printer: str, title: str, hold: bool):
        self.reporter, self.req, self.backend, self.printer, self.title = reporter, req, backend, printer, title
        self.hold = hold
        self.path: Path | None = None
        self.job_id: int | None = None
        self.fetch_error: Exception | None = None
        self.send_error: Exception | None = None
        self.release_error: Exception | None = None
        self._maybe_created = False  # createJob's answer was lost: a held job may exist (found by its tag)
        self._created = threading.Event()
        self._lock = threading.Lock()
        self._abandoned = self._detached = False
        self._events: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="shopdesk-print-early", daemon=True)

    def start(self) -> _Early:
        self._thread.start()
        return self

    # --- the pipeline's side -------------------------------------------------------------------------
    def forward(self, progress: Progress, name: str) -> None:
        """Passes the download's progress on (coalesced) until the fetch and the held send are done."""
        progress(Stage.DOWNLOADING, name, 0.0)
        while True:
            items = [self._events.get()]
            while True:
                try:
                    items.append(self._events.get_nowait())
                except queue.Empty:
                    break
            done = items[-1] is _DONE
            last = [i for i in items if i is not _DONE]
            if last:
                got, total = last[-1]
                progress(Stage.DOWNLOADING, name, got / total if total else -1)
            if done:
                self._thread.join()
                return

    def detach(self) -> int:
        """The held job, for the pipeline to release: abandon() leaves it alone from now on."""
        with self._lock:
            self._detached = True
        assert self.job_id is not None
        return self.job_id

    def abandon(self) -> None:
        """Nothing of this attempt may print: stop sending, cancel the held job (if there is one)."""
        with self._lock:
            if self._detached or self._abandoned:
                return
            self._abandoned = True
        if not self.hold:
            return
        if not self._created.wait(10):
            return  # createJob still under way: the thread cancels the job itself when it returns
        self._cancel()

    def _cancel(self) -> None:
        job_id = self.job_id
        if job_id is None and self._maybe_created:
            try:
                job_id = self.backend.find_job(self.title.rpartition(" ")[2])
            except PrinterUnavailable:
                return  # held jobs never print by themselves; resume/resolve look again
        if job_id is not None:
            self.backend.cancel(job_id)

    # --- the thread ----------------------------------------------------------------------------------
    def _run(self) -> None:
        held = None
        try:
            if self.hold and not self._abandoned:
                try:
                    held = self.backend.open_held(self.req, self.printer, self.title)
                    self.job_id = held.job_id
                except PrinterUnavailable as exc:
                    self._maybe_created, self.send_error = True, exc
                except Exception as exc:
                    self.send_error = exc
            self._created.set()
            with self._lock:
                late = self._abandoned
            if late:
                self._cancel()
                held = None
            held = self._fetch(held)
            if held is not None and not self._abandoned and self.send_error is None:
                try:
                    held.finish()
                except Exception as exc:
                    self.send_error = exc
        except Exception as exc:
            self.fetch_error = exc
        finally:
            self._created.set()
            self._events.put(_DONE)

    def _fetch(self, held):
        """Fetches the file; with a held job, streams it in as it comes. Returns the held job, or None once
        sending stopped (abandoned, or CUPS failed: `send_error`; the download goes on into the cache)."""
        sending = [held]

        def sink(block: bytes) -> None:
            job = sending[0]
            if job is None:
                return
            if self._abandoned:
                sending[0] = None
                return
            try:
                job.write(block)
            except Exception as exc:
                self.send_error, sending[0] = exc, None

        def progress(done: int, total: int) -> None:
            self._events.put((done, total))

        self.path = self.reporter.fetch(self.req.file_id, self.req.sha256, progress,
                                        sink=sink if held is not None else None)
        return sending[0]
