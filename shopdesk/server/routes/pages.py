"""The customer front door: HTML pages served by the API server itself (embedded or standalone).

  GET  /                 one shop: redirect to its page; several: the open shops
  GET  /s/{shop_id}      the shop: name, open/closed/paused, prices, the upload form
  POST /s/{shop_id}      the same form without JavaScript: uploads through POST /upload's own code
  GET  /j/{code}         a job's status page (live with JavaScript; a reload without)
  POST /j/{code}/withdraw  without JavaScript: asks once more, then withdraws through POST /withdraw
  GET  /assets/{name}    the one stylesheet and the one script (package data in server/web/)

With JavaScript the pages talk to the JSON API (`POST /calculate-cost`, `POST /upload`, `GET
/file/{code}/status`, `POST /withdraw/{code}`) exactly as any client does; without it, a plain form
reaches the same code. No framework, no build step, nothing from another host: the
Content-Security-Policy below allows only this server."""

from __future__ import annotations

import hashlib
import html
import json
from dataclasses import dataclass
from decimal import Decimal
from importlib import resources
from string import Template
from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from ...domain.availability import Availability
from ...domain.codes import is_job_code, status_url
from ...domain.jobs import JobStatus
from ...domain.money import format_amount
from ...domain.printsettings import MAX_COMMENT, MAX_COPIES, MIN_COPIES, ColorMode, PaperSize, PrintMode
from .. import ratelimit
from ..deps import Ctx, client_ip, public_url
from ..errors import ApiError, RateLimited
from ..models import Job, Order, Shop
from ..services import jobs as job_service
from ..services.counters import availability
from ..services.shops import price_table
from . import customer

router = APIRouter(tags=["customer pages"])
_HTML = {"response_class": HTMLResponse, "responses": {
    200: {"content": {"text/html": {}}, "description": "the page"},
    404: {"content": {"text/html": {}}, "description": "no such shop or job (a page that says so)"}}}

# Only this server: no inline script or style, no other host, no framing; images may be data: (the
# empty favicon) and this server's QR PNGs.
PAGE_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
SECURITY_HEADERS = {"Content-Security-Policy": PAGE_CSP, "X-Content-Type-Options": "nosniff",
                    "Referrer-Policy": "no-referrer"}


@dataclass(frozen=True)
class _Asset:
    body: bytes
    media_type: str
    version: str


def _load_assets() -> dict[str, _Asset]:
    web = resources.files("shopdesk.server") / "web"
    out = {}
    for name, media in (("front.css", "text/css; charset=utf-8"), ("front.js", "text/javascript; charset=utf-8")):
        body = (web / name).read_bytes()
        out[name] = _Asset(body, media, hashlib.sha256(body).hexdigest()[:12])
    return out


_ASSETS = _load_assets()
_LAYOUT = Template((resources.files("shopdesk.server") / "web" / "layout.html").read_text("utf-8"))

E = html.escape

# Status words for customers, once: the page renders them, and the script gets the same table.
STATUS_WORDS = {
    JobStatus.UPLOADED.value: "Waiting — number {n} in the queue",
    JobStatus.PRINTING.value: "Printing now",
    JobStatus.DOWNLOADED.value: "Printed — collect it at the counter",
    JobStatus.CANCELLED.value: "Cancelled by the shop: {reason}",
    JobStatus.WITHDRAWN.value: "Withdrawn — you took this job back; it will not be printed",
}
PAPER_NAMES = {p.value: p.value for p in PaperSize}
COLOR_NAMES = {ColorMode.BW.value: "Black & white", ColorMode.COLOR.value: "Colour"}
SIDES_NAMES = {PrintMode.SINGLE.value: "One-sided", PrintMode.DOUBLE.value: "Two-sided"}


def status_words(status: str, position: int | None, reason: str | None) -> str:
    text = STATUS_WORDS.get(status, status)
    if status == JobStatus.UPLOADED.value and not position:
        text = "Waiting"
    return text.replace("{n}", str(position or "")).replace("{reason}", reason or "no reason given")


