"""The customer side: uploads fill the queue; the job code is the customer's credential for its status,
its QR code and withdrawing it."""

from __future__ import annotations

import io

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import Response

from ...domain.codes import status_url
from ...domain.jobs import Move
from ...domain.money import to_decimal
from ...domain.pricing import PriceTable
from ...domain.printsettings import InvalidSettings, PrintSettings
from ..convert import ConversionRefused, convert_upload
from ..deps import Ctx, MaybeUser, anon_limit, public_url
from ..errors import BadRequest, Conflict, Forbidden, JSONResponse, NotFound, Unavailable
from ..idempotency import Once
from ..models import Order, Shop
from ..sandbox import Busy, Refusal
from ..schemas import CostOut, JobStatusOut, UploadOut, errors
from ..services import jobs as job_service
from ..services.counters import availability
from ..services.files import discard_unused
from ..services.orders import PricedFile, create_order
from ..services.shops import price_table
from ..services.views import iso
from ..uploads import (
    FILE_FIELDS,
    NOT_COUNTABLE,
    UNUSUAL,
    ReceivedForm,
    count_pages,
    read_multipart,
    sniff_type,
)

router = APIRouter(tags=["customer"])

def _form_doc(*, shop_required: bool) -> dict:
    return {"requestBody": {
        "required": True,
        "content": {"multipart/form-data": {"schema": {
            "type": "object",
            "required": ["files[]", "shop_id"] if shop_required else ["files[]"],
            "properties": {
                "files[]": {"type": "array", "items": {"type": "string", "format": "binary"}, "minItems": 1,
                            "maxItems": 20,
                            "description": "PDF, PNG, JPEG, Word (.doc, .docx) or PowerPoint (.ppt, .pptx) files (20 MB each, "
                                           "100 MB per request); `file` works too"},
                "shop_id": {"type": "integer", "minimum": 1, "maximum": 2_147_483_647},
                "copies": {"type": "integer", "minimum": 1, "maximum": 99, "default": 1},
                "print_mode": {"type": "string", "enum": ["single", "double"], "default": "single"},
                "color_mode": {"type": "string", "enum": ["bw", "color"], "default": "bw"},
                "paper_size": {"type": "string", "enum": ["A4", "A3", "Letter", "Legal"], "default": "A4"},
                "comment": {"type": "string", "maxLength": 1000},
                "customer_name": {"type": "string", "maxLength": 120},
                "phone": {"type": "string", "maxLength": 40},
            },
        }}},
    }}


async def _receive(request: Request, ctx: Ctx) -> ReceivedForm:
    s = ctx.settings
    return await read_multipart(request, ctx.store, max_file=s.max_file_mb * 2**20,
                                max_request=s.max_request_mb * 2**20, max_files=s.max_files_per_upload)


async def _price(ctx, form: ReceivedForm, settings: PrintSettings, prices) -> list[PricedFile]:
    """Type from content, page count, cost for every file; all problems reported together. `prices` is
    awaited only once every file is counted: a refused file costs the database nothing."""
    problems: list[str] = []
    counted: list[tuple] = []
    files = [f for f in form.files if f.field in FILE_FIELDS]
    if not files:
        raise BadRequest("no file was sent: add one or more files as files[] (or file)")
    for f in files:
        if f.size == 0:
            problems.append(f"'{f.name}' is empty")
            continue
        ctype = sniff_type(f.head)
        path, sha, size, source = f.temp_path, f.sha256, f.size, None
        if ctype is None:  # Word or PowerPoint: priced and stored as its PDF rendering
            try:
                doc = await anyio.to_thread.run_sync(convert_upload, f.temp_path, f.head, f.sha256, ctx.settings,
                                                     ctx.store.tmp)
            except ConversionRefused as exc:
                problems.append(f"'{f.name}': {exc}")
                continue
            if doc is None:
                problems.append(f"'{f.name}' is not a PDF, PNG, JPEG, Word or PowerPoint file. {NOT_COUNTABLE}")
                continue
            form.temps.append(doc.pdf_path)
            path, sha, size, source, ctype = doc.pdf_path, doc.pdf_sha256, doc.pdf_size, doc.kind, "application/pdf"
        s = ctx.settings
        try:
            pages = await ctx.file_checks.run(count_pages, str(path), ctype, s.max_pages_per_file,
                                              s.max_image_megapixels * 1_000_000, refused=UNUSUAL)
        except Refusal as exc:
            problems.append(f"'{f.name}' {exc}. {NOT_COUNTABLE}")
            continue
        except Busy as exc:
            raise Unavailable("The shop's server is busy checking other files; please try again in a minute.",
                              retry_after=30) from exc
        counted.append((f, path, sha, size, ctype, pages, source))
    if problems:
        raise BadRequest("; ".join(problems))
    table: PriceTable = await prices()
    return [PricedFile(f.name, path, sha, size, ctype, pages,
                       table.cost(pages=pages, copies=settings.copies, color=settings.color_mode,
                                  paper=settings.paper_size), source, f.sha256)
            for f, path, sha, size, ctype, pages, source in counted]


