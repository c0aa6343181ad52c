"""The owner's controls: the shop's profile, its price table, its logins — and the first-run setup that
creates a shop with its owner in one transaction. Every change writes a ShopEvent (the shop's audit
trail). Problems are collected and raised together as one 400 whose parts start with the field they
belong to (`owner.password: …`), so a form can put each message next to its field."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from sqlalchemy import case, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ...domain.money import format_amount, to_cents
from ...domain.pricing import PriceTable
from ...domain.printsettings import ColorMode, PaperSize
from .. import signals
from ..errors import BadRequest, Conflict, NotFound
from ..models import Shop, ShopEvent, ShopPrice, Token, User
from ..security import hash_off_loop
from . import shops as shop_service
from .users import username_is
from .views import iso

MIN_PASSWORD = 10
MAX_PRICE_CENTS = 1_000_000  # 10000.00 a page
SHOP_ROLES = ("staff", "owner")
PROFILE_LIMITS = {"name": 120, "address": 200, "phone": 40, "hours": 200}


class Problems:
    """Collects `field: message` problems; `raise_if_any()` raises them as one BadRequest."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, field: str, message: str) -> None:
        self.items.append(f"{field}: {message}")

    def raise_if_any(self) -> None:
        if self.items:
            raise BadRequest("; ".join(self.items))


async def record(s: AsyncSession, *, shop_id: int | None, actor: str, action: str, target: str | None = None,
                 detail: str | None = None) -> None:
    s.add(ShopEvent(shop_id=shop_id, at=datetime.now(UTC), actor=actor, action=action, target=target,
                    detail=detail))


# --- checks ----------------------------------------------------------------------------------------
def check_profile(values: dict, problems: Problems, prefix: str = "") -> dict:
    """Trimmed values of name/address/phone/hours that were given; a shop name may not be empty."""
    out = {}
    for key, limit in PROFILE_LIMITS.items():
        if values.get(key) is None:
            continue
        value = " ".join(str(values[key]).split())
        if key == "name" and not value:
            problems.add(prefix + key, "the shop needs a name")
        elif len(value) > limit:
            problems.add(prefix + key, f"at most {limit} characters")
        else:
            out[key] = value
    return out


def check_username(username: str | None, problems: Problems, field: str) -> str:
    name = (username or "").strip()
    if not name:
        problems.add(field, "choose a username")
    elif len(name) > 80 or any(c.isspace() for c in name) or not name.isprintable():
        problems.add(field, "a username is 1 to 80 characters, without spaces")
    return name


def check_password(password: str | None, problems: Problems, field: str, username: str = "") -> str:
    pw = password or ""
    if len(pw) < MIN_PASSWORD:
        problems.add(field, f"a password needs at least {MIN_PASSWORD} characters")
    elif len(pw) > 200:
        problems.add(field, "a password has at most 200 characters")
    elif username and pw.lower() == username.lower():
        problems.add(field, "the password may not be the username")
    return pw


def check_prices(rows: list[dict], problems: Problems, field: str = "prices") -> PriceTable:
    """Every (colour × paper) pair exactly once, each 0.00–10000.00 with at most two decimals."""
    wanted = {(c.value, p.value) for c in ColorMode for p in PaperSize}
    seen: dict[tuple[str, str], int] = {}
    for row in rows:
        key = (str(row.get("color_mode")), str(row.get("paper_size")))
        label = f"{field}.{key[0]}.{key[1]}"
        if key not in wanted:
            problems.add(field, f"unknown colour mode or paper size {key[0]!r}/{key[1]!r}")
            continue
        if key in seen:
            problems.add(label, "given twice")
            continue
        try:
            cents = to_cents(Decimal(str(row.get("price"))))
        except (ValueError, InvalidOperation):
            problems.add(label, "a price is an amount with at most two decimals, e.g. 1.50")
            continue
        if not 0 <= cents <= MAX_PRICE_CENTS:
            problems.add(label, f"a price is between 0.00 and {format_amount(MAX_PRICE_CENTS)}")
            continue
        seen[key] = cents
    missing = sorted(wanted - set(seen) - {(str(r.get("color_mode")), str(r.get("paper_size"))) for r in rows})
    for color, paper in missing:
        problems.add(f"{field}.{color}.{paper}", "missing: give every colour mode and paper size at once")
    return PriceTable.from_rows((c, p, cents) for (c, p), cents in seen.items())


async def username_taken(s: AsyncSession, username: str) -> bool:
    return (await s.scalars(select(User.id).where(username_is(username)))).first() is not None


