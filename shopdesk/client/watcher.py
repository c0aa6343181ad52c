"""QueueWatcher: long-polls GET /queue with its ETag in a thread, reconnects with backoff after the
network or the server goes away, and hands over changes (added / changed / removed jobs) plus the
whole current queue for views that want it."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from .api import ShopClient
from .errors import ApiError, UnauthorizedError
from .retry import Backoff

log = logging.getLogger("shopdesk.client.watcher")


@dataclass
class QueueChange:
    orders: list[dict]
    added: list[dict] = field(default_factory=list)
    changed: list[dict] = field(default_factory=list)
    removed: list[dict] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.added or self.changed or self.removed)


def diff(before: dict[int, dict], orders: list[dict]) -> QueueChange:
    now = {j["file_id"]: j for o in orders for j in o["files"]}
    return QueueChange(
        orders=orders,
        added=[j for fid, j in now.items() if fid not in before],
        changed=[j for fid, j in now.items() if fid in before and before[fid] != j],
        removed=[j for fid, j in before.items() if fid not in now],
    )


class QueueWatcher:
    def __init__(self, client: ShopClient, on_change: Callable[[QueueChange], None],
                 on_state: Callable[[bool, str], None] | None = None,
                 on_unauthorized: Callable[[], None] | None = None, wait: int = 25):
        self.client = client
        self.on_change, self.on_state, self.on_unauthorized = on_change, on_state, on_unauthorized
        self.wait = wait
        self._jobs: dict[int, dict] = {}
        self._etag: str | None = None
        self._stop = threading.Event()
        self._poke = threading.Event()
        self._thread: threading.Thread | None = None
        self.connected: bool | None = None

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="shopdesk-queue-watcher", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._poke.set()
        # closing the session breaks a held long-poll at once
        try:
            self.client.session.close()
        except Exception:
            pass
        if self._thread:
            self._thread.join(timeout)

    def refresh(self) -> None:
        """Ask for the whole queue again now (e.g. after F5 or after logging in again)."""
        self._etag = None
        self._poke.set()

    def poll_once(self, wait: int = 0) -> QueueChange | None:
        orders, etag = self.client.queue(self._etag, wait=wait)
        self._etag = etag
        if orders is None:
            return None
        change = diff(self._jobs, orders)
        self._jobs = {j["file_id"]: j for o in orders for j in o["files"]}
        return change

    def _state(self, ok: bool, text: str) -> None:
        if self.connected != ok or not ok:
            self.connected = ok
            if self.on_state:
                self.on_state(ok, text)

    def _run(self) -> None:
        backoff = Backoff(initial=0.5, cap=15.0)
        first = True
        while not self._stop.is_set():
            try:
                change = self.poll_once(wait=0 if first or self._poke.is_set() else self.wait)
                if self._stop.is_set():
                    break  # stopped while the long-poll was held: the listener may be gone already
                self._poke.clear()
                first = False
                backoff.reset()
                self._state(True, f"Connected to {self.client.base_url}")
                if change is not None:
                    self.on_change(change)
            except UnauthorizedError:
                if self._stop.is_set():
                    break
                self._state(False, "Logged out: please log in again")
                if self.on_unauthorized:
                    self.on_unauthorized()
                self._poke.wait()  # until refresh() after a new login
                self._poke.clear()
                first = True
            except ApiError as exc:
                if self._stop.is_set():
                    break
                delay = backoff.next_delay(getattr(exc, "retry_after", None))
                self._state(False, f"{exc} Retrying in {delay:.0f} s.")
                self._poke.wait(delay)
                first = True  # after an outage, fetch everything again
            except Exception:
                if self._stop.is_set():
                    break
                log.exception("queue watcher error")
                self._poke.wait(backoff.next_delay())
