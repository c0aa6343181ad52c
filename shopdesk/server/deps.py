"""Request dependencies: the server context, the caller (token → principal) and per-route rate limits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Query, Request
from sqlalchemy import select

from . import ratelimit
from .context import ServerContext
from .errors import Forbidden, Unauthorized
from .live import LoginRow
from .models import Token, User
from .security import token_hash


def get_ctx(request: Request) -> ServerContext:
    return request.app.state.ctx


Ctx = Annotated[ServerContext, Depends(get_ctx)]

SHOP_ROLES = ("staff", "owner")


@dataclass(frozen=True)
class OwnerAct:
    """Who acts (an owner, or an admin for any shop) and for which shop."""

    principal: Principal
    shop_id: int

    @property
    def actor(self) -> str:
        return self.principal.username


@dataclass(frozen=True)
class Principal:
    user_id: int
    username: str
    role: str
    shop_id: int | None
    token_hash: str
    expires_at: datetime

    @property
    def scope(self) -> str:
        return f"u{self.user_id}"


def public_url(request: Request) -> str:
    """How customers reach this server: SHOPDESK_PUBLIC_URL, else the address this request came in on."""
    configured = request.app.state.ctx.settings.public_url
    return configured or str(request.base_url).rstrip("/")


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


async def _principal(request: Request, ctx: ServerContext, token: str) -> Principal:
    """The token's login, from this process's memory when it is known there to be current (live.py: a
    logout, password reset or disabled login anywhere forgets it at once), else from the database."""
    th = token_hash(token)
    await ctx.live.settle()
    row = ctx.live.login(th)
    if row is None:
        stamp = ctx.live.stamp()
        async with ctx.db.read() as s:
            found = (await s.execute(
                select(Token.expires_at, Token.revoked_at, User.id, User.username, User.role, User.shop_id,
                       User.active).join(User, User.id == Token.user_id).where(Token.token_hash == th)
            )).first()
        if found is None:
            raise Unauthorized("Please log in: this token is not valid (it was revoked or never issued).")
        row = LoginRow(found.id, found.username, found.role, found.shop_id, found.active, found.expires_at,
                       found.revoked_at is not None)
        ctx.live.note_login(th, row, stamp)
    if row.revoked or not row.active:
        raise Unauthorized("Please log in: this token is not valid (it was revoked or never issued).")
    if row.expires_at <= datetime.now(UTC):
        raise Unauthorized("Your session has expired; please log in again.")
    # counted in memory: a read writes nothing (ratelimit.LocalLimiter)
    ctx.limits.hit(f"tok:{th[:32]}", ctx.settings.auth_rate_per_min, "requests with this login")
    return Principal(row.user_id, row.username, row.role, row.shop_id, th, row.expires_at)


async def current_principal(request: Request, ctx: Ctx) -> Principal:
    token = _bearer(request)
    if token is None:
        raise Unauthorized()
    return await _principal(request, ctx, token)


async def optional_principal(request: Request, ctx: Ctx) -> Principal | None:
    token = _bearer(request)
    return None if token is None else await _principal(request, ctx, token)


async def shop_principal(p: Annotated[Principal, Depends(current_principal)]) -> Principal:
    if p.role not in SHOP_ROLES or p.shop_id is None:
        raise Forbidden("Only the shop's staff and owner can do this.")
    return p


async def owner_principal(p: Annotated[Principal, Depends(current_principal)]) -> Principal:
    if p.role != "owner" or p.shop_id is None:
        raise Forbidden("Only the shop's owner can do this.")
    return p


async def owned_shop(p: Annotated[Principal, Depends(current_principal)],
                     shop_id: Annotated[int | None, Query(ge=1, le=2_147_483_647,
                                                          description="admin: the shop to act for")] = None
                     ) -> OwnerAct:
    """The shop whose settings the caller may change: an owner's own shop, or for an admin the shop
    named by `?shop_id=`."""
    if p.role == "admin":
        if shop_id is None:
            # a role question, not a malformed request: the same request is right for an owner
            raise Forbidden("An administrator names the shop to act for with ?shop_id=.")
        return OwnerAct(p, shop_id)
    if p.role != "owner" or p.shop_id is None:
        raise Forbidden("Only the shop's owner can do this.")
    if shop_id is not None and shop_id != p.shop_id:
        raise Forbidden("This is another shop's data.")
    return OwnerAct(p, p.shop_id)


async def admin_principal(p: Annotated[Principal, Depends(current_principal)]) -> Principal:
    if p.role != "admin":
        raise Forbidden("Only a platform administrator can do this.")
    return p


def anon_limit(kind: str):
    """Per-IP limit for an unauthenticated route: kind is 'login', 'upload' or 'anon'."""

    async def dep(request: Request, ctx: Ctx) -> None:
        s = ctx.settings
        limit, what = {
            "login": (s.login_rate_per_min, "login attempts"),
            "upload": (s.upload_rate_per_min, "uploads"),
            "anon": (s.anon_rate_per_min, "requests"),
        }[kind]
        await ratelimit.hit(ctx.db, f"{kind}:{client_ip(request)}", limit, what)

    return Depends(dep)


AnyUser = Annotated[Principal, Depends(current_principal)]
MaybeUser = Annotated[Principal | None, Depends(optional_principal)]
ShopUser = Annotated[Principal, Depends(shop_principal)]
Owner = Annotated[Principal, Depends(owner_principal)]
Admin = Annotated[Principal, Depends(admin_principal)]
ShopOwner = Annotated[OwnerAct, Depends(owned_shop)]