def page(title: str, content: str, *, name: str, header: str = "", head: str = "", status: int = 200,
         footer: str = "") -> Response:
    body = _LAYOUT.substitute(
        title=E(title), content=content, page=name, header=header or '<span class="brand">shopdesk</span>',
        head=head, css_v=_ASSETS["front.css"].version, js_v=_ASSETS["front.js"].version,
        footer=footer or "Your files go only to this shop's server.")
    return Response(body.encode(), status_code=status, media_type="text/html; charset=utf-8",
                    headers={**SECURITY_HEADERS, "Cache-Control": "no-store"})


def _problem_page(status: int, title: str, text: str) -> Response:
    return page(title, f'<section class="card"><h1>{E(title)}</h1><p class="error" role="alert">{E(text)}</p>'
                       '<p><a href="/">All shops</a></p></section>', name="problem", status=status)


async def _limited(request: Request, ctx: Ctx, kind: str = "anon") -> Response | None:
    """The per-IP limits of unauthenticated routes (deps.anon_limit's 'anon' and 'upload'), answered as a
    page a person reads instead of JSON."""
    s = ctx.settings
    limit, what = (s.upload_rate_per_min, "uploads") if kind == "upload" else (s.anon_rate_per_min, "requests")
    try:
        await ratelimit.hit(ctx.db, f"{kind}:{client_ip(request)}", limit, what)
    except RateLimited as exc:
        r = _problem_page(429, "Please wait a moment", f"{exc.message} (from this device)")
        r.headers.update(exc.headers)
        return r
    return None


@router.get("/assets/{name}", include_in_schema=False)
async def asset(name: str):
    a = _ASSETS.get(name)
    if a is None:
        return Response(b"", status_code=404, headers=SECURITY_HEADERS)
    # the pages link `?v=<hash of the content>`: a new version has a new URL, so it may be cached for long
    return Response(a.body, media_type=a.media_type,
                    headers={**SECURITY_HEADERS, "Cache-Control": "public, max-age=31536000, immutable",
                             "ETag": f'"{a.version}"'})


@router.get("/", **_HTML)
async def index(request: Request, ctx: Ctx):
    """A one-shop server sends the customer to its shop's page; otherwise the open shops."""
    if limited := await _limited(request, ctx):
        return limited
    async with ctx.db.read() as s:
        shops = list((await s.scalars(select(Shop).order_by(Shop.id))).all())
    if len(shops) == 1:
        return RedirectResponse(f"/s/{shops[0].id}", status_code=303)
    open_shops = [sh for sh in shops if sh.is_open]
    if open_shops:
        items = "".join(f'<li><a href="/s/{sh.id}">{E(sh.name)}</a>'
                        f'{" — " + E(sh.address) if sh.address else ""}</li>' for sh in open_shops)
        body = f'<ul class="shops">{items}</ul>'
    else:
        body = "<p>No shop is open right now. Please come back later.</p>"
    return page("Print shops", f'<section class="card"><h1>Open print shops</h1>{body}</section>', name="index")


ShopId = Annotated[int, Path(ge=1, le=2**31 - 1)]


async def _shop_view(ctx: Ctx, shop_id: int):
    async with ctx.db.read() as s:
        shop = await s.get(Shop, shop_id)
        prices = await price_table(s, shop_id) if shop else None
        can = await availability(s, shop) if shop else Availability()
    return shop, prices, can


def _shop_header(shop: Shop, can: Availability | None = None) -> str:
    if shop.is_open and can is not None and can.paused:
        state = '<span class="badge paused">Paused</span>'
    else:
        state = ('<span class="badge open">Open</span>' if shop.is_open
                 else '<span class="badge closed">Closed</span>')
    facts = "".join(f'<li class="{cls}">{E(v)}</li>' for cls, v in
                    (("address", shop.address), ("phone", shop.phone), ("hours", shop.hours)) if (v or "").strip())
    return (f'<a class="shopname" href="/s/{shop.id}">{E(shop.name)}</a> {state}'
            + (f'<ul class="facts">{facts}</ul>' if facts else ""))


def _prices_html(prices) -> str:
    papers = [p.value for p in PaperSize]
    rows = "".join(
        f"<tr><th scope=row>{E(p)}</th><td>{format_amount(prices.price(ColorMode.BW, p))}</td>"
        f"<td>{format_amount(prices.price(ColorMode.COLOR, p))}</td></tr>" for p in papers)
    return ('<table class="prices"><caption>Price per page</caption><thead><tr><th></th><th scope=col>Black &amp; white'
            f"</th><th scope=col>Colour</th></tr></thead><tbody>{rows}</tbody></table>")