def _converted(source_type: str | None, original_sha256: str = "") -> dict:
    """Only a converted file's answer carries these (a PDF's or an image's is as it always was)."""
    if not source_type:
        return {}
    out = {"source_type": source_type}
    if original_sha256:
        out["preview_url"] = f"/converted/{original_sha256}.pdf"
    return out


def _settings(form: ReceivedForm) -> PrintSettings:
    try:
        settings = PrintSettings.parse(form.fields)
    except InvalidSettings as exc:
        raise BadRequest(str(exc)) from exc
    _contact(form)  # too long a name or phone is refused with the settings, on both routes
    return settings


def _contact(form: ReceivedForm) -> tuple[str, str]:
    """The customer's name and phone as documented (at most 120 and 40 characters), never cut silently."""
    name = form.fields.get("customer_name", "").strip()
    phone = form.fields.get("phone", "").strip()
    problems = [f"{field} must be at most {limit} characters" for field, value, limit in
                (("customer_name", name, 120), ("phone", phone, 40)) if len(value) > limit]
    if problems:
        raise BadRequest("; ".join(problems))
    return name, phone


def _shop_id(form: ReceivedForm) -> int:
    raw = form.fields.get("shop_id", "").strip()
    if not raw:
        raise BadRequest("shop_id is required")
    try:
        value = int(raw)
    except ValueError as exc:
        raise BadRequest("shop_id must be a number") from exc
    if value < 1 or value > 2**31 - 1:
        raise NotFound(f"No shop with id {value}.")
    return value


@router.post("/upload", response_model=UploadOut, responses=errors(400, 401, 403, 404, 409, 413, 422, 429, 503),
             openapi_extra=_form_doc(shop_required=True), dependencies=[anon_limit("upload")])
async def upload(request: Request, ctx: Ctx, customer: MaybeUser):
    """Walk-in (no token) or customer upload of one or more files with their print settings."""
    if customer is not None and customer.role != "customer":
        raise Forbidden("Uploads are made by customers; log out of the shop account to upload.")
    form = await _receive(request, ctx)  # read first: a replay needs the same request, body included
    try:
        once = await Once.begin(ctx, request, customer.scope if customer else "anon", content=form.digest())
        if once.replay is not None:
            return once.replay
        settings = _settings(form)
        shop_id = _shop_id(form)
        async with ctx.db.read() as s:
            shop = await s.get(Shop, shop_id)
            if shop is None:
                raise NotFound(f"No shop with id {shop_id}.")
            if not shop.is_open:
                raise Conflict(f"'{shop.name}' is closed right now; please upload when it is open.")
            if why := (await availability(s, shop)).refusal(settings):  # paused, or no ready printer can
                raise Conflict(why)
            table = await price_table(s, shop_id)

        async def prices() -> PriceTable:
            return table

        priced = await _price(ctx, form, settings, prices)
        customer_name, phone = _contact(form)

        async def handler(s, after):
            for p in priced:
                ctx.store.keep(p.temp_path, p.sha256)
            order, made = await create_order(
                s, shop_id=shop_id, settings=settings, files=priced,
                customer_id=customer.user_id if customer else None,
                customer_name=customer_name or (customer.username if customer else ""), phone=phone)
            position = await job_service.queue_position(s, order)
            after.append(lambda: [ctx.store.keep(p.temp_path, p.sha256) for p in priced])
            after.append(lambda: ctx.notifier.poke(shop_id))
            return 200, {
                "order_id": order.id,
                "files": [{"file_id": j.id, "code": j.code, "original_name": j.original_name,
                           "num_pages": j.num_pages, "cost": to_decimal(j.cost_cents), "status": j.status,
                           **_converted(j.source_type)}
                          for j in made],
                "total_cost": to_decimal(sum(j.cost_cents for j in made)),
                "queue_position": position,
            }

        return await once.run(handler)
    finally:
        form.discard()  # whatever was not kept (errors, or content already stored)


@router.post("/calculate-cost", response_model=CostOut, responses=errors(400, 404, 409, 413, 429, 503),
             openapi_extra=_form_doc(shop_required=False), dependencies=[anon_limit("anon")])
