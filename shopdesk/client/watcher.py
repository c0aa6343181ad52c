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
from .retry import QUEUE_WATCH

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


@dataclass
class _Run:
    """One start()…stop() of the watcher. A thread still held in a long-poll after stop() keeps its own,
    stopped, _Run, so a later start() cannot be confused by it."""

    stop: threading.Event = field(default_factory=threading.Event)
    poke: threading.Event = field(default_factory=threading.Event)
    holding: bool = False  # inside a long-poll the server holds for up to `wait` seconds


class QueueWatcher:
    """Calls `on_change(QueueChange)` from its own thread whenever the queue changes, `on_state(connected,
    words)` when the connection comes or goes, `on_unauthorized()` when the token is no longer accepted
    (then it waits for `refresh()` after a new login). Nothing is called after stop() returns."""

    def __init__(self, client: ShopClient, on_change: Callable[[QueueChange], None],
                 on_state: Callable[[bool, str], None] | None = None,
                 on_unauthorized: Callable[[], None] | None = None, wait: int = 25):
        self.client = client
        self.on_change, self.on_state, self.on_unauthorized = on_change, on_state, on_unauthorized
        self.wait = min(wait, 30)  # the server holds at most 30 s
        self._jobs: dict[int, dict] = {}
        self._etag: str | None = None
        self._full = True
        self._lock = threading.Lock()  # _jobs/_etag between the thread and poll_once() callers
        self._run_state = _Run()
        self._run_state.stop.set()
        self._thread: threading.Thread | None = None
        self.connected: bool | None = None

    def start(self) -> None:
        if self._thread and self._thread.is_alive() and not self._run_state.stop.is_set():
            return
        self._run_state = run = _Run()
        self._thread = threading.Thread(target=self._run, args=(run,), name="shopdesk-queue-watcher", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Returns at once when the thread sits in a held long-poll: the server ends it within `wait` s and
        the thread then leaves without handing anything over; there is nothing worth waiting for."""
        run = self._run_state
        run.stop.set()
        run.poke.set()
        if self._thread and not run.holding:
            self._thread.join(timeout)

    def refresh(self) -> None:
        """Ask for the whole queue again (e.g. after F5 or after logging in again)."""
        self._full = True
        self._run_state.poke.set()

    def poll_once(self, wait: int = 0) -> QueueChange | None:
        """One GET /queue with the last ETag; the change since the last poll, or None (304)."""
        orders, etag = self.client.queue(None if self._full else self._etag, wait=wait)
        return self._apply(orders, etag)

    def _apply(self, orders: list[dict] | None, etag: str | None) -> QueueChange | None:
        with self._lock:
            self._full = False
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

    def _run(self, run: _Run) -> None:
        backoff = QUEUE_WATCH.backoff()
        first = True
        while not run.stop.is_set():
            try:
                wait = 0 if first or run.poke.is_set() else self.wait
                run.poke.clear()
                run.holding = wait > 0
                try:
                    orders, etag = self.client.queue(None if self._full else self._etag, wait=wait)
                finally:
                    run.holding = False
                if run.stop.is_set():
                    break  # stopped while the long-poll was held: the listener may be gone already
                change = self._apply(orders, etag)
                first = False
                backoff.reset()
                self._state(True, f"Connected to {self.client.base_url}")
                if change is not None:
                    self.on_change(change)
            except UnauthorizedError:
                if run.stop.is_set():
                    break
                self._state(False, "Logged out: please log in again")
                if self.on_unauthorized:
                    self.on_unauthorized()
                run.poke.wait()  # until refresh() after a new login
                first = True
            except ApiError as exc:
                if run.stop.is_set():
                    break
                delay = backoff.next_delay(getattr(exc, "retry_after", None))
                self._state(False, f"{exc} Retrying in {max(1, round(delay))} s.")
                run.poke.wait(delay)
                first = True  # after an outage, fetch everything again
            except Exception:
                if run.stop.is_set():
                    break
                log.exception("queue watcher error")
                run.poke.wait(backoff.next_delay())
