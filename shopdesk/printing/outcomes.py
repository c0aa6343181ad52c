"""The one table from what CUPS says about a job (job-state, job-state-reasons, what the device said,
the printer's state) to what the shop is told: still going, printed, or failed — with the reason in
words. The pipeline only asks `judge()` and `timeout_words()`; nothing else interprets CUPS job states."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from .capabilities import MISSING_HISTORY, REASON_WORDS, health_words, printer_trouble
from .states import JobState

# IPP job-state values (RFC 8011 §5.3.7), by their short names
PENDING, HELD, PROCESSING, STOPPED, CANCELED, ABORTED = (JobState.PENDING, JobState.HELD, JobState.PROCESSING,
                                                         JobState.STOPPED, JobState.CANCELED, JobState.ABORTED)
COMPLETED = JobState.COMPLETED


class Outcome(enum.Enum):
    RUNNING = "running"  # keep watching
    STUCK = "stuck"  # keep watching, but it cannot move on its own: fails once stuck for too long
    PRINTED = "printed"
    FAILED = "failed"


# The table. PENDING is STUCK instead when the printer is stopped or has an error (see `classify`).
STATE_OUTCOMES = {
    PENDING: Outcome.RUNNING,
    HELD: Outcome.STUCK,
    PROCESSING: Outcome.RUNNING,
    STOPPED: Outcome.STUCK,
    CANCELED: Outcome.FAILED,
    ABORTED: Outcome.FAILED,
    COMPLETED: Outcome.PRINTED,
}

# job-state-reasons keywords (RFC 8011 §5.3.8, CUPS extensions) → words. Printer keywords that show up
# here fall back to capabilities.REASON_WORDS.
JOB_REASON_WORDS = {
    "job-canceled-by-user": "cancelled by a user",
    "job-canceled-by-operator": "cancelled by the operator",
    "job-canceled-at-device": "cancelled at the printer",
    "aborted-by-system": "the print system gave up on it",
    "document-format-error": "the file could not be read",
    "document-unprintable-error": "the file cannot be printed",
    "unsupported-document-format": "the printer cannot take this kind of file",
    "job-purged": "it is no longer in the print system",
    "printer-stopped": "the printer is stopped",
    "printer-stopped-partly": "the printer is partly stopped",
    "job-hold-until-specified": "held until released",
    "cups-held-for-authentication": "held for a password",
    "resources-are-not-ready": "the printer is not ready",
    "job-password-wait": "waiting for a password",
}
_SILENT = {"none", "job-completed-successfully", "job-printing", "job-queued", "job-incoming", "job-fetchable",
           "processing-to-stop-point", "job-data-insufficient", "queued-in-device", "job-queued-for-marker"}


@dataclass(frozen=True)
class JobView:
    """A snapshot of one CUPS job and its printer."""

    state: int
    reasons: tuple[str, ...] = ()
    message: str = ""  # job-printer-state-message: what the device said about this job
    printer_state: int = 3
    printer_reasons: tuple[str, ...] = ()
    printer_message: str = ""
    printer_exists: bool = True
    device_answers: bool | None = None  # the network printer itself answered (None: not asked)
    device_uri: str = ""  # where the printer's queue sends its jobs, as CUPS says now
    impressions: int | None = None  # job-impressions-completed, as CUPS counted them
    sheets: int | None = None  # job-media-sheets-completed, as CUPS counted them

    @property
    def printer_health(self) -> tuple[bool, str]:
        return health_words(self.printer_state, list(self.printer_reasons), self.printer_message)

    def trouble(self, printer: str) -> tuple[str, str] | None:
        """("not-answering" | "needs-hands", words) while the job is in the printer, else None."""
        if self.state not in (PENDING, PROCESSING) or not self.printer_exists:
            return None
        if self.state == PENDING and self.printer_state != 4:
            return None  # not started: the printer's state is about someone else's job, or none
        return printer_trouble(printer, self.printer_reasons, self.printer_message, self.device_answers)

    @property
    def missing_history(self) -> bool:
        return MISSING_HISTORY in self.printer_reasons or MISSING_HISTORY in self.reasons


def classify(view: JobView) -> Outcome:
    if view.state == COMPLETED:  # finished, even if its printer has gone since
        return Outcome.PRINTED
    if not view.printer_exists:
        return Outcome.FAILED
    outcome = STATE_OUTCOMES.get(view.state, Outcome.RUNNING)
    if view.trouble("") is not None:
        return Outcome.STUCK  # in the printer, which cannot go on by itself: not answering, out of paper…
    if view.state == PENDING and not view.printer_health[0]:
        return Outcome.STUCK  # queued behind a stopped or broken printer: it will not start by itself
    return outcome


def job_reason_words(reasons) -> str:
    words = []
    for r in reasons:
        if r in _SILENT:
            continue
        kw = r.removesuffix("-error").removesuffix("-warning").removesuffix("-report")
        words.append(JOB_REASON_WORDS.get(r) or JOB_REASON_WORDS.get(kw) or REASON_WORDS.get(kw, kw.replace("-", " ")))
    return ", ".join(dict.fromkeys(words))


def _why(view: JobView) -> str:
    """The most specific reason there is: what the device said, else the job's reasons, else the printer's."""
    return view.message.strip().rstrip(".") or job_reason_words(view.reasons)


def judge(view: JobView, printer: str, *, stuck_for: float = 0.0, stuck_limit: float = 20.0) -> tuple[Outcome, str]:
    """(RUNNING | PRINTED | FAILED, words). A STUCK job counts as failed once it has been stuck for
    `stuck_limit` seconds (the pipeline then cancels it, so it cannot come out later)."""
    outcome = classify(view)
    printer_ok, printer_words = view.printer_health
    if outcome is not Outcome.PRINTED and not view.printer_exists:
        return Outcome.FAILED, f"Printer '{printer}' was removed while the job was in it."
    if outcome is Outcome.PRINTED:
        return Outcome.PRINTED, f"Printed on '{printer}'."
    if outcome is Outcome.FAILED and view.state == CANCELED:
        why = _why(view)
        return Outcome.FAILED, f"The job was cancelled on '{printer}'" + (f": {why}." if why else ".")
    if outcome is Outcome.FAILED:
        why = _why(view) or (printer_words if not printer_ok else "no reason given")
        return Outcome.FAILED, f"Printer '{printer}' gave up on the job: {why}."
    trouble = view.trouble(printer) if outcome is Outcome.STUCK else None
    if trouble is not None:
        what = trouble[1]
        if stuck_for >= stuck_limit:
            return Outcome.FAILED, f"{what} — the job was taken back."
        return Outcome.RUNNING, f"Waiting: {what}."
    if outcome is Outcome.STUCK:
        if not printer_ok:
            what = f"Printer '{printer}' is {printer_words}"
        elif view.state == HELD:
            what = f"The job is held on '{printer}'" + (f" ({_why(view)})" if _why(view) else "")
        else:
            what = f"The print system stopped the job on '{printer}'" + (f" ({_why(view)})" if _why(view) else "")
        if stuck_for >= stuck_limit:
            return Outcome.FAILED, f"{what}; the job was taken back."
        return Outcome.RUNNING, f"Waiting: {what[0].lower()}{what[1:]}"
    if view.state == PROCESSING:
        return Outcome.RUNNING, "Printing…" if printer_ok else f"Printing — printer '{printer}' is {printer_words}"
    return Outcome.RUNNING, "Waiting for the printer…"


RESTARTED_WORDS = "the printer was restarted while the job was in it and has no record of it"


def unknown_words(printer: str, why: str) -> str:
    """A job CUPS calls completed that the printer did not confirm."""
    return f"Printer '{printer}' did not confirm the job ({why}): unknown — check the output tray."


def timeout_words(view: JobView | None, printer: str, seconds: float) -> str:
    """Why a job that never ended is given up: the time allowed, and what the printer says if it is unwell."""
    text = f"Printer '{printer}' did not finish the job in time ({int(seconds)} s)"
    if view is not None and view.printer_exists:
        ok, words = view.printer_health
        why = words if not ok else _why(view)
        if why:
            text += f"; it says: {why}"
    return text + "."
