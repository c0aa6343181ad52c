"""The shop itself: its state and prices, open/closed (and paused when no printer is ready), each
counter's heartbeat and the counters list, and print history."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BeforeValidator
from sqlalchemy import func, or_, select

from ...domain.jobs import FINISHED
from ...domain.money import to_decimal
from ..deps import Ctx, Owner, ShopUser, public_url
from ..errors import BadRequest, JSONResponse
from ..idempotency import Once
from ..models import Job, Order, Shop
from ..schemas import CountersOut, HeartbeatIn, HistoryOut, ShopOut, ShopStatusIn, Text, errors
from ..services import counters as counter_service
from ..services import jobs as job_service
from ..services import shops as shop_service
from ..services.views import iso, job_json

router = APIRouter(tags=["shop"])


def _iso_only(value):
    """A time is written as ISO 8601 text; pydantic would also take '0.5' as seconds since 1970."""
    if isinstance(value, str) and value.strip().lstrip("+-").replace(".", "", 1).isdigit():
        raise ValueError("give a time as ISO 8601, e.g. 2026-11-22T00:00:00Z")
    return value


IsoTime = Annotated[datetime, BeforeValidator(_iso_only)]


async def shop_json(s, shop: Shop, public_url: str = "") -> dict:
    """The shop as `GET /shop` shows it; `public_url` is deps.public_url(request) (job QR codes carry
    `{public_url}/j/{code}`)."""
    prices = await shop_service.price_table(s, shop.id)
    waiting = (await s.execute(select(func.count()).select_from(Job).where(
        Job.shop_id == shop.id, Job.status.in_(job_service.WAITING_VALUES)))).scalar_one()
    can = await counter_service.availability(s, shop)
    return {
        "shop_id": shop.id, "name": shop.name, "address": shop.address, "phone": shop.phone,
        "hours": shop.hours, "is_open": shop.is_open,
        "last_heartbeat_at": iso(shop.last_heartbeat_at), "heartbeat_limit_seconds": shop.heartbeat_limit_seconds,
        "commission": (Decimal(shop.commission_bp) / 10000).quantize(Decimal("0.0001")),
        "prices": [{"color_mode": c, "paper_size": p, "price": to_decimal(cents)} for c, p, cents in prices.as_rows()],
        "waiting_jobs": waiting,
        "public_url": public_url,
        "paused": shop.is_open and can.paused,
        "unavailable": can.unavailable(),
    }


@router.get("/shop", response_model=ShopOut, responses=errors(401, 403, 429))
async def get_shop(request: Request, p: ShopUser, ctx: Ctx):
    async with ctx.db.read() as s:
        return JSONResponse(await shop_json(s, await shop_service.get_shop(s, p.shop_id), public_url(request)))


@router.post("/shop/status", response_model=ShopOut, responses=errors(400, 401, 403, 422, 429))
async def set_status(body: ShopStatusIn, request: Request, p: Owner, ctx: Ctx):
    """Owner: open or close the shop. An open shop stays open while the counter's heartbeat arrives."""
    once = await Once.begin(ctx, request, p.scope)
    if once.replay is not None:
        return once.replay

    async def handler(s, after):
        shop = await shop_service.set_open(s, shop_id=p.shop_id, is_open=body.is_open)
        return 200, await shop_json(s, shop, public_url(request))

    return await once.run(handler)


@router.post("/shop/heartbeat", response_model=ShopOut, responses=errors(400, 401, 403, 422, 429))
async def heartbeat(request: Request, p: ShopUser, ctx: Ctx, body: HeartbeatIn | None = None):
    """A counter says it is alive (every minute), as itself: its name, version and printers (what each can
    do, and whether it is ready). A job printing at a counter whose heartbeat is older than the shop's limit
    goes back to the queue; uploads are refused for settings no ready printer can do, and the shop is
    paused while none is ready. An empty body (older counters) only keeps the shop open."""
    once = await Once.begin(ctx, request, p.scope)
    if once.replay is not None:
        return once.replay

    async def handler(s, after):
        shop = await shop_service.heartbeat(s, shop_id=p.shop_id)
        if body is not None and (body.counter or body.version or body.printers is not None):
            printers = None if body.printers is None else [pr.model_dump() for pr in body.printers]
            await counter_service.record(s, shop_id=p.shop_id, counter=body.counter.strip() or p.username,
                                         version=body.version, printers=printers)
        return 200, await shop_json(s, shop, public_url(request))

    return await once.run(handler)


@router.get("/shop/counters", response_model=CountersOut, responses=errors(401, 403, 429))
async def counters(p: ShopUser, ctx: Ctx):
    """Every counter that heartbeated as itself: last seen, version, printers, live or silent."""
    async with ctx.db.read() as s:
        shop = await shop_service.get_shop(s, p.shop_id)
        can = await counter_service.availability(s, shop)
        return JSONResponse({"counters": await counter_service.counters_json(s, shop),
                             "paused": shop.is_open and can.paused, "unavailable": can.unavailable()})


EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)


def _utc_bound(name: str, value: datetime | None) -> datetime | None:
    """A query time in UTC, clamped to 1970..9000 (nothing older or newer exists; 0001-01-01+14:00 would
    overflow when converted)."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise BadRequest(f"{name}: give a time zone, e.g. 2026-11-22T00:00:00Z")
    if value.year <= 1970:
        return EARLIEST
    if value.year >= 9000:
        return LATEST
    try:
        return value.astimezone(UTC)
    except (OverflowError, ValueError) as exc:
        raise BadRequest(f"{name}: the time is out of range") from exc


@router.get("/shop/history", response_model=HistoryOut, responses=errors(400, 401, 403, 429))
async def history(
    p: ShopUser, ctx: Ctx,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    search: Annotated[Text | None, Query(max_length=100, description="code, file name or customer")] = None,
    status: Literal["downloaded", "cancelled", "withdrawn"] | None = None,
    from_: Annotated[IsoTime | None, Query(alias="from")] = None,
    to: Annotated[IsoTime | None, Query()] = None,
):
    """Finished jobs (printed, cancelled, withdrawn), newest first."""
    from_, to = _utc_bound("from", from_), _utc_bound("to", to)
    where = [Job.shop_id == p.shop_id, Job.status.in_([st.value for st in FINISHED])]
    if status:
        where.append(Job.status == status)
    if from_ is not None:
        where.append(Job.updated_at >= from_)
    if to is not None:
        where.append(Job.updated_at <= to)
    if search and search.strip():
        term = f"%{search.strip().lower()}%"
        where.append(or_(func.lower(Job.code).like(term), func.lower(Job.original_name).like(term),
                         func.lower(Order.customer_name).like(term)))
    async with ctx.db.read() as s:
        base = select(Job, Order.customer_name).join(Order, Order.id == Job.order_id).where(*where)
        total = (await s.execute(select(func.count()).select_from(base.subquery()))).scalar_one()
        rows = (await s.execute(base.order_by(Job.updated_at.desc(), Job.id.desc()).limit(limit).offset(offset))).all()
    jobs = []
    for job, customer in rows:
        j = job_json(job)
        j["customer_name"] = customer
        jobs.append(j)
    return JSONResponse({"jobs": jobs, "total": total, "limit": limit, "offset": offset})
