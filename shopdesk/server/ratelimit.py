"""Rate limits. Per client address (anonymous routes: uploads, logins, the customer pages) they are kept
in the database, so every server process counts against the same small numbers (5 uploads a minute);
per token (every authenticated request) they are counted in memory by each process (`LocalLimiter`),
so reading the queue writes nothing.
A sliding window approximated from two fixed one-minute windows (this minute's count plus last
minute's, weighted by how much of it still lies within the last 60 s), so a burst cannot double its
allowance by straddling a minute boundary.

Counting is a write, and on SQLite writes queue one at a time: 45 clients flooding an anonymous route
made every logged-in request wait behind their 45 counter writes (bench/abuse.py: GET /queue p95 ×4.5).
So hits are group-committed: the hits that arrive while a batch is being written are counted together
in the next single transaction, and each still gets its own exact count before it is answered."""

from __future__ import annotations

import asyncio
import math
import time
import weakref

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from .db import Database
from .errors import RateLimited
from .models import RateCounter


class _Batcher:
    """One per Database (per process): hits waiting for the next transaction, and the task writing them."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.pending: dict[tuple[str, int], list[asyncio.Future]] = {}
        self.writer: asyncio.Task | None = None

    async def count(self, bucket: str, window: int) -> tuple[int, int]:
        """This hit's number in `window`, and last window's count."""
        fut = asyncio.get_running_loop().create_future()
        self.pending.setdefault((bucket, window), []).append(fut)
        if self.writer is None or self.writer.done():
            self.writer = asyncio.create_task(self._write_batches())
        return await fut

    async def _write_batches(self) -> None:
        while self.pending:
            batch, self.pending = self.pending, {}
            insert = sqlite_insert if self.db.is_sqlite else pg_insert
            results: dict[tuple[str, int], tuple[int, int]] = {}
            try:
                async with self.db.write() as s:
                    for (bucket, window), futs in batch.items():
                        stmt = insert(RateCounter).values(bucket=bucket, window=window, count=len(futs))
                        stmt = stmt.on_conflict_do_update(
                            index_elements=[RateCounter.bucket, RateCounter.window],
                            set_={"count": RateCounter.count + len(futs)},
                        ).returning(RateCounter.count)
                        count = (await s.execute(stmt)).scalar_one()
                        previous = (await s.execute(select(RateCounter.count).where(
                            RateCounter.bucket == bucket, RateCounter.window == window - 1))).scalar() or 0
                        results[(bucket, window)] = (count, previous)
            except Exception as exc:  # every hit of the batch hears of it
                for futs in batch.values():
                    for f in futs:
                        if not f.done():
                            f.set_exception(exc)
                continue
            for key, futs in batch.items():
                count, previous = results[key]
                first = count - len(futs) + 1
                for i, f in enumerate(futs):
                    if not f.done():
                        f.set_result((first + i, previous))


_batchers: weakref.WeakKeyDictionary[Database, _Batcher] = weakref.WeakKeyDictionary()


def _check(count: int, previous: int, elapsed: float, limit: int, what: str, shown: int | None = None) -> None:
    """Raises RateLimited when this minute's `count` plus the still-counting share of last minute's
    `previous` is over `limit`; `elapsed` is the fraction of this minute already gone."""
    if count + previous * (1 - elapsed) > limit:
        if count > limit or previous == 0:
            retry_after = 60 * (1 - elapsed)  # only the next minute helps
        else:  # last minute's share must decay until the total fits
            retry_after = 60 * max(0.0, (1 - (limit - count) / previous) - elapsed)
        retry_after = int(retry_after) + 1
        raise RateLimited(f"Too many {what}: at most {shown or limit} per minute. Try again in {retry_after} s.",
                          retry_after)


async def hit(db: Database, bucket: str, limit: int, what: str, now: float | None = None) -> None:
    """Counts one request in `bucket`; raises RateLimited (429 + Retry-After) past `limit` per minute."""
    if limit <= 0:
        return
    now = time.time() if now is None else now
    window = int(now // 60)
    elapsed = (now % 60) / 60  # fraction of this minute already gone
    batcher = _batchers.get(db)
    if batcher is None:
        batcher = _batchers[db] = _Batcher(db)
    count, previous = await batcher.count(bucket[:120], window)
    _check(count, previous, elapsed, limit, what)


class LocalLimiter:
    """The same sliding window, counted in this process's memory: no database write per request. With
    N server processes each allows `ceil(limit / N)` (`per_process`), so all of them together never
    allow more than the limit (a client whose requests all reach one process gets that process's share)."""

    def __init__(self, workers: int = 1) -> None:
        self.workers = max(1, workers)
        self._counts: dict[str, tuple[int, int, int]] = {}  # bucket → (window, count, previous count)
        self._window = 0

    def per_process(self, limit: int) -> int:
        return limit if limit <= 0 else max(1, math.ceil(limit / self.workers))

    def hit(self, bucket: str, limit: int, what: str, now: float | None = None) -> None:
        """Counts one request in `bucket`; raises RateLimited past this process's share of `limit`."""
        share = self.per_process(limit)
        if share <= 0:
            return
        now = time.time() if now is None else now
        window = int(now // 60)
        if window != self._window:  # once a minute: forget buckets with nothing in the last two minutes
            self._window = window
            self._counts = {b: c for b, c in self._counts.items() if c[0] >= window - 1}
        w, count, previous = self._counts.get(bucket, (window, 0, 0))
        if w != window:
            count, previous = 0, (count if w == window - 1 else 0)
        count += 1
        self._counts[bucket] = (window, count, previous)
        # this process enforces its share; the words name the whole limit
        _check(count, previous, (now % 60) / 60, share, what, shown=limit)


async def forget_old(db: Database) -> None:
    window = int(time.time() // 60)
    async with db.write() as s:
        await s.execute(delete(RateCounter).where(RateCounter.window < window - 1))
