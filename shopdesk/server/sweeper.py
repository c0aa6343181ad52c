"""Housekeeping that runs in every server process (each step is safe to run concurrently):
closes shops whose heartbeat went stale, returns jobs printing at a counter that stopped answering, and
jobs stuck in `printing` at a silent shop, to the queue (audited), and forgets old idempotency keys, rate
counters, expired tokens, counters not heard from for a week, webhook deliveries sent or given up more
than a month ago, and orphaned files.

Two rules for a printing job, because older counters do not heartbeat as themselves:
- the job's counter heartbeats as itself (it has a `counters` row): the job goes back once that
  counter's heartbeat and the job itself are both older than the shop's heartbeat limit, whatever the
  shop's other counters do ("counter 'Front' stopped answering");
- it never did: the shop-level rule of before — back once the whole shop has been silent (and the job
  unmoved) for `requeue_after_seconds`."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select, update

from ..domain.jobs import JobStatus, Move
from . import convert, idempotency, logins, ratelimit
from .context import ServerContext
from .models import Counter, Job, Shop, Token, WebhookDelivery
from .services import jobs as job_service
from .services import webhooks
from .services.files import discard_unused

DELIVERIES_KEPT = timedelta(days=30)  # delivered or failed webhook deliveries, then forgotten

log = logging.getLogger("shopdesk.server.sweeper")


async def close_stale_shops(ctx: ServerContext, now: datetime | None = None) -> list[int]:
    now = now or datetime.now(UTC)
    closed: list[int] = []
    async with ctx.db.write() as s:
        for shop in (await s.scalars(select(Shop).where(Shop.is_open.is_(True)))).all():
            last = shop.last_heartbeat_at
            if last is None or last < now - timedelta(seconds=shop.heartbeat_limit_seconds):
                res = await s.execute(update(Shop).where(Shop.id == shop.id, Shop.is_open.is_(True))
                                      .values(is_open=False))
                if res.rowcount:
                    closed.append(shop.id)
                    await webhooks.emit_shop(s, shop.id, False, now)
    for shop_id in closed:
        log.info("closed shop %s: no heartbeat for its limit", shop_id)
    return closed


async def requeue_stuck_jobs(ctx: ServerContext, now: datetime | None = None) -> list[int]:
    """Jobs in `printing` whose shop has been silent for `requeue_after_seconds` (and that have not moved
    for as long) go back to `uploaded`, so another counter can print them."""
    now = now or datetime.now(UTC)
    cutoff = now - timedelta(seconds=ctx.settings.requeue_after_seconds)
    moved: list[int] = []
    async with ctx.db.write() as s:
        rows = (await s.execute(select(Job, Shop.last_heartbeat_at).join(Shop, Shop.id == Job.shop_id).where(
            Job.status == JobStatus.PRINTING.value, Job.updated_at < cutoff))).all()
        for job, last_beat in rows:
            if last_beat is not None and last_beat >= cutoff:
                continue
            try:
                await job_service.move(s, job=job, move=Move.REQUEUE, actor="system", now=now,
                                       unmoved_since=job.updated_at,
                                       reason=f"no word from {job.counter or 'the counter'} for "
                                              f"{ctx.settings.requeue_after_seconds // 60} min; back in the queue")
            except Exception as exc:  # another process moved it first
                log.info("requeue of job %s skipped: %s", job.id, exc)
                continue
            moved.append(job.id)
    for job_id in moved:
        log.warning("job %s was stuck in printing; returned to the queue", job_id)
    if moved:
        async with ctx.db.read() as s:
            shops = set((await s.scalars(select(Job.shop_id).where(Job.id.in_(moved)))).all())
        for sid in shops:
            ctx.notifier.poke(sid)
    return moved


async def requeue_at_silent_counters(ctx: ServerContext, now: datetime | None = None) -> list[int]:
    """Jobs in `printing` at a counter that heartbeats as itself but has not for the shop's limit (and that
    have not moved for as long) go back to `uploaded`; the shop's other counters are not looked at."""
    now = now or datetime.now(UTC)
    moved: list[tuple[int, int]] = []
    async with ctx.db.write() as s:
        rows = (await s.execute(
            select(Job, Counter.last_seen_at, Shop.heartbeat_limit_seconds)
            .join(Counter, (Counter.shop_id == Job.shop_id) & (Counter.name == Job.counter))
            .join(Shop, Shop.id == Job.shop_id)
            .where(Job.status == JobStatus.PRINTING.value))).all()
        for job, last_seen, limit in rows:
            cutoff = now - timedelta(seconds=limit)
            if last_seen >= cutoff or job.updated_at >= cutoff:
                continue
            try:
                await job_service.move(s, job=job, move=Move.REQUEUE, actor="system", now=now,
                                       counter=job.counter, unmoved_since=job.updated_at,
                                       reason=f"counter '{job.counter}' stopped answering (no heartbeat for "
                                              f"{int((now - last_seen).total_seconds())} s); back in the queue")
            except Exception as exc:  # another process moved it first
                log.info("requeue of job %s skipped: %s", job.id, exc)
                continue
            moved.append((job.id, job.shop_id))
    for job_id, _shop in moved:
        log.warning("job %s was printing at a counter that stopped answering; returned to the queue", job_id)
    for sid in {shop for _job, shop in moved}:
        ctx.notifier.poke(sid)
    return [job_id for job_id, _shop in moved]


async def forget_expired(ctx: ServerContext) -> None:
    now = datetime.now(UTC)
    await idempotency.forget_old(ctx)
    await ratelimit.forget_old(ctx.db)
    await logins.forget_old(ctx.db, ctx.settings)
    async with ctx.db.write() as s:
        await s.execute(delete(Token).where(Token.expires_at < now - timedelta(days=1)))
        await s.execute(delete(Counter).where(Counter.last_seen_at < now - timedelta(days=7)))
        # a webhook's history: what was sent (or given up) is kept a month for the owner to look at
        await s.execute(delete(WebhookDelivery).where(WebhookDelivery.status.in_(("delivered", "failed")),
                                                      WebhookDelivery.created_at < now - DELIVERIES_KEPT))


async def collect_orphans(ctx: ServerContext) -> None:
    """Stored files that no waiting job refers to (e.g. after a crash between commit and clean-up)."""
    stored = ctx.store.stored_hashes()
    if stored:
        await discard_unused(ctx, list(stored))
    s = ctx.settings
    await asyncio.to_thread(convert.trim_cache, s.conversions_dir, s.convert_cache_hours * 3600,
                            s.convert_cache_entries)


async def sweep_once(ctx: ServerContext) -> None:
    await close_stale_shops(ctx)
    await requeue_at_silent_counters(ctx)
    await requeue_stuck_jobs(ctx)
    await forget_expired(ctx)


async def run_forever(ctx: ServerContext) -> None:
    rounds = 0
    while True:
        try:
            await sweep_once(ctx)
            if rounds % 20 == 0:
                await collect_orphans(ctx)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("sweep failed; will retry")
        rounds += 1
        await asyncio.sleep(ctx.settings.sweep_interval_seconds)
