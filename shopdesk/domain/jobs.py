"""The job ("file") state machine: the one place that says which moves are allowed from which state.

uploaded --print_started--> printing --confirm--> downloaded (printed)
   ^                           |
   +-------print_failed--------+
uploaded --confirm--> downloaded      (printed by hand)
uploaded --cancel--> cancelled        (by the shop, whole order)
uploaded --withdraw--> withdrawn      (by the customer)
printing --requeue--> uploaded        (the server's sweeper, when the counter went silent)
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class JobStatus(enum.StrEnum):
    UPLOADED = "uploaded"
    PRINTING = "printing"
    DOWNLOADED = "downloaded"  # printed; the name is the wire contract's
    CANCELLED = "cancelled"
    WITHDRAWN = "withdrawn"

    @property
    def is_waiting(self) -> bool:
        return self in (JobStatus.UPLOADED, JobStatus.PRINTING)

    @property
    def is_final(self) -> bool:
        return not self.is_waiting

    @property
    def label(self) -> str:
        """In a sentence: "it is already {label}"."""
        return _WORDS[self][0]

    @property
    def title(self) -> str:
        """In a list or a column: one capitalised word."""
        return _WORDS[self][1]

    @property
    def final_words(self) -> str:
        """What a finished job's code tells whoever scans it: "Job X {final_words}."."""
        return _WORDS[self][2]


# The one table of words per status: (label, title, final words)
_WORDS = {
    JobStatus.UPLOADED: ("waiting", "Waiting", "is waiting"),
    JobStatus.PRINTING: ("printing", "Printing", "is printing"),
    JobStatus.DOWNLOADED: ("printed", "Printed", "was already printed"),
    JobStatus.CANCELLED: ("cancelled", "Cancelled", "was cancelled"),
    JobStatus.WITHDRAWN: ("withdrawn by the customer", "Withdrawn", "was withdrawn by the customer"),
}

WAITING = frozenset({JobStatus.UPLOADED, JobStatus.PRINTING})
FINISHED = frozenset({JobStatus.DOWNLOADED, JobStatus.CANCELLED, JobStatus.WITHDRAWN})


class Move(enum.StrEnum):
    PRINT_STARTED = "print-started"
    PRINT_FAILED = "print-failed"
    CONFIRM = "confirm"
    CANCEL = "cancel"
    WITHDRAW = "withdraw"
    REQUEUE = "requeue"


@dataclass(frozen=True)
class Transition:
    sources: frozenset[JobStatus]
    target: JobStatus


TRANSITIONS: dict[Move, Transition] = {
    Move.PRINT_STARTED: Transition(frozenset({JobStatus.UPLOADED}), JobStatus.PRINTING),
    Move.PRINT_FAILED: Transition(frozenset({JobStatus.PRINTING}), JobStatus.UPLOADED),
    Move.CONFIRM: Transition(frozenset({JobStatus.PRINTING, JobStatus.UPLOADED}), JobStatus.DOWNLOADED),
    Move.CANCEL: Transition(frozenset({JobStatus.UPLOADED}), JobStatus.CANCELLED),
    Move.WITHDRAW: Transition(frozenset({JobStatus.UPLOADED}), JobStatus.WITHDRAWN),
    Move.REQUEUE: Transition(frozenset({JobStatus.PRINTING}), JobStatus.UPLOADED),
}


class IllegalMove(Exception):
    """A move that the job's current state does not allow (HTTP 409)."""

    def __init__(self, move: Move, current: JobStatus, detail: str = ""):
        self.move = move
        self.current = current
        what = {
            Move.PRINT_STARTED: "start printing",
            Move.PRINT_FAILED: "report a failed print for",
            Move.CONFIRM: "confirm",
            Move.CANCEL: "cancel",
            Move.WITHDRAW: "withdraw",
            Move.REQUEUE: "requeue",
        }[move]
        state = f"already {current.label}" if current is not JobStatus.UPLOADED else "still waiting"
        if current is JobStatus.PRINTING and detail:
            state = f"already printing at {detail}"
        super().__init__(f"Cannot {what} this job: it is {state}.")


class NotYourPrint(IllegalMove):
    """A print-failed from a counter that does not hold the job now: a late report must not take a job
    from the counter printing it."""

    def __init__(self, holder: str, reporter: str):
        Exception.__init__(self, f"Cannot report a failed print for this job: it is printing at {holder} now, "
                                 f"not at {reporter}.")
        self.move, self.current = Move.PRINT_FAILED, JobStatus.PRINTING


class OrderPrinting(Exception):
    """An order cannot be cancelled while one of its files is printing (a bad request, not a race)."""


class NothingToCancel(Exception):
    """Every file of the order is already finished (HTTP 409)."""


def check_move(move: Move, current: JobStatus, detail: str = "", *, holder: str | None = None,
               reporter: str | None = None) -> JobStatus:
    """The state after `move`, or IllegalMove naming the current state. `detail`: the counter holding the
    job, for the words. For print-failed, `holder` (the counter printing it now) and `reporter` (the
    counter reporting, when it said): a report from another counter than the holder is refused."""
    t = TRANSITIONS[move]
    if current not in t.sources:
        raise IllegalMove(move, current, detail)
    if move is Move.PRINT_FAILED and reporter and holder and holder != reporter:
        raise NotYourPrint(holder, reporter)
    return t.target


def check_cancel_order(files: list) -> list:
    """Which files of an order a cancel moves: every one still waiting. `files` have `.status`, `.code`
    and `.counter`. Refused while any is printing (OrderPrinting) or when none is waiting
    (NothingToCancel)."""
    printing = [f for f in files if JobStatus(f.status) is JobStatus.PRINTING]
    if printing:
        names = ", ".join(f"{f.code} at {f.counter or 'a counter'}" for f in printing)
        raise OrderPrinting(f"Cannot cancel this order while a file is printing ({names}). "
                            "Wait for the print to finish or fail, then cancel.")
    waiting = [f for f in files if JobStatus(f.status) is JobStatus.UPLOADED]
    if not waiting:
        raise NothingToCancel(f"Nothing to cancel: every file of this order is already "
                              f"{', '.join(sorted({JobStatus(f.status).label for f in files}))}.")
    return waiting
