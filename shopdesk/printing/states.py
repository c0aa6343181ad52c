"""IPP state numbers as types: a job's state and a printer's state are different scales (job state 5 is
"processing", printer state 5 is "stopped"), so each has its own enum (RFC 8011 §5.3.7 and §5.4.12)."""

from __future__ import annotations

import enum


class JobState(enum.IntEnum):
    PENDING = 3
    HELD = 4
    PROCESSING = 5
    STOPPED = 6
    CANCELED = 7
    ABORTED = 8
    COMPLETED = 9


class PrinterState(enum.IntEnum):
    IDLE = 3
    PROCESSING = 4
    STOPPED = 5