# --- changes ---------------------------------------------------------------------------------------
async def update_profile(s: AsyncSession, *, shop_id: int, actor: str, values: dict) -> Shop:
    problems = Problems()
    clean = check_profile(values, problems)
    problems.raise_if_any()
    shop = await shop_service.get_shop(s, shop_id)
    changed = {k: v for k, v in clean.items() if getattr(shop, k) != v}
    if changed:
        await s.execute(update(Shop).where(Shop.id == shop_id).values(**changed))
        words = ", ".join(f"{k} {getattr(shop, k)!r} → {v!r}" for k, v in changed.items())
        await record(s, shop_id=shop_id, actor=actor, action="profile.update", detail=words)
        await s.refresh(shop)
    return shop


async def set_prices(s: AsyncSession, *, shop_id: int, actor: str, rows: list[dict]) -> PriceTable:
    problems = Problems()
    table = check_prices(rows, problems)
    problems.raise_if_any()
    before = await shop_service.price_table(s, shop_id)
    changes = []
    for color, paper, cents in table.as_rows():
        old = before.price(color, paper)
        if old != cents:
            await s.execute(update(ShopPrice).where(ShopPrice.shop_id == shop_id, ShopPrice.color_mode == color,
                                                    ShopPrice.paper_size == paper).values(cents=cents))
            changes.append(f"{color} {paper} {format_amount(old)} → {format_amount(cents)}")
    if changes:
        await record(s, shop_id=shop_id, actor=actor, action="prices.update", detail=", ".join(changes))
    return table


def staff_json(u: User) -> dict:
    return {"id": u.id, "username": u.username, "full_name": u.full_name, "role": u.role, "active": u.active,
            "last_login_at": iso(u.last_login_at)}


async def staff_of(s: AsyncSession, shop_id: int) -> list[User]:
    return list((await s.scalars(select(User).where(User.shop_id == shop_id, User.role.in_(SHOP_ROLES))
                                 .order_by(case((User.role == "owner", 0), else_=1), func.lower(User.username)))).all())


async def prehash(password: str | None, limiter=None) -> str | None:
    """The password's hash, made before the write transaction opens (argon2's ~0.1 s of CPU must not hold
    the database's write lock); None when there is no password or its length rules it out (the service
    then says why)."""
    if password is None or not MIN_PASSWORD <= len(password) <= 200:
        return None
    return await hash_off_loop(password, limiter)


async def add_login(s: AsyncSession, *, shop_id: int, actor: str, username: str, password: str, full_name: str,
                    role: str, limiter=None, password_hash: str | None = None) -> User:
    """A new staff or owner login of the shop (409 when the username is taken). `password_hash`: the
    password's hash made beforehand by `prehash` (else it is made here, inside the transaction)."""
    problems = Problems()
    name = check_username(username, problems, "username")
    check_password(password, problems, "password", name)
    full = " ".join((full_name or "").split())
    if len(full) > 120:
        problems.add("full_name", "at most 120 characters")
    if role not in SHOP_ROLES:
        problems.add("role", "a login of the shop is 'staff' or 'owner'")
    problems.raise_if_any()
    if await username_taken(s, name):
        raise Conflict(f"username: the username '{name}' is taken; choose another")
    password_hash = password_hash or await hash_off_loop(password, limiter)
    user = User(username=name, password_hash=password_hash, role=role, shop_id=shop_id,
                full_name=full, active=True, failed_logins=0, created_at=datetime.now(UTC))
    s.add(user)
    await s.flush()
    await record(s, shop_id=shop_id, actor=actor, action="staff.add", target=name, detail=f"new {role} login")
    return user


async def _active_owners(s: AsyncSession, shop_id: int) -> int:
    return (await s.execute(select(func.count()).select_from(User).where(
        User.shop_id == shop_id, User.role == "owner", User.active.is_(True)))).scalar_one()


async def revoke_tokens(s: AsyncSession, user_id: int, now: datetime) -> None:
    await s.execute(update(Token).where(Token.user_id == user_id, Token.revoked_at.is_(None)).values(revoked_at=now))
    await signals.logins_changed(s, user_id)


@dataclass
class LoginChange:
    active: bool | None = None
    password: str | None = None
    full_name: str | None = None
    role: str | None = None


