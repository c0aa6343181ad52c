"""The shop's queue: long-polled list with ETags, files of an order, downloads, and the job moves
(print-started, print-failed, confirm, cancel), by file id or by code."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import FileResponse, Response
from sqlalchemy import select

from ...domain.jobs import JobStatus, Move
from ...domain.money import to_decimal
from ..deps import Ctx, ShopUser
from ..errors import Forbidden, JSONResponse, NotFound
from ..idempotency import Once
from ..models import Job, Order
from ..schemas import (
    AuditOut,
    CancelOut,
    ConfirmIn,
    FailedIn,
    Id,
    JobOut,
    JobWithOrderOut,
    OrderOut,
    PrintStartedIn,
    ReasonIn,
    errors,
)
from ..services import jobs as job_service
from ..services.files import discard_unused
from ..services.views import audit_json, job_json, order_json

router = APIRouter(tags=["queue"])
# A stored file is served with the type its content was found to be on upload.
FILE_TYPES = {t: {"schema": {"type": "string", "format": "binary"}}
              for t in ("application/pdf", "image/png", "image/jpeg")}


def _etag(shop_id: int, rev: int) -> str:
    return f'"q{shop_id}-{rev}"'


def _matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
    return etag in tags or "*" in tags


@router.get("/queue", response_model=list[OrderOut], responses={304: {"description": "Not modified"},
                                                                **errors(400, 401, 403, 429)})
async def get_queue(request: Request, p: ShopUser, ctx: Ctx,
                    wait: Annotated[int, Query(ge=0, le=30, description="hold up to N s for a change")] = 0):
    """Orders waiting at this shop, oldest first. `If-None-Match` → 304; with `wait`, the 304 comes only
    after N seconds without a change, and a change answers at once (long-poll)."""
    shop_id = p.shop_id
    inm = request.headers.get("if-none-match")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    while True:
        event = ctx.notifier.event(shop_id)  # taken before the read, so a change after it still wakes us
        rev = await _queue_rev(ctx, shop_id)
        etag = _etag(shop_id, rev)
        if not _matches(inm, etag):
            break
        remaining = deadline - loop.time()
        if remaining <= 0 or ctx.closing or await request.is_disconnected():
            return Response(status_code=304, headers={"ETag": etag, "Cache-Control": "no-cache"})
        try:
            await asyncio.wait_for(event.wait(), timeout=min(remaining, ctx.settings.longpoll_check_seconds))
        except TimeoutError:
            pass
    cached = ctx.queue_cache.get(shop_id)
    if cached is not None and cached[0] == rev:
        body = cached[1]  # several counters polling one shop share one rendering per change
    else:
        stamp = ctx.live.stamp()
        async with ctx.db.read(snapshot=True) as s:
            rev = await job_service.queue_rev(s, shop_id)
            orders = await job_service.waiting_orders(s, shop_id)
            body = JSONResponse([order_json(o, js) for o, js in orders]).body
        ctx.queue_cache[shop_id] = (rev, body)
        ctx.live.note_rev(shop_id, rev, stamp)
    return Response(body, media_type="application/json",
                    headers={"ETag": _etag(shop_id, rev), "Cache-Control": "no-cache"})


async def _queue_rev(ctx, shop_id: int) -> int:
    """The shop's queue revision: from memory while it is known current there (live.py), so an unchanged
    queue's 304 and a waiting long-poll read nothing; else one small read."""
    ctx.live.refresh()  # SQLite: another connection's commit since the last look → read again
    rev = ctx.live.queue_rev(shop_id)
    if rev is None:
        stamp = ctx.live.stamp()
        async with ctx.db.read() as s:
            rev = ctx.live.note_rev(shop_id, await job_service.queue_rev(s, shop_id), stamp)
    return rev


@router.get("/queue/download/{file_id}", responses={200: {"content": FILE_TYPES,
                                                          "description": "the file's bytes"},
                                                    **errors(401, 403, 404, 429)},
            response_class=Response)
async def download(file_id: Id, p: ShopUser, ctx: Ctx):
    """The file's bytes, streamed, with Content-Length, Content-Type and an ETag of its SHA-256."""
    async with ctx.db.read() as s:
        job = await job_service.job_by_id(s, file_id, p.shop_id)
    return _file_response(ctx, job)


