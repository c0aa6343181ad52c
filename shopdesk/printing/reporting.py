"""What the print pipeline needs from the shop server (implemented by shopdesk.client.reporter)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol


class JobReporter(Protocol):
    def print_started(self, file_id: int, *, printer: str, counter: str) -> None:
        """Synchronous and acknowledged before anything is printed; raises ConflictError (another counter
        has the job) or OfflineError (then the job cannot start)."""

    def print_failed(self, file_id: int, reason: str) -> None:
        """Durable (the outbox): returns at once."""

    def confirm(self, file_id: int, *, printer: str = "", counter: str = "") -> None:
        """Durable (the outbox): returns at once."""

    def fetch(self, file_id: int, sha256: str, progress: Callable[[int, int], None] | None = None) -> Path:
        """The job's file, downloaded and verified (or the cached copy)."""
