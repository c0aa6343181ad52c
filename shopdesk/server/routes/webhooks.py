"""The owner's signed webhooks: register (the secret is shown once), list with the last delivery, delete,
and the recent deliveries of one. Sending is webhook_sender.py's, never a request's."""

from __future__ import annotations

import asyncio
from typing import Annotated, Literal
from urllib.parse import urlsplit

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from ..deps import Ctx, ShopOwner
from ..errors import BadRequest, JSONResponse
from ..idempotency import Once
from ..schemas import Id, In, Text, errors
from ..services import webhooks as hook_service

router = APIRouter(tags=["webhooks"])

EventType = Literal["job.uploaded", "job.printing", "job.printed", "job.failed", "job.cancelled", "job.withdrawn",
                    "shop.opened", "shop.closed"]


class WebhookIn(In):
    url: Text = Field(max_length=500, examples=["https://sms.example.com/shopdesk"])
    events: list[EventType] = Field(min_length=1, max_length=8)


class DeliveryOut(BaseModel):
    id: str = Field(description="the event id: the same on every try")
    type: EventType
    created_at: str
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    last_status_code: int | None
    last_error: str | None
    last_attempt_at: str | None
    next_attempt_at: str | None
    delivered_at: str | None


class WebhookOut(BaseModel):
    id: int
    url: str
    events: list[EventType]
    created_at: str
    last_delivery: DeliveryOut | None


class WebhookCreatedOut(WebhookOut):
    secret: str | None = Field(description="signs every delivery; shown in this answer only (a replay with "
                                           "the same Idempotency-Key shows null)")


def _own(request: Request, ctx) -> list[tuple[str, int]]:
    """(host, port) pairs this server answers on."""
    own = []
    for url in (ctx.settings.public_url, str(request.base_url)):
        if url:
            p = urlsplit(url)
            if p.hostname:
                own.append((p.hostname, p.port or (443 if p.scheme == "https" else 80)))
    server = request.scope.get("server")
    if server and server[1]:
        own.append((server[0] or "127.0.0.1", int(server[1])))
        own.append(("127.0.0.1", int(server[1])))
    return own


@router.get("/shop/webhooks", response_model=list[WebhookOut], responses=errors(400, 401, 403, 404, 429))
async def list_webhooks(o: ShopOwner, ctx: Ctx):
    """Owner: the shop's webhooks, each with its last delivery."""
    async with ctx.db.read() as s:
        return JSONResponse(await hook_service.listing(s, o.shop_id))


@router.post("/shop/webhooks", response_model=WebhookCreatedOut, status_code=201,
             responses=errors(400, 401, 403, 404, 422, 429))
async def add_webhook(body: WebhookIn, request: Request, o: ShopOwner, ctx: Ctx):
    """Owner: a receiver for the chosen events. Refused: an address that is not http(s), that is this
    server itself, or a link-local/multicast one (and loopback/LAN ones where the server is set to public
    receivers only). The answer's `secret` is shown once."""
    url = body.url.strip()
    why = await asyncio.to_thread(hook_service.refusal, url, own=_own(request, ctx),
                                  allow_private=bool(ctx.settings.webhook_allow_private))
    if why:
        raise BadRequest(f"url: {why}")
    once = await Once.begin(ctx, request, o.principal.scope)
    if once.replay is not None:
        return once.replay
    made: dict = {}

    async def handler(s, after):
        hook, secret = await hook_service.create(s, shop_id=o.shop_id, url=url, events=list(body.events),
                                                 actor=o.actor, key=ctx.webhook_key)
        made["secret"], made["hook"] = secret, hook_service.webhook_json(hook)
        return 201, {**made["hook"], "secret": None}  # what a replay may show

    answer = await once.run(handler)
    if "secret" not in made:
        return answer
    return JSONResponse({**made["hook"], "secret": made["secret"]}, status_code=201)


@router.delete("/shop/webhooks/{webhook_id}", status_code=204, responses=errors(400, 401, 403, 404, 429))
async def delete_webhook(webhook_id: Id, o: ShopOwner, ctx: Ctx):
    """Owner: removes the webhook; its deliveries not yet sent are dropped."""
    async with ctx.db.write() as s:
        await hook_service.remove(s, await hook_service.hook_of_shop(s, webhook_id, o.shop_id))
    return Response(status_code=204)


@router.get("/shop/webhooks/{webhook_id}/deliveries", response_model=list[DeliveryOut],
            responses=errors(400, 401, 403, 404, 429))
async def list_deliveries(webhook_id: Id, o: ShopOwner, ctx: Ctx,
                          limit: Annotated[int, Query(ge=1, le=500)] = 100):
    """Owner: the webhook's recent deliveries, newest first, with their last status."""
    async with ctx.db.read() as s:
        hook = await hook_service.hook_of_shop(s, webhook_id, o.shop_id)
        return JSONResponse(await hook_service.deliveries(s, hook, limit))
