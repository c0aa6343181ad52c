"""ClientReporter: what the print pipeline needs from the server (the JobReporter protocol of
shopdesk.printing.reporting). print-started is sent at once and must be acknowledged before anything
is printed; failures and confirmations go through the durable outbox; files come from the cache."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from .api import ShopClient, is_transient
from .downloads import DownloadCache
from .errors import OfflineError
from .outbox import Outbox


class ClientReporter:
    """Implements JobReporter by its shape (same method names and signatures), without importing it:
    `client/` does not depend on `printing/`."""

    def __init__(self, client: ShopClient, outbox: Outbox, cache: DownloadCache, counter: str = ""):
        self.client, self.outbox, self.cache, self.counter = client, outbox, cache, counter
        self._lock = threading.Lock()
        self._started: dict[int, tuple[str, str]] = {}  # printer and counter, for the confirm's audit

    def is_transient(self, exc: BaseException) -> bool:
        return is_transient(exc)

    def print_started(self, file_id: int, *, printer: str, counter: str, key: str) -> None:
        # An earlier print-failed for this job still in the outbox would make the server answer 409
        # ("printing"): it has to arrive first, in order, or the job cannot start.
        if self.outbox.pending(file_id) and self.outbox.deliver(file_id):
            raise OfflineError("An earlier report for this job has not reached the shop server yet "
                               f"({self.outbox.state()['last_error'] or 'waiting'}). It cannot be printed "
                               "again until it has; try again when the server is reachable.")
        counter = counter or self.counter
        self.client.print_started(file_id, printer=printer, counter=counter, idempotency_key=key)
        with self._lock:
            self._started[file_id] = (printer, counter)

    def print_failed(self, file_id: int, reason: str) -> None:
        with self._lock:
            _printer, counter = self._started.pop(file_id, ("", self.counter))
        self.outbox.add("print-failed", file_id, {"reason": reason, "counter": counter})

    def confirm(self, file_id: int, *, impressions: int | None = None, sheets: int | None = None) -> None:
        with self._lock:
            printer, counter = self._started.pop(file_id, ("", self.counter))
        self.outbox.add("confirm", file_id, {"printer": printer, "counter": counter, "impressions": impressions,
                                             "sheets": sheets})

    def fetch(self, file_id: int, sha256: str, progress: Callable[[int, int], None] | None = None,
              sink: Callable[[bytes], None] | None = None) -> Path:
        return self.cache.fetch(file_id, sha256, progress, sink)
