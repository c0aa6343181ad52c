"""What the print pipeline needs from the shop server: the JobReporter protocol (implemented by
shopdesk.client.reporter.ClientReporter; tests may hand in their own)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol


class JobReporter(Protocol):
    def print_started(self, file_id: int, *, printer: str, counter: str) -> None:
        """Synchronous and acknowledged by the server before anything is printed. Raises
        shopdesk.client.errors.ConflictError (409: another counter has it) or OfflineError."""

    def print_failed(self, file_id: int, reason: str) -> None:  # durable: goes through the outbox
        ...

    def confirm(self, file_id: int) -> None:  # durable: goes through the outbox
        ...

    def fetch(self, file_id: int, sha256: str, progress: Callable[[int, int], None] | None = None) -> Path:
        """Downloads (or reuses the cached, verified copy of) the file; raises on a checksum mismatch."""