async def calculate_cost(request: Request, ctx: Ctx):
    """The same form as /upload; counts pages and prices them, stores nothing. With `shop_id` of an open
    shop, settings its ready printers cannot print now are refused (409) in the words /upload uses."""
    form = await _receive(request, ctx)
    try:
        settings = _settings(form)
        shop_id = _shop_id(form) if form.fields.get("shop_id", "").strip() else None

        async def prices() -> PriceTable:
            if shop_id is None:
                return PriceTable()
            async with ctx.db.read() as s:
                shop = await s.get(Shop, shop_id)
                if shop is None:
                    raise NotFound(f"No shop with id {shop_id}.")
                if shop.is_open and (why := (await availability(s, shop)).refusal(settings)):
                    raise Conflict(why)  # a quote for what cannot be printed now says so
                return await price_table(s, shop_id)

        priced = await _price(ctx, form, settings, prices)
        return JSONResponse({"files": [{"original_name": p.name, "num_pages": p.pages, "cost": to_decimal(p.cost_cents),
                                        **_converted(p.source_type, p.original_sha256)}
                                for p in priced],
                       "total_cost": to_decimal(sum(p.cost_cents for p in priced))})
    finally:
        form.discard()


@router.get("/file/{code}/status", response_model=JobStatusOut, responses=errors(404, 429),
            dependencies=[anon_limit("anon")])
async def job_status(code: str, ctx: Ctx):
    """The code is the credential: where the job stands, for the customer."""
    async with ctx.db.read() as s:
        job = await job_service.job_by_code(s, code)
        order = await s.get(Order, job.order_id)
        position = await job_service.queue_position(s, order)
    return JSONResponse({"status": job.status, "queue_position": position, "cancel_reason": job.cancel_reason,
                  "updated_at": iso(job.updated_at)})


@router.get("/file/{code}/qr.png", responses={200: {"content": {"image/png": {}}, "description": "QR code"},
                                              **errors(404, 429)},
            dependencies=[anon_limit("anon")], response_class=Response)
async def job_qr(code: str, request: Request, ctx: Ctx):
    """The job's QR code as a PNG; its payload is the job's status page, `{public_url}/j/{code}`, so a
    phone that scans it opens the page (and the counter's scanner reads the code from it)."""
    async with ctx.db.read() as s:
        job = await job_service.job_by_code(s, code)
    png = await anyio.to_thread.run_sync(qr_png, status_url(public_url(request), job.code))
    return Response(png, media_type="image/png", headers={"Cache-Control": "public, max-age=86400"})


def qr_png(text: str, box_size: int = 10) -> bytes:
    import qrcode  # here: the server's start does not wait for it

    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=box_size, border=4)
    qr.add_data(text)
    buf = io.BytesIO()
    qr.make_image().save(buf)
    return buf.getvalue()


@router.get("/converted/{sha256}.pdf", responses={200: {"content": {"application/pdf": {}},
                                                         "description": "the PDF rendering"}, **errors(404, 429)},
            dependencies=[anon_limit("anon")], response_class=Response)
async def converted_pdf(sha256: str, ctx: Ctx):
    """A Word or PowerPoint file's PDF rendering, by the SHA-256 of the file the customer sent (the
    `preview_url` of `POST /calculate-cost`): the customer checks the pages before sending. Only
    someone who has the file knows its hash; the rendering is kept as long as the conversion cache."""
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise NotFound("No such converted file.")
    path = ctx.settings.conversions_dir / f"{sha256}.pdf"
    try:
        data = await anyio.to_thread.run_sync(path.read_bytes)
    except FileNotFoundError:
        raise NotFound("No such converted file (converted files are kept for a day).") from None
    return Response(data, media_type="application/pdf",
                    headers={"Content-Disposition": "inline", "Cache-Control": "private, max-age=3600"})


@router.post("/withdraw/{code}", response_model=JobStatusOut, responses=errors(400, 404, 409, 422, 429),
             dependencies=[anon_limit("anon")])
async def withdraw(code: str, request: Request, ctx: Ctx):
    """The customer takes a waiting job back (refunded); refused while it is printing."""
    once = await Once.begin(ctx, request, "anon")
    if once.replay is not None:
        return once.replay

    async def handler(s, after):
        job = await job_service.job_by_code(s, code)
        done = await job_service.move(s, job=job, move=Move.WITHDRAW, actor="customer",
                                      reason="withdrawn by the customer", idempotency_key=once.key)
        after.append(lambda: ctx.notifier.poke(done.shop_id))
        after.append(lambda: discard_unused(ctx, [done.sha256]))
        return 200, {"status": done.status, "queue_position": None, "cancel_reason": done.cancel_reason,
                     "updated_at": iso(done.updated_at)}

    return await once.run(handler)
