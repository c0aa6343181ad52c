"""ClientReporter: what the print pipeline needs from the server (the JobReporter protocol of
shopdesk.printing.reporting). print-started is sent at once and must be acknowledged before anything
is printed; failures and confirmations go through the durable outbox; files come from the cache."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from .api import ShopClient, is_transient
from .downloads import DownloadCache
from .errors import ApiError, OfflineError
from .outbox import Outbox


class ClientReporter:
    """Implements JobReporter by its shape (same method names and signatures), without importing it:
    `client/` does not depend on `printing/`."""

    def __init__(self, client: ShopClient, outbox: Outbox, cache: DownloadCache, counter: str = ""):
        self.client, self.outbox, self.cache, self.counter = client, outbox, cache, counter
        self._lock = threading.Lock()
        # A print-started whose answer never arrived keeps its Idempotency-Key for a next try soon after,
        # which then gets "started" back instead of our own "already printing at Counter 1". Only for
        # START_KEY_TTL: much later the job may have failed and started elsewhere, and a replayed
        # "started" would then print it twice.
        self._start_keys: dict[int, tuple[str, float]] = {}
        self._started: dict[int, tuple[str, str]] = {}  # printer and counter, for the confirm's audit

    START_KEY_TTL = 120.0

    def print_started(self, file_id: int, *, printer: str, counter: str) -> None:
        # An earlier print-failed for this job still in the outbox would make the server answer 409
        # ("printing"): it has to arrive first, in order, or the job cannot start.
        if self.outbox.pending(file_id) and self.outbox.deliver(file_id):
            raise OfflineError("An earlier report for this job has not reached the shop server yet "
                               f"({self.outbox.state()['last_error'] or 'waiting'}). It cannot be printed "
                               "again until it has; try again when the server is reachable.")
        counter = counter or self.counter
        with self._lock:
            key, at = self._start_keys.get(file_id, ("", 0.0))
            if not key or time.monotonic() - at > self.START_KEY_TTL:
                key = str(uuid.uuid4())
                self._start_keys[file_id] = (key, time.monotonic())
        try:
            self.client.print_started(file_id, printer=printer, counter=counter, idempotency_key=key)
        except ApiError as exc:
            if not is_transient(exc):
                with self._lock:
                    self._start_keys.pop(file_id, None)
            raise
        with self._lock:
            self._start_keys.pop(file_id, None)
            self._started[file_id] = (printer, counter)

    def print_failed(self, file_id: int, reason: str) -> None:
        with self._lock:
            self._started.pop(file_id, None)
        self.outbox.add("print-failed", file_id, {"reason": reason})

    def confirm(self, file_id: int) -> None:
        with self._lock:
            printer, counter = self._started.pop(file_id, ("", self.counter))
        self.outbox.add("confirm", file_id, {"printer": printer, "counter": counter})

    def fetch(self, file_id: int, sha256: str, progress: Callable[[int, int], None] | None = None) -> Path:
        return self.cache.fetch(file_id, sha256, progress)