def _options(values: dict[str, str], chosen: str) -> str:
    return "".join(f'<option value="{E(v)}"{" selected" if v == chosen else ""}>{E(label)}</option>'
                   for v, label in values.items())


ACCEPT = (".pdf,.jpg,.jpeg,.png,.doc,.docx,.ppt,.pptx,application/pdf,image/jpeg,image/png,application/msword,"
          "application/vnd.openxmlformats-officedocument.wordprocessingml.document,application/vnd.ms-powerpoint,"
          "application/vnd.openxmlformats-officedocument.presentationml.presentation")
CONVERTED_WORDS = {"word": "converted from Word", "powerpoint": "converted from PowerPoint"}


def _form_html(shop: Shop, prices, ctx: Ctx, error: str = "") -> str:
    s = ctx.settings
    price_map = {f"{c}|{p}": cents for c, p, cents in prices.as_rows()}
    data = E(json.dumps({"shop_id": shop.id, "max_file": s.max_file_mb * 2**20, "max_files": s.max_files_per_upload,
                         "max_request": s.max_request_mb * 2**20, "prices": price_map,
                         "min_copies": MIN_COPIES, "max_copies": MAX_COPIES}), quote=True)
    err = f'<p class="error" id="error" role="alert">{E(error)}</p>' if error else \
        '<p class="error" id="error" role="alert" hidden></p>'
    return f"""
<form id="send" class="card" method="post" action="/s/{shop.id}" enctype="multipart/form-data" data-front="{data}">
  <h2>Send your files</h2>
  <input type="hidden" name="shop_id" value="{shop.id}">
  <label class="pick"><span class="picktitle" id="picktitle">Choose files to print</span>
    <span class="hint">PDF, JPEG, PNG, Word or PowerPoint, up to {s.max_file_mb} MB each
      (Word and PowerPoint files are converted to PDF here; check the pages before sending)</span>
    <input id="files" type="file" name="files[]" multiple required
           accept="{ACCEPT}">
  </label>
  <ol id="filelist" class="files" hidden></ol>
  <fieldset id="defaults" class="settings">
    <legend>Print settings <span class="hint js-only">(for each new file; change any file below)</span></legend>
    <label>Copies <input name="copies" type="number" inputmode="numeric" min="{MIN_COPIES}" max="{MAX_COPIES}" value="1" required></label>
    <label>Sides <select name="print_mode">{_options(SIDES_NAMES, "single")}</select></label>
    <label>Colour <select name="color_mode">{_options(COLOR_NAMES, "bw")}</select></label>
    <label>Paper <select name="paper_size">{_options(PAPER_NAMES, "A4")}</select></label>
  </fieldset>
  <fieldset class="you">
    <legend>You</legend>
    <label>Name <input name="customer_name" maxlength="120" autocomplete="name"></label>
    <label>Phone <input name="phone" type="tel" maxlength="40" autocomplete="tel"></label>
    <label class="wide">Comment for the shop <textarea name="comment" maxlength="{MAX_COMMENT}" rows="2"></textarea></label>
  </fieldset>
  <p id="total" class="total" aria-live="polite" hidden></p>
  <progress id="progress" max="100" value="0" hidden></progress>
  {err}
  <button id="sendbtn" type="submit" class="primary">Send</button>
</form>
"""


@router.get("/s/{shop_id}", **_HTML)
async def shop_page(shop_id: ShopId, request: Request, ctx: Ctx):
    """The shop's page: name, open/closed, prices and the upload form (HTML)."""
    if limited := await _limited(request, ctx):
        return limited
    shop, prices, can = await _shop_view(ctx, shop_id)
    if shop is None:
        return _problem_page(404, "No such shop", f"There is no shop with number {shop_id} here.")
    return _shop_page(shop, prices, ctx, can)


