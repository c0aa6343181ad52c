"""Database engines and transactions.

Two rules keep concurrent counters safe on both SQLite and PostgreSQL:
- every state move is a conditional UPDATE inside a write transaction (`Database.write()`), and
- on SQLite a write transaction starts with BEGIN IMMEDIATE, so two writers queue on the lock (with a
  busy timeout) instead of failing when a read transaction tries to upgrade. Reads use a separate
  engine with plain deferred transactions, so polling never waits for a writer (WAL).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy import create_engine, event, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from .config import to_sync_url

# SQLite: every write transaction bumps this one row before it commits (migration 0007).
COUNT_COMMIT = text("UPDATE commit_count SET n = n + 1 WHERE id = 1 RETURNING n")

log = logging.getLogger("shopdesk.server.db")
MIGRATIONS = Path(__file__).with_name("migrations")


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=15000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def _make_engine(url: str, *, immediate: bool) -> AsyncEngine:
    if url.startswith("sqlite"):
        engine = create_async_engine(url, pool_size=8 if not immediate else 2, max_overflow=8)
        sync_engine = engine.sync_engine
        event.listen(sync_engine, "connect", _sqlite_pragmas)

        # Take over transaction control from the driver, so BEGIN is ours to choose.
        @event.listens_for(sync_engine, "connect")
        def _autocommit_driver(dbapi_conn, _record):
            dbapi_conn.isolation_level = None

        begin = "BEGIN IMMEDIATE" if immediate else "BEGIN"

        @event.listens_for(sync_engine, "begin")
        def _begin(conn):
            conn.exec_driver_sql(begin)

        return engine
    return create_async_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)


class Database:
    def __init__(self, url: str):
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self.writer = _make_engine(url, immediate=True)
        self.reader = _make_engine(url, immediate=False) if self.is_sqlite else self.writer
        self._write_sessions = async_sessionmaker(self.writer, expire_on_commit=False)
        self._read_sessions = async_sessionmaker(self.reader, expire_on_commit=False)
        # SQLite has one writer at a time. Queue this process's writers here, in order, instead of
        # letting them poll the file lock (busy_timeout sleeps, which showed as 0.5 s p99 latencies).
        self._write_lock = asyncio.Lock() if self.is_sqlite else None
        # Called with a session's `info` after its write transaction committed (signals.py marks): the
        # server keeps its in-memory queue revisions and login cache true with it (live.py).
        self.on_commit: Callable[[dict], Awaitable[None]] | None = None
        # What the process knows in memory (live.Live), for the services inside a write transaction.
        self.live = None

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """A write transaction: committed when the block ends, rolled back on an exception. On SQLite it
        also counts itself (`commit_count`, `info["commit_count"]`: live.py tells its own commits from
        other processes' by it)."""
        async with self._write_lock or contextlib.nullcontext(), self._write_sessions() as session:
            if self.live is not None:
                session.info["live"] = self.live
            async with session.begin():
                yield session
                if self.is_sqlite:
                    session.info["commit_count"] = (await session.execute(COUNT_COMMIT)).scalar_one()
            info = session.info
        if info and self.on_commit is not None:
            await self.on_commit(info)

    @asynccontextmanager
    async def read(self, *, snapshot: bool = False) -> AsyncIterator[AsyncSession]:
        """A read transaction. `snapshot=True`: all its statements see one snapshot (SQLite's deferred
        transactions already do; PostgreSQL needs REPEATABLE READ for that)."""
        async with self._read_sessions() as session:
            if snapshot and not self.is_sqlite:
                await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
                try:
                    yield session
                finally:
                    await session.rollback()  # nothing to keep: it only read
                return
            async with session.begin():
                yield session

    async def dispose(self) -> None:
        await self.writer.dispose()
        if self.reader is not self.writer:
            await self.reader.dispose()


def migrate(url: str) -> None:
    """Brings the schema to the newest Alembic revision (creates it on an empty database). A database
    already at the one head revision is left as it is without loading Alembic (~0.3 s of every start)."""
    sync_url = to_sync_url(url)
    if sync_url.startswith("sqlite:///"):
        Path(sync_url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(sync_url)
    if sync_url.startswith("sqlite"):
        event.listen(engine, "connect", _sqlite_pragmas)
    try:
        head = head_revision()
        if head is not None and _current_revisions(engine) == {head}:
            return
        from alembic import command
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        cfg.set_main_option("sqlalchemy.url", sync_url.replace("%", "%%"))
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
    finally:
        engine.dispose()


_REVISION = re.compile(r"^(down_revision|revision)\s*(?::[^=]*)?=\s*(.+?)\s*$", re.M)


def head_revision() -> str | None:
    """The newest migration's revision, read from the migration files' `revision` / `down_revision` lines;
    None when that is not one plain chain with one head (then Alembic itself decides)."""
    revisions, downs = set(), set()
    try:
        files = list((MIGRATIONS / "versions").glob("*.py"))
        for f in files:
            found = dict(m.groups() for m in _REVISION.finditer(f.read_text(encoding="utf-8")))
            rev, down = found.get("revision", ""), found.get("down_revision", "")
            if not re.fullmatch(r"'[^']+'|\"[^\"]+\"", rev) or not re.fullmatch(r"None|'[^']+'|\"[^\"]+\"", down):
                return None
            revisions.add(rev[1:-1])
            if down != "None":
                downs.add(down[1:-1])
    except OSError:
        return None
    heads = revisions - downs
    return heads.pop() if len(heads) == 1 and len(revisions) == len(files) else None


def _current_revisions(engine) -> set[str]:
    try:
        with engine.connect() as conn:
            return {row[0] for row in conn.execute(text("SELECT version_num FROM alembic_version"))}
    except Exception:  # no such table yet (a new database), or it cannot be read: Alembic decides
        return set()
