"""What a running server holds: settings, the database, the file store and the queue-change notifier."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import anyio

from .config import Settings
from .db import Database
from .live import Live
from .ratelimit import LocalLimiter
from .sandbox import Limits, WorkerPool
from .storage import FileStore


class QueueNotifier:
    """Wakes long-polls in this process at once when a shop's queue changes: poked by this process's
    commits and, on PostgreSQL, by other processes' through LISTEN/NOTIFY (live.py). On SQLite other
    processes' changes are seen by the long-poll's own short database checks
    (`Settings.longpoll_check_seconds`)."""

    def __init__(self) -> None:
        self._events: dict[int, asyncio.Event] = {}

    def event(self, shop_id: int) -> asyncio.Event:
        ev = self._events.get(shop_id)
        if ev is None:
            ev = self._events[shop_id] = asyncio.Event()
        return ev

    def poke(self, shop_id: int) -> None:
        ev = self._events.pop(shop_id, None)
        if ev is not None:
            ev.set()

    def poke_all(self) -> None:
        events, self._events = self._events, {}
        for ev in events.values():
            ev.set()


@dataclass
class ServerContext:
    settings: Settings
    db: Database
    store: FileStore
    notifier: QueueNotifier = field(default_factory=QueueNotifier)
    # shop id → (queue_rev, rendered GET /queue body). The body of a revision never changes: every
    # change to a shop's waiting jobs bumps its revision in the same transaction.
    queue_cache: dict[int, tuple[int, bytes]] = field(default_factory=dict)
    # Set when the server is about to stop: held long-polls answer 304 at their next check (≤ 0.25 s)
    # instead of holding the shutdown up.
    closing: bool = False
    # Untrusted files are parsed here (worker processes with CPU, memory and wall-clock limits), never in
    # the server's own threads.
    file_checks: WorkerPool | None = None
    # Password hashing has threads of its own: nothing else's backlog can make a login wait.
    hashing: anyio.CapacityLimiter | None = None
    # Derives the webhooks' signing secrets (services/webhooks.py); set when the server starts.
    webhook_key: bytes = b""
    # Queue revisions and logins known without a database read, kept true by commits and NOTIFY (live.py)
    live: Live = field(init=False)
    # Per-token rate limits, counted in this process (its share of the limit: Settings.workers)
    limits: LocalLimiter = field(init=False)

    def __post_init__(self) -> None:
        self.live = Live(postgresql=not self.db.is_sqlite, notifier=self.notifier)
        self.db.on_commit = self.live.committed
        self.db.live = self.live
        self.limits = LocalLimiter(self.settings.workers)

    def start_pools(self) -> None:
        s = self.settings
        self.file_checks = WorkerPool(
            s.file_check_workers,
            Limits(cpu_seconds=s.file_check_cpu_seconds, wall_seconds=s.file_check_wall_seconds,
                   memory_mb=s.file_check_memory_mb),
            preload=["shopdesk.server.uploads", "pypdf", "PIL.Image", "PIL.PngImagePlugin", "PIL.JpegImagePlugin"])
        self.hashing = anyio.CapacityLimiter(s.password_hash_threads)

    def stop_pools(self) -> None:
        if self.file_checks is not None:
            self.file_checks.close()
