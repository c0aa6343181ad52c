"""The owner's end of day: `GET /shop/reconciliation` as JSON or (Accept: text/csv) CSV."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from ..deps import Ctx, ShopOwner
from ..errors import BadRequest, JSONResponse
from ..schemas import Money, errors
from ..services import reconciliation
from ..services.shops import get_shop

router = APIRouter(tags=["owner"])


class ReconRow(BaseModel):
    jobs_printed: int
    sheets: int = Field(description="sheets the counters submitted (as their confirms said)")
    impressions: int = Field(description="job-impressions-completed as CUPS reported it to the counters")
    pages_charged: int = Field(description="pages × copies the customers paid for")
    earned: Money
    refunds: Money


class ReconCounter(ReconRow):
    counter: str | None = Field(description="null: not at a counter (refunds, a job printed by hand)")


class ReconPrinter(ReconRow):
    printer: str | None


class Discrepancy(BaseModel):
    kind: Literal["printed_without_confirm", "confirmed_without_print_record", "failed_attempt", "reprint"]
    code: str
    file_id: int
    at: str | None
    counter: str | None
    printer: str | None
    detail: str


class ReconciliationOut(BaseModel):
    date: str
    tz: str = Field(description="the zone whose day this is (the server's own when none was given)")
    from_: str = Field(alias="from")
    to: str
    counters: list[ReconCounter]
    printers: list[ReconPrinter]
    totals: ReconRow
    discrepancies: list[Discrepancy]


@router.get("/shop/reconciliation", response_model=ReconciliationOut,
            responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}},
                             "description": "the report (JSON, or CSV for Accept: text/csv)"},
                       **errors(400, 401, 403, 404, 429)})
async def get_reconciliation(
    request: Request, o: ShopOwner, ctx: Ctx,
    date_: Annotated[str, Query(alias="date", pattern=r"^\d{4}-\d{2}-\d{2}$", description="YYYY-MM-DD, local")],
    tz: Annotated[str | None, Query(max_length=64, description="Area/City; default: the server's zone")] = None,
):
    """Owner: one local day per counter and per printer — jobs printed, sheets and impressions sent,
    pages charged, money earned, refunds — and what does not add up, each with its job code. A day
    without data is an empty report."""
    try:
        day = date.fromisoformat(date_)
    except ValueError:
        raise BadRequest(f"date: '{date_}' is not a day of the calendar (YYYY-MM-DD)") from None
    if not 1970 <= day.year < 9000:
        raise BadRequest("date: give a day between 1970 and 8999")
    async with ctx.db.read(snapshot=True) as s:
        await get_shop(s, o.shop_id)
        rep = await reconciliation.report(s, o.shop_id, day, tz)
    if "text/csv" in request.headers.get("accept", ""):
        return Response(reconciliation.as_csv(rep), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="reconciliation-{day}.csv"'})
    return JSONResponse(rep)
