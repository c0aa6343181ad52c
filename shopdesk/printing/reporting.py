"""What the print pipeline needs from the shop server: the JobReporter protocol (implemented by
shopdesk.client.reporter.ClientReporter; tests may hand in their own)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol


class JobReporter(Protocol):
    def print_started(self, file_id: int, *, printer: str, counter: str, key: str) -> None:
        """Synchronous and acknowledged by the server before anything is printed. `key` is the
        attempt's Idempotency-Key: sent again with the same key, a start that did reach the server is
        answered as it was the first time. Raises shopdesk.client.errors.ConflictError (409: another
        counter has it), or an error `is_transient` says leaves the outcome unknown."""

    def is_transient(self, exc: BaseException) -> bool:
        """The server or the network failed: the start may or may not have reached the server."""
        ...

    def print_failed(self, file_id: int, reason: str) -> None:  # durable: goes through the outbox
        """Names this counter, so a late report cannot take the job from a counter printing it now."""

    def confirm(self, file_id: int, *, impressions: int | None = None, sheets: int | None = None) -> None:
        """Durable: goes through the outbox. `impressions` (job-impressions-completed as CUPS reported it)
        and `sheets` (submitted) go with the confirm for the shop's reconciliation."""

    def fetch(self, file_id: int, sha256: str, progress: Callable[[int, int], None] | None = None,
              sink: Callable[[bytes], None] | None = None) -> Path:
        """Downloads (or reuses the cached, verified copy of) the file; raises on a checksum mismatch.
        `sink`, when given, gets the file's bytes block by block as they come (from the download or the
        cached copy), to be trusted only once fetch returned."""
