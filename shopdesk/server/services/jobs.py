"""Job moves (the state machine applied to rows), queue reads and the audit trail."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ...domain.codes import is_job_code
from ...domain.jobs import (
    TRANSITIONS,
    WAITING,
    IllegalMove,
    JobStatus,
    Move,
    NothingToCancel,
    OrderPrinting,
    check_cancel_order,
    check_move,
)
from ...domain.money import share
from .. import signals
from ..errors import BadRequest, Conflict, Forbidden, NotFound
from ..models import AuditEntry, Job, LedgerEntry, Order, Shop
from . import webhooks

WAITING_VALUES = [s.value for s in WAITING]


async def bump_queue(s: AsyncSession, shop_id: int) -> None:
    rev = (await s.execute(update(Shop).where(Shop.id == shop_id).values(queue_rev=Shop.queue_rev + 1)
                           .returning(Shop.queue_rev))).scalar_one()
    await signals.queue_changed(s, shop_id, rev)  # every server process learns the new revision on commit


async def job_by_id(s: AsyncSession, file_id: int, shop_id: int) -> Job:
    job = await s.get(Job, file_id)
    if job is None:
        raise NotFound(f"No job with id {file_id}.")
    if job.shop_id != shop_id:
        raise Forbidden("This job belongs to another shop.")
    return job


async def job_by_code(s: AsyncSession, code: str) -> Job:
    job = (await s.scalars(select(Job).where(Job.code == code))).first() if is_job_code(code) else None
    if job is None:
        shown = code[:12].encode("utf-8", "replace").decode()
        raise NotFound(f"No job with code '{shown}'. Check the code and try again.")
    return job


async def move(s: AsyncSession, *, job: Job, move: Move, actor: str, counter: str | None = None,
               printer: str | None = None, reason: str | None = None, idempotency_key: str | None = None,
               now: datetime | None = None, impressions: int | None = None, sheets: int | None = None,
               unmoved_since: datetime | None = None) -> Job:
    """Applies one move as a conditional UPDATE (the state check and the write are one statement, so
    racing counters get exactly one winner), writes the audit entry, the money that goes with it and the
    webhook deliveries it emits (all in the caller's transaction). `impressions`/`sheets`: what the
    counter read from CUPS, kept with a confirmed job for the reconciliation. `unmoved_since`: the job's
    `updated_at` when the caller decided on the move (the sweeper): a job moved since is not moved."""
    now = now or datetime.now(UTC)
    t = TRANSITIONS[move]
    # Moves of one order are serialised on the order row, and the job's state is read after that lock.
    # SQLite serialises writers itself (every write transaction begins IMMEDIATE, db.py), and every
    # caller loaded `job` inside this transaction: the two statements would be round trips that lock
    # and learn nothing (each costs the request ~4 awaits through the whole middleware stack).
    if s.bind.dialect.name == "sqlite":
        status, holder, updated_at = job.status, job.counter, job.updated_at
    else:
        await s.execute(select(Order.id).where(Order.id == job.order_id).with_for_update())
        status, holder, updated_at = (await s.execute(
            select(Job.status, Job.counter, Job.updated_at).where(Job.id == job.id))).one()
    previous = JobStatus(status)
    if unmoved_since is not None and updated_at != unmoved_since:
        raise Conflict("This job moved since it was looked at; it is left as it is.")
    try:  # the domain's rules: the move from this state, and who may report a failed print
        check_move(move, previous, holder or "another counter", holder=holder, reporter=counter)
    except IllegalMove as exc:
        raise Conflict(str(exc)) from None
    values: dict = {"status": t.target.value, "updated_at": now}
    if move is Move.PRINT_STARTED:
        values.update(printer=printer, counter=counter, attempts=Job.attempts + 1, last_failure=None)
    elif move in (Move.PRINT_FAILED, Move.REQUEUE):
        values.update(last_failure=reason)
    elif move in (Move.CANCEL, Move.WITHDRAW):
        values.update(cancel_reason=reason, cancelled_by=actor, cancelled_at=now)
    elif move is Move.CONFIRM:
        if printer:
            values.update(printer=printer)
        if counter and not holder:  # printed by hand: the confirming counter printed it
            values.update(counter=counter)
        values.update(impressions=impressions, sheets=sheets)
    # Still conditional: the lock above is the belt, this WHERE is the braces.
    updated = (await s.scalars(
        update(Job).where(Job.id == job.id, Job.status == previous.value,
                          *([Job.updated_at == unmoved_since] if unmoved_since is not None else [])).values(**values)
        .returning(Job).execution_options(populate_existing=True)
    )).first()
    if updated is None:
        raise Conflict("This job was changed by another counter at the same moment; refresh and try again.")
    s.add(AuditEntry(file_id=job.id, order_id=job.order_id, shop_id=job.shop_id, at=now, move=move.value,
                     from_status=previous.value, to_status=t.target.value, actor=actor,
                     counter=counter or (updated.counter if move is Move.CONFIRM else None),
                     printer=printer, reason=reason, idempotency_key=idempotency_key))
    if move is Move.CONFIRM:
        commission_bp = (await s.execute(select(Shop.commission_bp).where(Shop.id == job.shop_id))).scalar_one()
        earned = updated.cost_cents - share(updated.cost_cents, commission_bp)
        s.add(LedgerEntry(shop_id=job.shop_id, file_id=job.id, kind="earning", amount_cents=earned,
                          pages=updated.num_pages * updated.copies, created_at=now))
    elif move in (Move.CANCEL, Move.WITHDRAW):
        s.add(LedgerEntry(shop_id=job.shop_id, file_id=job.id, kind="refund", amount_cents=updated.cost_cents,
                          created_at=now))
    await webhooks.emit_move(s, updated, move, now)
    await bump_queue(s, job.shop_id)
    return updated


async def cancel_order(s: AsyncSession, *, job: Job, actor: str, reason: str,
                       idempotency_key: str | None = None) -> list[Job]:
    """Cancels every still-waiting file of the job's order; refuses while any file is printing."""
    await s.execute(select(Order.id).where(Order.id == job.order_id).with_for_update())
    files = list((await s.scalars(select(Job).where(Job.order_id == job.order_id).order_by(Job.id))).all())
    try:
        waiting = check_cancel_order(files)
    except OrderPrinting as exc:
        raise BadRequest(str(exc)) from None
    except NothingToCancel as exc:
        raise Conflict(str(exc)) from None
    return [await move(s, job=f, move=Move.CANCEL, actor=actor, reason=reason, idempotency_key=idempotency_key)
            for f in waiting]


async def queue_rev(s: AsyncSession, shop_id: int) -> int:
    return (await s.execute(select(Shop.queue_rev).where(Shop.id == shop_id))).scalar_one()


async def waiting_orders(s: AsyncSession, shop_id: int) -> list[tuple[Order, list[Job]]]:
    """Orders with a file still waiting or printing, oldest first, each with all its files."""
    waiting_ids = select(Job.order_id).where(Job.shop_id == shop_id, Job.status.in_(WAITING_VALUES))
    rows = (await s.execute(
        select(Order, Job).join(Job, Job.order_id == Order.id)
        .where(Order.id.in_(waiting_ids)).order_by(Order.id, Job.id)
    )).all()
    out: list[tuple[Order, list[Job]]] = []
    for order, job in rows:
        if not out or out[-1][0].id != order.id:
            out.append((order, []))
        out[-1][1].append(job)
    return out


async def queue_position(s: AsyncSession, order: Order) -> int | None:
    """1 for the order at the front of the shop's queue; None once nothing of it is waiting."""
    waiting = (await s.execute(
        select(func.count()).select_from(Job).where(Job.order_id == order.id, Job.status.in_(WAITING_VALUES))
    )).scalar_one()
    if not waiting:
        return None
    ahead = (await s.execute(
        select(func.count(func.distinct(Job.order_id))).where(
            Job.shop_id == order.shop_id, Job.status.in_(WAITING_VALUES), Job.order_id < order.id)
    )).scalar_one()
    return ahead + 1


async def audit_of(s: AsyncSession, file_id: int) -> list[AuditEntry]:
    return list((await s.scalars(select(AuditEntry).where(AuditEntry.file_id == file_id)
                                 .order_by(AuditEntry.id))).all())


async def sha_still_needed(s: AsyncSession, sha256: str) -> bool:
    n = (await s.execute(select(func.count()).select_from(Job).where(
        Job.sha256 == sha256, Job.status.in_(WAITING_VALUES)))).scalar_one()
    return n > 0
