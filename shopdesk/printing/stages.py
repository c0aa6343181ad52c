"""The print path's stages as types. `Stage`: what the shopkeeper is shown of one print (in order:
starting → downloading → sent → printing → done | failed | waiting-confirm; the window's words for each
are in ui/mainwindow.py's one table). `InFlightStage`: what the in-flight store keeps of a job this
counter has started, to resume it after a restart."""

from __future__ import annotations

import enum


class Stage(enum.StrEnum):
    STARTING = "starting"
    DOWNLOADING = "downloading"
    SENT = "sent"
    PRINTING = "printing"
    DONE = "done"
    FAILED = "failed"
    WAITING_CONFIRM = "waiting-confirm"

    @property
    def is_final(self) -> bool:
        return self in (Stage.DONE, Stage.FAILED)


class InFlightStage(enum.StrEnum):
    STARTING = "starting"
    SUBMITTED = "submitted"
    AWAITING_CONFIRM = "awaiting-confirm"
    # A print-started whose answer never came: settled later (PrintPipeline.resolve_starts)
    START_UNKNOWN = "start-unknown"


class ConfirmMode(enum.StrEnum):
    AUTO = "auto"  # a completed CUPS job is confirmed at once
    ASK = "ask"    # the shopkeeper is asked "Did it print?"
