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
        return _LABELS[self]


_LABELS = {
    JobStatus.UPLOADED: "waiting",
    JobStatus.PRINTING: "printing",
    JobStatus.DOWNLOADED: "printed",
    JobStatus.CANCELLED: "cancelled",
    JobStatus.WITHDRAWN: "withdrawn by the customer",
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


def check_move(move: Move, current: JobStatus, detail: str = "") -> JobStatus:
    """The state after `move`, or IllegalMove naming the current state."""
    t = TRANSITIONS[move]
    if current not in t.sources:
        raise IllegalMove(move, current, detail)
    return t.target