class _FileResponse(FileResponse):
    """Read and sent in 1 MiB pieces instead of Starlette's 64 KiB: a counter's download of a 50 MB file is
    ~50 hand-offs to a thread and sends on the event loop instead of ~800 (the moves of other counters,
    and this counter's own print-started sent beside the download, wait less for the loop)."""

    chunk_size = 1024 * 1024


def _file_response(ctx, job: Job) -> FileResponse:
    # Files are stored once per content, so the bytes may still be on disk for another shop's waiting
    # job: a job's file is reachable only while that job itself waits or prints.
    path = ctx.store.path_for(job.sha256)
    if job.status not in job_service.WAITING_VALUES or not path.exists():
        raise NotFound(f"The file of job {job.code} is no longer stored (it was {JobStatus(job.status).label}).")
    return _FileResponse(path, media_type=job.content_type, filename=job.original_name,
                         headers={"ETag": f'"{job.sha256}"', "Cache-Control": "private, no-transform",
                                  "X-Content-Type-Options": "nosniff",
                                  "Content-Security-Policy": "sandbox; default-src 'none'"})


@router.get("/queue/{order_id}/files", response_model=list[JobOut], responses=errors(401, 403, 404, 429))
async def order_files(order_id: Id, p: ShopUser, ctx: Ctx):
    async with ctx.db.read() as s:
        order = await s.get(Order, order_id)
        if order is None:
            raise NotFound(f"No order with id {order_id}.")
        if order.shop_id != p.shop_id:
            raise Forbidden("This order belongs to another shop.")
        files = (await s.scalars(select(Job).where(Job.order_id == order_id).order_by(Job.id))).all()
    return JSONResponse([job_json(j) for j in files])


# --- moves --------------------------------------------------------------------------------------------

async def _run_move(request: Request, ctx, p, *, find, move: Move, counter=None, printer=None, reason=None,
                    impressions=None, sheets=None):
    once = await Once.begin(ctx, request, p.scope, deferred=True)  # looked up in the move's own transaction

    async def handler(s, after):
        job = await find(s)
        done = await job_service.move(s, job=job, move=move, actor=p.username, counter=counter or None,
                                      printer=printer or None, reason=reason, idempotency_key=once.key,
                                      impressions=impressions, sheets=sheets)
        after.append(lambda: ctx.notifier.poke(done.shop_id))
        if move is Move.CONFIRM:
            after.append(lambda: discard_unused(ctx, [done.sha256]))
        return 200, job_json(done)

    return await once.run(handler)


def _by_id(file_id: Id, p):
    async def find(s):
        return await job_service.job_by_id(s, file_id, p.shop_id)
    return find


def _by_code(code: str, p):
    async def find(s):
        job = await job_service.job_by_code(s, code)
        if job.shop_id != p.shop_id:
            raise Forbidden("This job belongs to another shop.")
        return job
    return find


_MOVE_ERRORS = errors(400, 401, 403, 404, 409, 422, 429)


@router.post("/queue/{file_id}/cancel", response_model=CancelOut, responses=_MOVE_ERRORS)
async def cancel(file_id: Id, request: Request, p: ShopUser, ctx: Ctx, body: Annotated[ReasonIn, Body()] = None):
    """Cancels the whole order of this file (every file still waiting); refused while one is printing."""
    body = body or ReasonIn()
    reason = body.reason.strip() or "cancelled by the shop"
    once = await Once.begin(ctx, request, p.scope)
    if once.replay is not None:
        return once.replay

    async def handler(s, after):
        job = await job_service.job_by_id(s, file_id, p.shop_id)
        done = await job_service.cancel_order(s, job=job, actor=p.username, reason=reason,
                                              idempotency_key=once.key)
        after.append(lambda: ctx.notifier.poke(job.shop_id))
        after.append(lambda: discard_unused(ctx, [j.sha256 for j in done]))
        return 200, {"order_id": job.order_id, "cancelled": [job_json(j) for j in done],
                     "refunded": to_decimal(sum(j.cost_cents for j in done))}

    return await once.run(handler)


