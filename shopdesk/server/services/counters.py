"""Counters: each counter's own heartbeat (last seen, version, its printers and what each can do now),
what the shop can print from its live counters' ready printers, and the counters list for the owner."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from ...domain.availability import Availability
from ..models import Counter, Shop
from .views import iso


async def record(s: AsyncSession, *, shop_id: int, counter: str, version: str, printers: list[dict] | None,
                 now: datetime | None = None) -> None:
    """One counter's heartbeat: its row is created or brought up to date (one statement, so two server
    processes taking the same counter's heartbeats at once cannot collide)."""
    now = now or datetime.now(UTC)
    values = {"last_seen_at": now, "version": version,
              "printers": None if printers is None else json.dumps(printers, separators=(",", ":"))}
    insert = pg_insert if s.bind.dialect.name == "postgresql" else sqlite_insert
    stmt = insert(Counter).values(shop_id=shop_id, name=counter, first_seen_at=now, **values)
    await s.execute(stmt.on_conflict_do_update(index_elements=["shop_id", "name"], set_=values))


def _printers(row: Counter) -> list[dict] | None:
    if row.printers is None:
        return None
    try:
        return json.loads(row.printers)
    except ValueError:
        return None


def is_live(row: Counter, shop: Shop, now: datetime) -> bool:
    return row.last_seen_at >= now - timedelta(seconds=shop.heartbeat_limit_seconds)


async def availability(s: AsyncSession, shop: Shop, now: datetime | None = None) -> Availability:
    """What the shop can print now: the ready printers of the counters heard from within its limit."""
    now = now or datetime.now(UTC)
    cutoff = now - timedelta(seconds=shop.heartbeat_limit_seconds)
    rows = (await s.scalars(select(Counter).where(Counter.shop_id == shop.id, Counter.last_seen_at >= cutoff,
                                                  Counter.printers.is_not(None)))).all()
    return Availability.from_reports(_printers(r) for r in rows)


async def counters_json(s: AsyncSession, shop: Shop, now: datetime | None = None) -> list[dict]:
    now = now or datetime.now(UTC)
    rows = (await s.scalars(select(Counter).where(Counter.shop_id == shop.id).order_by(Counter.name))).all()
    return [{"counter": r.name, "last_seen_at": iso(r.last_seen_at), "version": r.version,
             "state": "live" if is_live(r, shop, now) else "silent", "printers": _printers(r)} for r in rows]
