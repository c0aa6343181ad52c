"""The owner's controls (v2): the shop's profile, its prices and its logins, the shop's own audit trail —
and `/setup`, which creates the first shop and its owner on a server that has none (the app's first run)."""

from __future__ import annotations

import hmac
from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, Request
from sqlalchemy import text

from ..deps import Ctx, ShopOwner, anon_limit, public_url
from ..errors import Conflict, Forbidden, JSONResponse
from ..idempotency import Once
from ..models import Token
from ..schemas import (
    Id,
    LoginOut,
    PriceOut,
    PricesIn,
    SetupIn,
    SetupStatusOut,
    ShopEventOut,
    ShopOut,
    ShopProfileIn,
    StaffIn,
    StaffOut,
    StaffUpdateIn,
    errors,
)
from ..security import new_token, token_hash
from ..services import owner as owner_service
from ..services import shops as shop_service
from ..services.views import iso
from .shop import shop_json

router = APIRouter(tags=["owner"])


@router.put("/shop", response_model=ShopOut, responses=errors(400, 401, 403, 404, 429))
async def update_shop(body: ShopProfileIn, request: Request, o: ShopOwner, ctx: Ctx):
    """Owner: the shop's name, address, phone and opening hours (only the fields given change)."""
    async with ctx.db.write() as s:
        shop = await owner_service.update_profile(s, shop_id=o.shop_id, actor=o.actor,
                                                  values=body.model_dump(exclude_none=True))
        return JSONResponse(await shop_json(s, shop, public_url(request)))


@router.put("/shop/prices", response_model=list[PriceOut], responses=errors(400, 401, 403, 404, 429))
async def set_prices(body: PricesIn, o: ShopOwner, ctx: Ctx):
    """Owner: the whole price table at once (every colour mode × paper size). New uploads and quotes use it;
    jobs already uploaded keep their cost."""
    async with ctx.db.write() as s:
        await shop_service.get_shop(s, o.shop_id)
        await owner_service.set_prices(s, shop_id=o.shop_id, actor=o.actor,
                                       rows=[r.model_dump() for r in body.prices])
        shop = await shop_service.get_shop(s, o.shop_id)
        return JSONResponse((await shop_json(s, shop))["prices"])


@router.get("/shop/staff", response_model=list[StaffOut], responses=errors(400, 401, 403, 404, 429))
async def list_staff(o: ShopOwner, ctx: Ctx):
    """Owner: the shop's staff and owner logins."""
    async with ctx.db.read() as s:
        return JSONResponse([owner_service.staff_json(u) for u in await owner_service.staff_of(s, o.shop_id)])


@router.post("/shop/staff", response_model=StaffOut, status_code=201,
             responses=errors(400, 401, 403, 404, 409, 429))
async def add_staff(body: StaffIn, request: Request, o: ShopOwner, ctx: Ctx):
    """Owner: a new staff or owner login (passwords ≥ 10 characters; 409 when the username is taken)."""
    once = await Once.begin(ctx, request, o.principal.scope)
    if once.replay is not None:
        return once.replay
    hashed = await owner_service.prehash(body.password, ctx.hashing)  # before the write transaction

    async def handler(s, after):
        await shop_service.get_shop(s, o.shop_id)
        user = await owner_service.add_login(s, shop_id=o.shop_id, actor=o.actor, username=body.username,
                                             password=body.password, full_name=body.full_name, role=body.role,
                                             limiter=ctx.hashing, password_hash=hashed)
        return 201, owner_service.staff_json(user)

    return await once.run(handler)


@router.put("/shop/staff/{user_id}", response_model=StaffOut, responses=errors(400, 401, 403, 404, 409, 429))
async def update_staff(user_id: Id, body: StaffUpdateIn, o: ShopOwner, ctx: Ctx):
    """Owner: disable or enable a login (disabling ends its sessions at once), reset its password, change
    its name or role. The shop's last active owner can be neither disabled nor demoted (409)."""
    hashed = await owner_service.prehash(body.password, ctx.hashing)  # before the write transaction
    async with ctx.db.write() as s:
        user = await owner_service.change_login(
            s, shop_id=o.shop_id, user_id=user_id, actor=o.actor,
            change=owner_service.LoginChange(active=body.active, password=body.password,
                                             full_name=body.full_name, role=body.role), limiter=ctx.hashing,
            password_hash=hashed)
        return JSONResponse(owner_service.staff_json(user))


@router.get("/shop/events", response_model=list[ShopEventOut], responses=errors(400, 401, 403, 404, 429))
async def shop_events(o: ShopOwner, ctx: Ctx):
    """Owner: the shop's own audit trail, newest first — profile, price and login changes, security
    notices."""
    async with ctx.db.read() as s:
        return JSONResponse(owner_service.events_json(await owner_service.events_of(s, o.shop_id)))


# --- first run --------------------------------------------------------------------------------------
@router.get("/setup", response_model=SetupStatusOut, responses=errors(429), dependencies=[anon_limit("anon")])
async def setup_status(ctx: Ctx):
    """Whether this server still needs its first shop (the app's first run asks before it offers setup)."""
    async with ctx.db.read() as s:
        needed = not await owner_service.any_shop(s)
    return JSONResponse({"needed": needed, "allowed": bool(ctx.settings.setup_key)})


@router.post("/setup", response_model=LoginOut, responses=errors(400, 403, 409, 429),
             dependencies=[anon_limit("login")])
async def setup(body: SetupIn, request: Request, ctx: Ctx):
    """First run: the shop, its prices, its owner (and optionally a first staff login) in one transaction,
    then the owner is logged in. Needs the server's setup key (`Setup-Key` header) and a server with no
    shop yet (409 otherwise)."""
    key = ctx.settings.setup_key
    given = request.headers.get("setup-key", "")
    if not key:
        raise Forbidden("This server does not take first-run setup over the API; create the shop with "
                        "`shopdesk-server create-shop` and `create-user`.")
    if not hmac.compare_digest(given.encode(), key.encode()):
        raise Forbidden("Setup-Key: wrong or missing setup key.")
    now = datetime.now(UTC)
    token = new_token()
    expires = now + timedelta(seconds=ctx.settings.token_ttl_seconds)
    async with ctx.db.write() as s:
        if not ctx.db.is_sqlite:  # two setups at once: the second waits, then finds the shop (SQLite's
            await s.execute(text("LOCK TABLE shops IN SHARE ROW EXCLUSIVE MODE"))  # writers queue anyway)
        if await owner_service.any_shop(s):
            raise Conflict("This server already has a shop: log in instead.")
        shop, user = await owner_service.set_up_shop(
            s, shop=body.shop.model_dump(), owner=body.owner.model_dump(),
            prices=None if body.prices is None else [p.model_dump() for p in body.prices],
            staff=body.staff.model_dump() if body.staff else None, limiter=ctx.hashing)
        user.last_login_at = now
        s.add(Token(token_hash=token_hash(token), user_id=user.id, created_at=now, expires_at=expires))
        result = {"token": token, "role": user.role, "username": user.username, "shop_id": shop.id,
                  "expires_at": iso(expires)}
    return JSONResponse(result)
