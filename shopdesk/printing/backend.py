"""What the print pipeline needs of a place that takes jobs: the `Backend` protocol, and the two errors
every backend raises in words. Backends: `cups.CupsBackend`, `hotfolder.HotFolderBackend`."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, runtime_checkable

from .capabilities import PrinterInfo
from .options import PrintRequest
from .outcomes import JobView


class PrinterUnavailable(Exception):
    """The printer is gone, stopped or refuses jobs — in words."""


class SubmitError(Exception):
    """The backend did not take the job — in words."""


@runtime_checkable
class Backend(Protocol):
    kind: str  # stored with an in-flight job, to find its backend again after a restart

    def printers(self) -> list[PrinterInfo]:
        """Every printer of this backend now (an unreachable backend has none)."""

    def printer(self, name: str, default: str | None = None) -> PrinterInfo | None:
        """One printer now, or None if there is no such printer; PrinterUnavailable if the backend is away."""

    def submit(self, req: PrintRequest, printer: str, path: Path, title: str) -> int:
        """The backend's job id; SubmitError when the job was refused."""

    def view(self, job_id: int, printer: str) -> JobView:
        """The job and its printer now; PrinterUnavailable if the backend is away."""

    def cancel(self, job_id: int) -> None:
        """Stops the job (it must not come out later); never raises."""

    def find_job(self, needle: str) -> int | None:
        """The job whose title contains `needle` (a per-attempt tag), if the backend has it."""
