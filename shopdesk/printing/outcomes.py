"""The one table from what CUPS says about a job (job-state, job-state-reasons, the printer's state)
to what the shop is told: still going, printed, or failed — with the reason in words."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from .capabilities import REASON_WORDS, health_words

# IPP job-state values (RFC 8011 §5.3.7)
PENDING, HELD, PROCESSING, STOPPED, CANCELED, ABORTED, COMPLETED = 3, 4, 5, 6, 7, 8, 9


class Outcome(enum.Enum):
    RUNNING = "running"  # keep watching
    PRINTED = "printed"
    FAILED = "failed"


@dataclass(frozen=True)
class JobView:
    """A snapshot of one CUPS job and its printer."""

    state: int
    reasons: tuple[str, ...] = ()
    printer_state: int = 3
    printer_reasons: tuple[str, ...] = ()
    printer_message: str = ""
    printer_exists: bool = True


def _reason_words(reasons) -> str:
    words = []
    for r in reasons:
        if r in ("none", "job-completed-successfully", "job-printing", "job-queued", "job-incoming",
                 "processing-to-stop-point", "job-data-insufficient"):
            continue
        kw = r.removesuffix("-error").removesuffix("-warning").removesuffix("-report")
        words.append(REASON_WORDS.get(kw, kw.replace("-", " ")))
    return ", ".join(dict.fromkeys(words))


def judge(view: JobView, printer: str, *, stuck_for: float = 0.0, stuck_limit: float = 20.0) -> tuple[Outcome, str]:
    """(outcome, words). A job that cannot move because its printer is stopped counts as failed once it
    has been stuck for `stuck_limit` seconds (the pipeline then cancels it, so it cannot print later)."""
    if not view.printer_exists:
        return Outcome.FAILED, f"Printer '{printer}' was removed while the job was in it."
    if view.state == COMPLETED:
        return Outcome.PRINTED, f"Printed on '{printer}'."
    if view.state == CANCELED:
        why = _reason_words(view.reasons)
        return Outcome.FAILED, f"The job was cancelled on '{printer}'" + (f" ({why})." if why else ".")
    if view.state == ABORTED:
        why = _reason_words(view.reasons) or health_words(view.printer_state, list(view.printer_reasons),
                                                          view.printer_message)[1]
        return Outcome.FAILED, f"Printer '{printer}' gave up on the job: {why}."
    printer_ok, printer_words = health_words(view.printer_state, list(view.printer_reasons), view.printer_message)
    if view.state in (STOPPED, HELD) or (view.state == PENDING and not printer_ok):
        if stuck_for >= stuck_limit:
            return Outcome.FAILED, f"Printer '{printer}' is {printer_words}; the job was taken back."
        return Outcome.RUNNING, f"Waiting: printer '{printer}' is {printer_words}"
    if view.state == PROCESSING:
        return Outcome.RUNNING, "Printing…" if printer_ok else f"Printing — printer '{printer}' is {printer_words}"
    return Outcome.RUNNING, "Waiting for the printer…"