def _shop_page(shop: Shop, prices, ctx: Ctx, can: Availability, *, error: str = "", status: int = 200) -> Response:
    if shop.is_open and can.paused:  # open, but no printer is ready: not closed, and no form either
        main = (f'<section class="card closed-note paused-note" role="status"><h2>Paused right now</h2><p>{E(shop.name)} '
                "is open, but no printer is ready at the moment, so it is not taking files. Files already sent "
                "still wait their turn. Please try again in a little while.</p>"
                + (f'<p class="error" role="alert">{E(error)}</p>' if error else "") + "</section>")
        content = main + f'<section class="card">{_prices_html(prices)}</section>'
        return page(f"{shop.name} — paused", content, name="shop", header=_shop_header(shop, can), status=status)
    if shop.is_open:
        main = _form_html(shop, prices, ctx, error)
        if notes := can.unavailable():
            items = "".join(f"<li>{E(n)}</li>" for n in notes)
            main = f'<section class="card unavailable-note" role="status"><ul>{items}</ul></section>' + main
    else:
        main = (f'<section class="card closed-note" role="status"><h2>Closed right now</h2><p>{E(shop.name)} is '
                "not taking files at the moment. Please come back when the shop is open.</p>"
                + (f'<p class="error" role="alert">{E(error)}</p>' if error else "") + "</section>")
    done = '<section id="done" class="card" hidden aria-live="polite"></section>' if shop.is_open else ""
    prices_card = f'<section class="card">{_prices_html(prices)}</section>'
    # open: the prices, then the form; closed: say so first
    content = done + prices_card + main if shop.is_open else main + prices_card
    return page(f"{shop.name} — send files to print", content, name="shop", header=_shop_header(shop, can),
                status=status)


@router.post("/s/{shop_id}", include_in_schema=False)
async def shop_page_send(shop_id: ShopId, request: Request, ctx: Ctx):
    """The upload form without JavaScript: POST /upload's own code, the answer as a page."""
    if limited := await _limited(request, ctx, "upload"):
        return limited
    shop, prices, can = await _shop_view(ctx, shop_id)
    if shop is None:
        return _problem_page(404, "No such shop", f"There is no shop with number {shop_id} here.")
    try:
        answer = await customer.upload(request, ctx, None)
    except ApiError as exc:
        shop, prices, can = await _shop_view(ctx, shop_id)
        return _shop_page(shop, prices, ctx, can, error=exc.message, status=exc.status)
    body = json.loads(answer.body, parse_float=Decimal)  # 80.00 stays 80.00
    if answer.status_code != 200:
        return _shop_page(shop, prices, ctx, can, error=body.get("error", "The upload failed."),
                          status=answer.status_code)
    jobs = "".join(_sent_job_html(f, request) for f in body["files"])
    content = (f'<section class="card done"><h1>Sent — thank you</h1><p class="lead">Show these codes at the counter. '
               f'Total: <strong>{E(str(body["total_cost"]))}</strong></p><ul class="codes">{jobs}</ul>'
               f'<p><a href="/s/{shop.id}">Send more files</a></p></section>')
    return page(f"{shop.name} — sent", content, name="sent", header=_shop_header(shop, can))


def _sent_job_html(f: dict, request: Request) -> str:
    code = E(f["code"])
    return (f'<li class="job"><img class="qr" src="/file/{code}/qr.png" alt="QR code of job {code}" width="148" height="148">'
            f'<div><span class="code">{code}</span><span class="name">{E(f["original_name"])}</span>'
            f'<span>{f["num_pages"]} page(s){_converted(f.get("source_type"))} · {E(str(f["cost"]))}</span>'
            f'<a href="/j/{code}">Follow this job</a></div></li>')


def _converted(source_type: str | None) -> str:
    words = CONVERTED_WORDS.get(source_type or "")
    return f" ({words})" if words else ""


async def _job_view(ctx: Ctx, code: str):
    async with ctx.db.read() as s:
        job = (await s.scalars(select(Job).where(Job.code == code))).first() if is_job_code(code) else None
        if job is None:
            return None
        order = await s.get(Order, job.order_id)
        shop = await s.get(Shop, job.shop_id)
        position = await job_service.queue_position(s, order)
        can = await availability(s, shop)
    return job, order, shop, position, can


