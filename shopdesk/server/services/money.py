"""The ledger: earnings (on confirm), refunds (cancel/withdraw), payouts. Balances are sums of rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ..errors import BadRequest, Conflict, NotFound
from ..models import LedgerEntry, Payout

PAYOUT_STATUSES = ("pending", "processing", "paid")


async def totals(s: AsyncSession, shop_id: int) -> dict[str, int]:
    unsettled = (await s.execute(select(func.coalesce(func.sum(LedgerEntry.amount_cents), 0)).where(
        LedgerEntry.shop_id == shop_id, LedgerEntry.kind == "earning", LedgerEntry.payout_id.is_(None)))).scalar_one()
    rows = (await s.execute(select(Payout.status, func.coalesce(func.sum(Payout.amount_cents), 0))
                            .where(Payout.shop_id == shop_id).group_by(Payout.status))).all()
    by_status = {status: int(total) for status, total in rows}
    return {
        "unsettled": int(unsettled),
        "pending": by_status.get("pending", 0) + by_status.get("processing", 0),
        "paid": by_status.get("paid", 0),
    }


async def payouts_of(s: AsyncSession, shop_id: int | None = None) -> list[Payout]:
    q = select(Payout).order_by(Payout.id.desc())
    if shop_id is not None:
        q = q.where(Payout.shop_id == shop_id)
    return list((await s.scalars(q)).all())


async def settle(s: AsyncSession, *, shop_id: int | None, until: datetime | None = None) -> list[Payout]:
    """Turns each shop's unsettled earnings (up to `until`) into one pending payout. Rows are claimed by a
    conditional UPDATE, so two admins settling at once cannot pay the same earning twice."""
    until = until or datetime.now(UTC)
    q = (select(LedgerEntry.shop_id).where(LedgerEntry.kind == "earning", LedgerEntry.payout_id.is_(None),
                                          LedgerEntry.created_at <= until).distinct())
    if shop_id is not None:
        q = q.where(LedgerEntry.shop_id == shop_id)
    shops = [r for (r,) in (await s.execute(q)).all()]
    made: list[Payout] = []
    for sid in sorted(shops):
        payout = Payout(shop_id=sid, period_start=until, period_end=until, amount_cents=0, status="pending",
                        created_at=datetime.now(UTC))
        s.add(payout)
        await s.flush()
        await s.execute(update(LedgerEntry).where(
            LedgerEntry.shop_id == sid, LedgerEntry.kind == "earning", LedgerEntry.payout_id.is_(None),
            LedgerEntry.created_at <= until).values(payout_id=payout.id))
        agg = (await s.execute(select(func.sum(LedgerEntry.amount_cents), func.min(LedgerEntry.created_at),
                                      func.max(LedgerEntry.created_at))
                               .where(LedgerEntry.payout_id == payout.id, LedgerEntry.kind == "earning"))).one()
        if not agg[0]:
            await s.delete(payout)
            continue
        payout.amount_cents = int(agg[0])
        payout.period_start, payout.period_end = _aware(agg[1]), _aware(agg[2])
        s.add(LedgerEntry(shop_id=sid, payout_id=payout.id, kind="payout", amount_cents=-payout.amount_cents,
                          created_at=datetime.now(UTC)))
        made.append(payout)
    await s.flush()
    return made


def _aware(dt: datetime) -> datetime:
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


async def update_payout(s: AsyncSession, *, payout_id: int, status: str) -> Payout:
    if status not in ("processing", "paid"):
        raise BadRequest("status must be processing or paid")
    payout = await s.get(Payout, payout_id)
    if payout is None:
        raise NotFound(f"No payout with id {payout_id}.")
    allowed = {"processing": ("pending",), "paid": ("pending", "processing")}[status]
    res = await s.execute(update(Payout).where(Payout.id == payout_id, Payout.status.in_(allowed))
                          .values(status=status, paid_at=datetime.now(UTC) if status == "paid" else None))
    if res.rowcount != 1:
        raise Conflict(f"This payout is already {payout.status}.")
    await s.refresh(payout)
    return payout


async def earnings_series(s: AsyncSession, *, shop_id: int, group_by: str, since: datetime | None = None) -> list[dict]:
    """[{period, jobs, pages, amount_cents}] per day (YYYY-MM-DD) or ISO week (YYYY-Www), oldest first."""
    q = select(LedgerEntry.created_at, LedgerEntry.amount_cents, LedgerEntry.pages).where(
        LedgerEntry.shop_id == shop_id, LedgerEntry.kind == "earning")
    if since is not None:
        q = q.where(LedgerEntry.created_at >= since)
    buckets: dict[str, dict] = {}
    for at, amount, pages in (await s.execute(q)).all():
        at = _aware(at)
        if group_by == "week":
            y, w, _ = at.isocalendar()
            period = f"{y}-W{w:02d}"
        else:
            period = at.date().isoformat()
        b = buckets.setdefault(period, {"period": period, "jobs": 0, "pages": 0, "amount_cents": 0})
        b["jobs"] += 1
        b["pages"] += pages
        b["amount_cents"] += amount
    return [buckets[k] for k in sorted(buckets)]


def default_since(days: int = 90) -> datetime:
    return datetime.now(UTC) - timedelta(days=days)
