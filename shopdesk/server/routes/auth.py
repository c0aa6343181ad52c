"""Login, logout and the caller's profile."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import anyio
from fastapi import APIRouter, Request
from sqlalchemy import select, update

from .. import logins, signals
from ..deps import AnyUser, Ctx, anon_limit, client_ip
from ..errors import Forbidden, JSONResponse, Unauthorized
from ..models import Shop, Token, User
from ..schemas import LoginIn, LoginOut, OkOut, ProfileOut, errors
from ..security import new_token, token_hash, verify_password
from ..services.users import username_is
from ..services.views import iso

router = APIRouter(tags=["auth"])


@router.post("/login", response_model=LoginOut, responses=errors(400, 401, 429),
             dependencies=[anon_limit("login")])
async def login(body: LoginIn, request: Request, ctx: Ctx):
    """Username + password → a bearer token (expires). Wrong passwords slow down, then lock out, only the
    address they come from, for that username; a wrong password, an unknown username and a disabled login
    all get the same answer."""
    s = ctx.settings
    client = client_ip(request)
    failed_before = await logins.check_allowed(ctx.db, body.username, client)
    async with ctx.db.read() as session:
        user = (await session.scalars(select(User).where(username_is(body.username.strip())))).first()
    ok = await anyio.to_thread.run_sync(verify_password, user.password_hash if user else None, body.password,
                                        limiter=ctx.hashing)
    if not ok or user is None:
        await logins.record_failure(ctx.db, s, username=body.username, client=client, user=user)
        raise Unauthorized("Wrong username or password.")
    if not user.active:  # the password was right, so saying why tells a guesser nothing
        raise Forbidden("This login has been disabled by the shop's owner.")
    if failed_before:
        await logins.record_success(ctx.db, username=body.username, client=client)
    now = datetime.now(UTC)
    token = new_token()
    expires = now + timedelta(seconds=s.token_ttl_seconds)
    async with ctx.db.write() as session:
        await session.execute(update(User).where(User.id == user.id).values(last_login_at=now))
        session.add(Token(token_hash=token_hash(token), user_id=user.id, created_at=now, expires_at=expires))
    return JSONResponse({"token": token, "role": user.role, "username": user.username,
                         "shop_id": user.shop_id, "expires_at": iso(expires)})


@router.post("/logout", response_model=OkOut, responses=errors(401, 429))
async def logout(p: AnyUser, ctx: Ctx):
    """Revokes the token used for this request."""
    async with ctx.db.write() as session:
        await session.execute(update(Token).where(Token.token_hash == p.token_hash)
                              .values(revoked_at=datetime.now(UTC)))
        await signals.logins_changed(session, p.user_id)  # refused at once by every server process
    return JSONResponse({"ok": True})


@router.get("/profile", response_model=ProfileOut, responses=errors(401, 429))
async def profile(p: AnyUser, ctx: Ctx):
    async with ctx.db.read() as session:
        user = await session.get(User, p.user_id)
        shop = await session.get(Shop, user.shop_id) if user.shop_id else None
    return JSONResponse({"id": user.id, "username": user.username, "full_name": user.full_name,
                         "role": user.role, "shop_id": user.shop_id,
                         "shop_name": shop.name if shop else None, "is_open": shop.is_open if shop else None})
