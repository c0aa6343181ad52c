"""Rate limits kept in the database, so every server process counts against the same numbers.
A sliding window approximated from two fixed one-minute windows (this minute's count plus last
minute's, weighted by how much of it still lies within the last 60 s), so a burst cannot double its
allowance by straddling a minute boundary."""

from __future__ import annotations

import time

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from .db import Database
from .errors import RateLimited
from .models import RateCounter


async def hit(db: Database, bucket: str, limit: int, what: str, now: float | None = None) -> None:
    """Counts one request in `bucket`; raises RateLimited (429 + Retry-After) past `limit` per minute."""
    if limit <= 0:
        return
    now = time.time() if now is None else now
    window = int(now // 60)
    elapsed = (now % 60) / 60  # fraction of this minute already gone
    insert = sqlite_insert if db.is_sqlite else pg_insert
    stmt = insert(RateCounter).values(bucket=bucket[:120], window=window, count=1)
    stmt = stmt.on_conflict_do_update(
        index_elements=[RateCounter.bucket, RateCounter.window],
        set_={"count": RateCounter.count + 1},
    ).returning(RateCounter.count)
    async with db.write() as s:
        count = (await s.execute(stmt)).scalar_one()
        previous = (await s.execute(select(RateCounter.count).where(
            RateCounter.bucket == bucket[:120], RateCounter.window == window - 1))).scalar() or 0
    if count + previous * (1 - elapsed) > limit:
        if count > limit or previous == 0:
            retry_after = 60 * (1 - elapsed)  # only the next minute helps
        else:  # last minute's share must decay until the total fits
            retry_after = 60 * max(0.0, (1 - (limit - count) / previous) - elapsed)
        retry_after = int(retry_after) + 1
        raise RateLimited(f"Too many {what}: at most {limit} per minute. Try again in {retry_after} s.",
                          retry_after)


async def forget_old(db: Database) -> None:
    window = int(time.time() // 60)
    async with db.write() as s:
        await s.execute(delete(RateCounter).where(RateCounter.window < window - 1))