@router.get("/file/{code}", response_model=JobWithOrderOut, responses=errors(401, 403, 404, 429))
async def job_by_code(code: str, p: ShopUser, ctx: Ctx):
    """Staff: a scanned or typed code → the job, with its order."""
    async with ctx.db.read() as s:
        job = await _by_code(code, p)(s)
        order = await s.get(Order, job.order_id)
        files = (await s.scalars(select(Job).where(Job.order_id == order.id).order_by(Job.id))).all()
    out = job_json(job)
    out["order"] = order_json(order, list(files))
    out["customer_name"] = order.customer_name
    return JSONResponse(out)


@router.get("/file/{code}/content", responses={200: {"content": FILE_TYPES,
                                                     "description": "the file's bytes"},
                                               **errors(401, 403, 404, 429)}, response_class=Response)
async def job_content(code: str, p: ShopUser, ctx: Ctx):
    async with ctx.db.read() as s:
        job = await _by_code(code, p)(s)
    return _file_response(ctx, job)


@router.get("/file/{code}/audit", response_model=list[AuditOut], responses=errors(401, 403, 404, 429))
async def job_audit(code: str, p: ShopUser, ctx: Ctx):
    """Every move of the job: who, which counter and printer, when, why."""
    async with ctx.db.read() as s:
        job = await _by_code(code, p)(s)
        entries = await job_service.audit_of(s, job.id)
    return JSONResponse([audit_json(a) for a in entries])


# --- one table drives the move routes, by file id and by code ---------------------------------------
@dataclass(frozen=True)
class _MoveRoute:
    move: Move
    body: type  # the request body's schema
    doc: str
    args: Callable  # (body, principal) -> the move's counter / printer / reason


_MOVE_ROUTES = (
    _MoveRoute(Move.PRINT_STARTED, PrintStartedIn,
               "uploaded → printing. Call it before the printer gets the file; a 409 means another counter has it.",
               lambda b, p: {"counter": b.counter or p.username, "printer": b.printer}),
    _MoveRoute(Move.PRINT_FAILED, FailedIn,
               "printing → uploaded, with the reason (kept on the job and in the audit trail). With `counter`, a\n"
               "409 when another counter holds the job now (a late report must not take a job from the counter\n"
               "printing it).",
               lambda b, p: {"reason": b.reason or "print failed", "counter": b.counter}),
    _MoveRoute(Move.CONFIRM, ConfirmIn,
               "printing|uploaded → downloaded (printed): credits the shop and deletes the stored file. May carry\n"
               "what the counter read from CUPS (`impressions`, `sheets`), kept for the reconciliation.",
               lambda b, p: {"counter": b.counter, "printer": b.printer, "impressions": b.impressions,
                             "sheets": b.sheets}),
)
# (path, path parameter, its type, how the job is found, the endpoint's name suffix)
_MOVE_PATHS = (("/queue/{file_id}/", "file_id", Id, _by_id, ""), ("/file/{code}/", "code", str, _by_code, "_by_code"))


def _add_move_route(route: _MoveRoute, prefix: str, param: str, param_type, find, suffix: str) -> None:
    async def endpoint(**kw):
        p, body = kw["p"], kw["body"] or route.body()
        return await _run_move(kw["request"], kw["ctx"], p, find=find(kw[param], p), move=route.move,
                               **route.args(body, p))

    kind = inspect.Parameter.KEYWORD_ONLY
    endpoint.__signature__ = inspect.Signature([
        inspect.Parameter(param, kind, annotation=param_type),
        inspect.Parameter("request", kind, annotation=Request),
        inspect.Parameter("p", kind, annotation=ShopUser),
        inspect.Parameter("ctx", kind, annotation=Ctx),
        inspect.Parameter("body", kind, default=None, annotation=Annotated[route.body, Body()]),
    ])
    endpoint.__name__ = route.move.value.replace("-", "_") + suffix
    endpoint.__doc__ = route.doc
    router.add_api_route(prefix + route.move.value, endpoint, methods=["POST"], response_model=JobOut,
                         responses=_MOVE_ERRORS)


for _path in _MOVE_PATHS:
    for _route in _MOVE_ROUTES:
        _add_move_route(_route, *_path)
