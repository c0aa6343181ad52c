"""Liveness and a database check."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text

from ... import __version__
from ..deps import Ctx
from ..errors import JSONResponse
from ..schemas import HealthOut, errors

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=HealthOut, responses={503: errors(400)[400] | {"description": "database down"}})
async def healthz(ctx: Ctx):
    try:
        async with ctx.db.read() as s:
            await s.execute(text("SELECT 1"))
    except Exception:
        return JSONResponse({"error": "The database is not reachable."}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok", "version": __version__})