@router.get("/j/{code}", **_HTML)
async def job_page(code: str, request: Request, ctx: Ctx):
    """The job's status page, live; Withdraw while it waits (HTML; the code is the credential)."""
    if limited := await _limited(request, ctx):
        return limited
    view = await _job_view(ctx, code)
    if view is None:
        return _problem_page(404, "No such job", f"No job has the code '{code[:20]}'. Check the code on your "
                             "receipt (capital and small letters differ).")
    return _job_page(*view, request=request)


def _job_page(job: Job, order: Order, shop: Shop, position: int | None, can: Availability, *, request: Request,
              error: str = "", status: int = 200) -> Response:
    code = E(job.code)
    waiting = job.status == JobStatus.UPLOADED.value
    final = JobStatus(job.status).is_final
    words = status_words(job.status, position, job.cancel_reason)
    data = E(json.dumps({"code": job.code, "status": job.status, "words": STATUS_WORDS}), quote=True)
    withdraw = (f'<form id="withdraw" method="post" action="/j/{code}/withdraw" class="withdraw">'
                '<button type="submit" class="danger">Withdraw this job…</button>'
                '<span class="hint">You can take it back while it waits; not once printing has started.</span></form>'
                if waiting else "")
    details = [("File", job.original_name + _converted(job.source_type)), ("Pages", str(job.num_pages)), ("Copies", str(job.copies)),
               ("Sides", SIDES_NAMES.get(job.print_mode, job.print_mode)),
               ("Colour", COLOR_NAMES.get(job.color_mode, job.color_mode)), ("Paper", job.paper_size),
               ("Price", format_amount(job.cost_cents))]
    if job.comment:
        details.append(("Note", job.comment))
    if order.customer_name:
        details.insert(0, ("Name", order.customer_name))
    rows = "".join(f"<tr><th scope=row>{E(k)}</th><td>{E(v)}</td></tr>" for k, v in details)
    err = (f'<p class="error" id="error" role="alert">{E(error)}</p>' if error
           else '<p class="error" id="error" role="alert" hidden></p>')
    content = f"""
<section class="card jobcard" id="job" data-front="{data}">
  <p class="label">Your job</p>
  <p class="code big">{code}</p>
  <p id="status" class="status s-{E(job.status)}" role="status" aria-live="polite">{E(words)}</p>
  <img class="qr" src="/file/{code}/qr.png" alt="QR code of job {code}" width="180" height="180">
  <p class="hint">Show this page or say the code at the counter.</p>
  {err}
  {withdraw}
  <noscript><p><a href="/j/{code}">Reload</a> to see the latest status.</p></noscript>
</section>
<section class="card"><table class="details">{rows}</table></section>"""
    head = '<noscript><meta http-equiv="refresh" content="20"></noscript>' if not final else ""
    return page(f"Job {job.code} — {shop.name}", content, name="job", header=_shop_header(shop, can), head=head,
                status=status, footer=f'Link to this page: <a href="/j/{code}">{E(status_url(public_url(request), job.code))}</a>')


@router.post("/j/{code}/withdraw", include_in_schema=False)
async def job_page_withdraw(code: str, request: Request, ctx: Ctx, confirm: str = ""):
    """Without JavaScript: the first press asks again (a page), the second withdraws."""
    if limited := await _limited(request, ctx):
        return limited
    view = await _job_view(ctx, code)
    if view is None:
        return _problem_page(404, "No such job", f"No job has the code '{code[:20]}'.")
    job, order, shop, position, can = view
    if confirm != "yes":
        c = E(job.code)
        content = (f'<section class="card"><h1>Withdraw job {c}?</h1><p>{E(job.original_name)} will not be printed '
                   'and you will not pay for it.</p>'
                   f'<form method="post" action="/j/{c}/withdraw?confirm=yes"><button class="danger" type="submit">'
                   f'Yes, withdraw it</button> <a href="/j/{c}">No, keep it</a></form></section>')
        return page(f"Withdraw {job.code}?", content, name="confirm", header=_shop_header(shop, can))
    try:
        await customer.withdraw(job.code, request, ctx)
    except ApiError as exc:
        view = await _job_view(ctx, code)
        return _job_page(*view, request=request, error=exc.message, status=exc.status)
    return RedirectResponse(f"/j/{job.code}", status_code=303)
