"""The outbox: `print-failed`, `confirm` and `cancel` reports written to a local SQLite file before they
are sent, each with its Idempotency-Key fixed at that moment, delivered in order per job, retried until
the server acknowledges them, kept across restarts. A report the server refuses for good (404, 409 —
e.g. another counter confirmed it first) is kept as "rejected" with the server's words for the UI."""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from .api import ShopClient, is_transient
from .errors import ApiError, UnauthorizedError
from .retry import OUTBOX

log = logging.getLogger("shopdesk.client.outbox")
KINDS = ("print-failed", "confirm", "cancel")

SCHEMA = """
CREATE TABLE IF NOT EXISTS reports (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    file_id INTEGER NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    idempotency_key TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',   -- pending | sent | rejected | dismissed
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    sent_at TEXT
);
CREATE INDEX IF NOT EXISTS reports_pending ON reports(state, file_id, id);
"""


@dataclass(frozen=True)
class Report:
    id: int
    file_id: int
    kind: str
    payload: dict
    idempotency_key: str
    created_at: str
    attempts: int


class Outbox:
    """`path` is the SQLite file (the app keeps it in the user data dir). Acknowledged reports stay as
    "sent" rows for `keep_sent_days` (a local record of what reached the server), then are pruned."""

    def __init__(self, path: Path, client: ShopClient | None = None,
                 on_change: Callable[[dict], None] | None = None, *, keep_sent_days: float = 7.0):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.client = client
        self.on_change = on_change
        self._db_lock = threading.Lock()
        self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")  # a report acknowledged to the caller is on disk
        self._conn.executescript(SCHEMA)
        self._deliver_lock = threading.Lock()  # one sender at a time: the thread, or a direct deliver()
        self.prune(keep_sent_days)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_error: str | None = None
        self.needs_login = False

    # --- writing ---------------------------------------------------------------------------------
    def add(self, kind: str, file_id: int, payload: dict | None = None) -> str:
        """Stores a report durably and wakes the sender; returns its Idempotency-Key."""
        if kind not in KINDS:
            raise ValueError(f"unknown report kind {kind!r}")
        key = str(uuid.uuid4())
        with self._db_lock:
            self._conn.execute(
                "INSERT INTO reports (file_id, kind, payload, idempotency_key, created_at) VALUES (?,?,?,?,?)",
                (file_id, kind, json.dumps(payload or {}), key, datetime.now(UTC).isoformat()))
        self._changed()
        self._wake.set()
        return key

    def pending(self, file_id: int | None = None) -> list[Report]:
        sql = ("SELECT id, file_id, kind, payload, idempotency_key, created_at, attempts FROM reports "
               "WHERE state='pending'")
        args: tuple = ()
        if file_id is not None:
            sql += " AND file_id=?"
            args = (file_id,)
        with self._db_lock:
            rows = self._conn.execute(sql + " ORDER BY id", args).fetchall()
        return [Report(r[0], r[1], r[2], json.loads(r[3]), r[4], r[5], r[6]) for r in rows]

    def rejected(self) -> list[dict]:
        with self._db_lock:
            rows = self._conn.execute("SELECT file_id, kind, last_error FROM reports WHERE state='rejected' "
                                      "ORDER BY id").fetchall()
        return [{"file_id": r[0], "kind": r[1], "error": r[2]} for r in rows]

    def state(self) -> dict:
        with self._db_lock:
            pending, oldest = self._conn.execute(
                "SELECT COUNT(*), MIN(created_at) FROM reports WHERE state='pending'").fetchone()
            rejected = self._conn.execute("SELECT COUNT(*) FROM reports WHERE state='rejected'").fetchone()[0]
        return {"pending": pending, "oldest": oldest, "last_error": self._last_error if pending else None,
                "rejected": rejected, "needs_login": self.needs_login}

    def prune(self, older_than_days: float) -> int:
        """Forgets acknowledged (and dismissed) reports older than this; pending and rejected ones stay."""
        cutoff = (datetime.now(UTC) - timedelta(days=older_than_days)).isoformat()
        with self._db_lock:
            return self._conn.execute("DELETE FROM reports WHERE state IN ('sent', 'dismissed') AND sent_at < ?", (cutoff,)).rowcount

    def dismiss_rejected(self) -> int:
        """The shopkeeper has read the refusals: they leave the list (kept as 'dismissed' rows until pruned)."""
        with self._db_lock:
            n = self._conn.execute("UPDATE reports SET state='dismissed', sent_at=? WHERE state='rejected'",
                                   (datetime.now(UTC).isoformat(),)).rowcount
        self._changed()
        return n

    def _mark(self, report: Report, state: str, error: str | None = None) -> None:
        # Not fsynced (synchronous=NORMAL): if a power cut loses this mark, the report is sent again
        # with the same Idempotency-Key and the server answers as the first time. Only add() must wait
        # for the disk.
        with self._db_lock:
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute("UPDATE reports SET state=?, attempts=attempts+1, last_error=?, sent_at=? WHERE id=?",
                               (state, error, datetime.now(UTC).isoformat() if state == "sent" else None, report.id))
            self._conn.execute("PRAGMA synchronous=FULL")

    def _attempted(self, report: Report, error: str) -> None:
        with self._db_lock:
            self._conn.execute("UPDATE reports SET attempts=attempts+1, last_error=? WHERE id=?", (error, report.id))

    def _changed(self) -> None:
        if self.on_change:
            try:
                self.on_change(self.state())
            except Exception:
                log.exception("outbox listener failed")

    # --- sending ---------------------------------------------------------------------------------
    def _send(self, r: Report) -> None:
        c = self.client
        if r.kind == "print-failed":
            c.print_failed(r.file_id, r.payload.get("reason", ""), counter=r.payload.get("counter", ""),
                           idempotency_key=r.idempotency_key)
        elif r.kind == "confirm":
            c.confirm(r.file_id, printer=r.payload.get("printer", ""), counter=r.payload.get("counter", ""),
                      impressions=r.payload.get("impressions"), sheets=r.payload.get("sheets"),
                      idempotency_key=r.idempotency_key)
        elif r.kind == "cancel":
            c.cancel(r.file_id, r.payload.get("reason", ""), idempotency_key=r.idempotency_key)

    def deliver(self, file_id: int | None = None) -> int:
        """Sends what is pending (only that job's reports when `file_id` is given), in order per job;
        stops a job's line at its first failure. Returns the number of reports still pending (of that
        job, when given)."""
        if self.client is None:
            raise RuntimeError("the outbox has no client to send with")
        with self._deliver_lock:
            return self._deliver(file_id)

    def _deliver(self, file_id: int | None) -> int:
        blocked: set[int] = set()
        for r in self.pending(file_id):
            if r.file_id in blocked:
                continue
            try:
                self._send(r)
            except UnauthorizedError as exc:
                self.needs_login = True
                self._last_error = "Log in again to send the waiting reports."
                self._attempted(r, str(exc))
                break
            except ApiError as exc:
                if is_transient(exc):
                    self._last_error = str(exc)
                    self._attempted(r, str(exc))
                    blocked.add(r.file_id)
                    if exc.status == 0:  # offline: nothing else will get through either
                        break
                    continue
                log.warning("report %s for job %s refused by the server: %s", r.kind, r.file_id, exc)
                self._mark(r, "rejected", str(exc))
            else:
                self.needs_login = False
                self._mark(r, "sent")
            self._changed()  # the UI's pending count follows each report, not each round
        remaining = len(self.pending())
        if not remaining:
            self._last_error = None
        self._changed()
        return remaining if file_id is None else len(self.pending(file_id))

    def start(self) -> None:
        if self._thread and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="shopdesk-outbox", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread:
            self._thread.join(timeout)

    def _run(self) -> None:
        backoff = OUTBOX.backoff()
        while not self._stop.is_set():
            if self.client is None or not self.pending():
                self._wake.wait()  # a new report, or stop
                self._wake.clear()
                continue
            try:
                remaining = self.deliver()
            except Exception:
                log.exception("outbox delivery failed")
                remaining = 1
            if remaining:
                self._wake.wait(backoff.next_delay())  # a wake() (new report, network back) cuts it short
                self._wake.clear()
            else:
                backoff.reset()

    def close(self) -> None:
        self.stop()
        with self._db_lock:
            self._conn.close()

    def wait_until_empty(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.pending():
                return True
            self.wake()
            time.sleep(0.05)
        return not self.pending()
