"""Jobs this counter has started printing, kept in a small SQLite file: the double-print guard (a job
already in flight is refused) and what lets the pipeline resume watching after a restart."""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from .stages import InFlightStage

SCHEMA = """
CREATE TABLE IF NOT EXISTS inflight (
    file_id INTEGER PRIMARY KEY,
    code TEXT NOT NULL,
    printer TEXT NOT NULL,
    backend TEXT NOT NULL,
    tag TEXT NOT NULL,
    job_id INTEGER,
    stage TEXT NOT NULL,            -- starting | submitted | awaiting-confirm
    started_at TEXT NOT NULL,
    job TEXT NOT NULL,              -- the server's job JSON, to resume with
    start_key TEXT,                 -- the print-started Idempotency-Key of this attempt
    counter TEXT                    -- the counter that started it: only it resumes the job
);
"""


_COLUMNS = "file_id, code, printer, backend, tag, job_id, stage, started_at, job, start_key, counter"


@dataclass
class InFlightJob:
    file_id: int
    code: str
    printer: str
    backend: str
    tag: str
    job_id: int | None
    stage: str
    started_at: str
    job: dict
    start_key: str = ""
    counter: str = ""  # "" in a store written before counters were recorded

    @classmethod
    def from_row(cls, r) -> InFlightJob:
        return cls(*r[:8], json.loads(r[8]), r[9] or "", r[10] or "")


class AlreadyInFlight(Exception):
    pass


class InFlight:
    def __init__(self, path: Path):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.executescript(SCHEMA)
        columns = {r[1] for r in self._conn.execute("PRAGMA table_info(inflight)")}
        if "start_key" not in columns:  # a store written by an older version
            self._conn.execute("ALTER TABLE inflight ADD COLUMN start_key TEXT")
        if "counter" not in columns:
            self._conn.execute("ALTER TABLE inflight ADD COLUMN counter TEXT")

    def claim(self, job: dict, printer: str, backend: str, counter: str = "") -> InFlightJob:
        """Records the start of a print (by `counter`); refuses a job that is already in flight here."""
        row = InFlightJob(int(job["file_id"]), job["code"], printer, backend, uuid.uuid4().hex[:8], None, InFlightStage.STARTING,
                          datetime.now(UTC).isoformat(), job, str(uuid.uuid4()), counter)
        with self._lock:
            try:
                self._conn.execute("INSERT INTO inflight (file_id, code, printer, backend, tag, job_id, stage, "
                                   "started_at, job, start_key, counter) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                                   (row.file_id, row.code, printer, backend, row.tag, None, row.stage,
                                    row.started_at, json.dumps(job, default=str), row.start_key, counter))
            except sqlite3.IntegrityError as exc:
                current = self.get(row.file_id)
                raise AlreadyInFlight(f"Job {job['code']} is already being printed on this counter "
                                      f"({current.printer if current else 'a printer'}).") from exc
        return row

    def update(self, file_id: int, **values) -> None:
        cols = ", ".join(f"{k}=?" for k in values)
        with self._lock:
            self._conn.execute(f"UPDATE inflight SET {cols} WHERE file_id=?", (*values.values(), file_id))

    def release(self, file_id: int) -> None:
        with self._lock:
            self._conn.execute("DELETE FROM inflight WHERE file_id=?", (file_id,))

    def get(self, file_id: int) -> InFlightJob | None:
        r = self._conn.execute(f"SELECT {_COLUMNS} FROM inflight WHERE file_id=?", (file_id,)).fetchone()
        return None if r is None else InFlightJob.from_row(r)

    def all(self) -> list[InFlightJob]:
        with self._lock:
            rows = self._conn.execute(f"SELECT {_COLUMNS} FROM inflight ORDER BY started_at").fetchall()
        return [InFlightJob.from_row(r) for r in rows]

    def close(self) -> None:
        self._conn.close()
