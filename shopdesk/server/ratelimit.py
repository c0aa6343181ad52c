"""Rate limits kept in the database, so every server process counts against the same numbers:
a fixed one-minute window per bucket, incremented with one upsert."""

from __future__ import annotations

import time

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from .db import Database
from .errors import RateLimited
from .models import RateCounter


async def hit(db: Database, bucket: str, limit: int, what: str) -> None:
    """Counts one request in `bucket`; raises RateLimited (429 + Retry-After) past `limit` per minute."""
    if limit <= 0:
        return
    now = time.time()
    window = int(now // 60)
    insert = sqlite_insert if db.is_sqlite else pg_insert
    stmt = insert(RateCounter).values(bucket=bucket[:120], window=window, count=1)
    stmt = stmt.on_conflict_do_update(
        index_elements=[RateCounter.bucket, RateCounter.window],
        set_={"count": RateCounter.count + 1},
    ).returning(RateCounter.count)
    async with db.write() as s:
        count = (await s.execute(stmt)).scalar_one()
    if count > limit:
        retry_after = int((window + 1) * 60 - now) + 1
        raise RateLimited(f"Too many {what}: at most {limit} per minute. Try again in {retry_after} s.",
                          retry_after)


async def forget_old(db: Database) -> None:
    window = int(time.time() // 60)
    async with db.write() as s:
        await s.execute(delete(RateCounter).where(RateCounter.window < window - 1))
