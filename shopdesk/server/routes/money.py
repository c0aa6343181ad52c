"""Money: the owner's payouts and earnings series; the platform admin's settle, update and export."""

from __future__ import annotations

import csv
import io
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import Response
from sqlalchemy import select

from ...domain.money import format_amount, to_decimal
from ..deps import Admin, Ctx, Owner
from ..errors import JSONResponse
from ..idempotency import Once
from ..models import Payout, Shop
from ..schemas import EarningsPoint, Id, PayoutOut, PayoutsOut, PayoutUpdateIn, SettleIn, SettleOut, errors
from ..services import money as money_service
from ..services.views import iso

router = APIRouter(tags=["money"])


def payout_json(p: Payout) -> dict:
    return {"id": p.id, "shop_id": p.shop_id, "period_start": iso(p.period_start), "period_end": iso(p.period_end),
            "amount": to_decimal(p.amount_cents), "status": p.status, "paid_at": iso(p.paid_at)}


@router.get("/shopkeeper/payouts", response_model=PayoutsOut, responses=errors(401, 403, 429))
async def payouts(p: Owner, ctx: Ctx):
    async with ctx.db.read() as s:
        rows = await money_service.payouts_of(s, p.shop_id)
        totals = await money_service.totals(s, p.shop_id)
    return JSONResponse({"payouts": [payout_json(r) for r in rows],
                         "totals": {k: to_decimal(v) for k, v in totals.items()}})


@router.get("/shopkeeper/earnings", response_model=list[EarningsPoint], responses=errors(400, 401, 403, 429))
async def earnings(p: Owner, ctx: Ctx, group_by: Literal["day", "week"] = "day",
                   days: Annotated[int, Query(ge=1, le=3660)] = 90):
    """Earnings per day or ISO week, for the chart (last `days` days)."""
    async with ctx.db.read() as s:
        series = await money_service.earnings_series(s, shop_id=p.shop_id, group_by=group_by,
                                                     since=money_service.default_since(days))
    return JSONResponse([{"period": b["period"], "jobs": b["jobs"], "pages": b["pages"],
                          "amount": to_decimal(b["amount_cents"])} for b in series])


@router.post("/admin/payouts/settle", response_model=SettleOut, responses=errors(400, 401, 403, 422, 429))
async def settle(request: Request, p: Admin, ctx: Ctx, body: Annotated[SettleIn, Body()] = None):
    """Turns unsettled earnings (of one shop, or of every shop) into pending payouts."""
    body = body or SettleIn()
    once = await Once.begin(ctx, request, p.scope)
    if once.replay is not None:
        return once.replay

    async def handler(s, after):
        made = await money_service.settle(s, shop_id=body.shop_id)
        return 200, {"payouts": [payout_json(m) for m in made]}

    return await once.run(handler)


@router.put("/admin/payouts/{payout_id:int}", response_model=PayoutOut, responses=errors(400, 401, 403, 404, 409, 429))
async def update_payout(payout_id: Id, body: PayoutUpdateIn, p: Admin, ctx: Ctx):
    """Marks a payout processing or paid."""
    async with ctx.db.write() as s:
        payout = await money_service.update_payout(s, payout_id=payout_id, status=body.status)
        out = payout_json(payout)
    return JSONResponse(out)


@router.get("/admin/payouts/export", responses={200: {"content": {"text/csv": {}}, "description": "CSV"},
                                               **errors(401, 403, 429)}, response_class=Response)
async def export(p: Admin, ctx: Ctx):
    async with ctx.db.read() as s:
        rows = await money_service.payouts_of(s)
        names = {sh.id: sh.name for sh in (await s.scalars(select(Shop))).all()}
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["payout_id", "shop_id", "shop_name", "period_start", "period_end", "amount", "status", "paid_at"])
    for r in rows:
        w.writerow([r.id, r.shop_id, names.get(r.shop_id, ""), iso(r.period_start), iso(r.period_end),
                    format_amount(r.amount_cents), r.status, iso(r.paid_at) or ""])
    return Response(buf.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="payouts.csv"'})
