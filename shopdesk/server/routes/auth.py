"""Login, logout and the caller's profile."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import anyio
from fastapi import APIRouter
from sqlalchemy import select, update

from ..deps import AnyUser, Ctx, anon_limit
from ..errors import Forbidden, JSONResponse, Unauthorized
from ..models import Shop, Token, User
from ..schemas import LoginIn, LoginOut, OkOut, ProfileOut, errors
from ..security import new_token, token_hash, verify_password
from ..services.users import username_is
from ..services.views import iso

router = APIRouter(tags=["auth"])


@router.post("/login", response_model=LoginOut, responses=errors(400, 401, 403, 429),
             dependencies=[anon_limit("login")])
async def login(body: LoginIn, ctx: Ctx):
    """Username + password → a bearer token (expires; 5 wrong passwords lock the account for 15 min)."""
    s = ctx.settings
    now = datetime.now(UTC)
    async with ctx.db.read() as session:
        user = (await session.scalars(select(User).where(username_is(body.username.strip())))).first()
    if user is not None and user.locked_until and user.locked_until > now:
        minutes = int((user.locked_until - now).total_seconds() // 60) + 1
        raise Forbidden(f"This account is locked after {s.max_failed_logins} wrong passwords. "
                        f"Try again in {minutes} min, or ask the owner.")
    ok = await anyio.to_thread.run_sync(verify_password, user.password_hash if user else None, body.password)
    if not ok:
        if user is not None:
            async with ctx.db.write() as session:
                failed = (await session.execute(
                    update(User).where(User.id == user.id).values(failed_logins=User.failed_logins + 1)
                    .returning(User.failed_logins))).scalar_one()
                locked = failed >= s.max_failed_logins
                if locked:
                    await session.execute(update(User).where(User.id == user.id).values(
                        failed_logins=0, locked_until=now + timedelta(seconds=s.lockout_seconds)))
            if locked:
                raise Forbidden(f"Wrong password. The account is now locked for "
                                f"{s.lockout_seconds // 60} min after {s.max_failed_logins} wrong passwords.")
        raise Unauthorized("Wrong username or password.")
    if not user.active:  # the password was right, so saying why is safe
        raise Forbidden("This login has been disabled by the shop's owner.")
    token = new_token()
    expires = now + timedelta(seconds=s.token_ttl_seconds)
    async with ctx.db.write() as session:
        await session.execute(update(User).where(User.id == user.id).values(failed_logins=0, locked_until=None,
                                                                           last_login_at=now))
        session.add(Token(token_hash=token_hash(token), user_id=user.id, created_at=now, expires_at=expires))
    return JSONResponse({"token": token, "role": user.role, "username": user.username,
                         "shop_id": user.shop_id, "expires_at": iso(expires)})


@router.post("/logout", response_model=OkOut, responses=errors(401, 429))
async def logout(p: AnyUser, ctx: Ctx):
    """Revokes the token used for this request."""
    async with ctx.db.write() as session:
        await session.execute(update(Token).where(Token.token_hash == p.token_hash)
                              .values(revoked_at=datetime.now(UTC)))
    return JSONResponse({"ok": True})


@router.get("/profile", response_model=ProfileOut, responses=errors(401, 429))
async def profile(p: AnyUser, ctx: Ctx):
    async with ctx.db.read() as session:
        user = await session.get(User, p.user_id)
        shop = await session.get(Shop, user.shop_id) if user.shop_id else None
    return JSONResponse({"id": user.id, "username": user.username, "full_name": user.full_name,
                         "role": user.role, "shop_id": user.shop_id,
                         "shop_name": shop.name if shop else None, "is_open": shop.is_open if shop else None})