async def change_login(s: AsyncSession, *, shop_id: int, user_id: int, actor: str, change: LoginChange,
                       limiter=None, password_hash: str | None = None) -> User:
    """Disable/enable, reset the password, rename, change the role. Disabling revokes the login's tokens
    at once; the shop's last active owner can be neither disabled nor demoted (409). `password_hash`: the
    new password's hash made beforehand by `prehash`."""
    user = await s.get(User, user_id, with_for_update=True)
    if user is None or user.shop_id != shop_id or user.role not in SHOP_ROLES:
        raise NotFound(f"No login with id {user_id} at this shop.")
    problems = Problems()
    if change.password is not None:
        check_password(change.password, problems, "password", user.username)
    if change.role is not None and change.role not in SHOP_ROLES:
        problems.add("role", "a login of the shop is 'staff' or 'owner'")
    full = None if change.full_name is None else " ".join(change.full_name.split())
    if full is not None and len(full) > 120:
        problems.add("full_name", "at most 120 characters")
    problems.raise_if_any()
    await signals.logins_changed(s, user.id)  # role, state or password: no process keeps the old one
    now = datetime.now(UTC)
    loses_owner = user.role == "owner" and user.active and (
        change.active is False or (change.role is not None and change.role != "owner"))
    if loses_owner and await _active_owners(s, shop_id) <= 1:
        raise Conflict(f"'{user.username}' is the shop's last active owner: add or enable another owner first.")
    events: list[tuple[str, str]] = []
    if change.active is not None and change.active != user.active:
        user.active = change.active
        if not change.active:
            await revoke_tokens(s, user.id, now)
            events.append(("staff.disable", "disabled; its sessions were ended"))
        else:
            user.failed_logins, user.locked_until = 0, None
            events.append(("staff.enable", "enabled"))
    if change.password is not None:
        user.password_hash = password_hash or await hash_off_loop(change.password, limiter)
        user.failed_logins, user.locked_until = 0, None
        await revoke_tokens(s, user.id, now)  # a reset password ends the old sessions
        events.append(("staff.password", "password reset; its sessions were ended"))
    if change.role is not None and change.role != user.role:
        events.append(("staff.role", f"role {user.role} → {change.role}"))
        user.role = change.role
    if full is not None and full != user.full_name:
        events.append(("staff.rename", f"full name {user.full_name!r} → {full!r}"))
        user.full_name = full
    for action, words in events:
        await record(s, shop_id=shop_id, actor=actor, action=action, target=user.username, detail=words)
    await s.flush()
    return user


async def any_shop(s: AsyncSession) -> bool:
    return (await s.scalars(select(Shop.id).limit(1))).first() is not None


async def set_up_shop(s: AsyncSession, *, shop: dict, owner: dict, prices: list[dict] | None,
                      staff: dict | None, limiter=None) -> tuple[Shop, User]:
    """First run: the shop, its prices, its owner and optionally a first staff login, all or nothing
    (the caller's transaction). Every problem of the form is reported at once."""
    problems = Problems()
    profile = check_profile({k: shop.get(k) or "" for k in PROFILE_LIMITS}, problems, "shop.")
    table = check_prices(prices, problems) if prices is not None else None
    owner_name = check_username(owner.get("username"), problems, "owner.username")
    check_password(owner.get("password"), problems, "owner.password", owner_name)
    staff_name = ""
    if staff:
        staff_name = check_username(staff.get("username"), problems, "staff.username")
        check_password(staff.get("password"), problems, "staff.password", staff_name)
        if staff_name and staff_name.lower() == owner_name.lower():
            problems.add("staff.username", "the staff login needs another username than the owner's")
    problems.raise_if_any()
    for field, name in (("owner.username", owner_name), ("staff.username", staff_name)):
        if name and await username_taken(s, name):
            problems.add(field, f"the username '{name}' is taken; choose another")
    problems.raise_if_any()
    kwargs = {"prices": table} if table is not None else {}
    new = await shop_service.create_shop(s, name=profile["name"], **kwargs)
    new.address, new.phone, new.hours = profile.get("address", ""), profile.get("phone", ""), profile.get("hours", "")
    await record(s, shop_id=new.id, actor=owner_name, action="shop.setup", target=new.name,
                 detail="shop created on first run")
    user = await add_login(s, shop_id=new.id, actor=owner_name, username=owner_name, password=owner["password"],
                           full_name=owner.get("full_name") or "", role="owner", limiter=limiter)
    if staff:
        await add_login(s, shop_id=new.id, actor=owner_name, username=staff_name, password=staff["password"],
                        full_name=staff.get("full_name") or "", role="staff", limiter=limiter)
    await s.flush()
    return new, user


def events_json(rows: list[ShopEvent]) -> list[dict]:
    return [{"id": e.id, "at": iso(e.at), "actor": e.actor, "action": e.action, "target": e.target,
             "detail": e.detail} for e in rows]


async def events_of(s: AsyncSession, shop_id: int, limit: int = 200) -> list[ShopEvent]:
    return list((await s.scalars(select(ShopEvent).where(ShopEvent.shop_id == shop_id)
                                 .order_by(ShopEvent.id.desc()).limit(limit))).all())
