"""ClientReporter: what the print pipeline needs from the server (the JobReporter protocol of
shopdesk.printing.reporting). print-started is sent at once and must be acknowledged before anything
is printed; failures and confirmations go through the durable outbox; files come from the cache."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from .api import ShopClient
from .downloads import DownloadCache
from .outbox import Outbox


class ClientReporter:
    def __init__(self, client: ShopClient, outbox: Outbox, cache: DownloadCache, counter: str = ""):
        self.client, self.outbox, self.cache, self.counter = client, outbox, cache, counter

    def print_started(self, file_id: int, *, printer: str, counter: str) -> None:
        self.client.print_started(file_id, printer=printer, counter=counter or self.counter)

    def print_failed(self, file_id: int, reason: str) -> None:
        self.outbox.add("print-failed", file_id, {"reason": reason})

    def confirm(self, file_id: int, *, printer: str = "", counter: str = "") -> None:
        self.outbox.add("confirm", file_id, {"printer": printer, "counter": counter or self.counter})

    def fetch(self, file_id: int, sha256: str, progress: Callable[[int, int], None] | None = None) -> Path:
        return self.cache.fetch(file_id, sha256, progress)
