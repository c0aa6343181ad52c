"""Accounts: staff, owners and admins are made by the CLI (or the demo); customers may register later."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from ..models import Shop, User
from ..security import hash_password

ROLES = ("customer", "staff", "owner", "admin")


def username_is(name: str):
    """The condition "this user's name is `name`", case-insensitively. SQLite's lower() folds ASCII only,
    so the exact name is matched too: 'Óscar' is found and seen as taken on SQLite as on PostgreSQL."""
    return or_(User.username == name, func.lower(User.username) == name.lower())


async def create_user(s: AsyncSession, *, username: str, password: str, role: str, shop_id: int | None = None,
                      full_name: str = "") -> User:
    username = username.strip()
    if not username or len(username) > 80 or any(c.isspace() for c in username):
        raise ValueError("a username is 1 to 80 characters without spaces")
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    if role in ("staff", "owner"):
        if shop_id is None:
            raise ValueError(f"a {role} belongs to a shop: give --shop ID")
        if await s.get(Shop, shop_id) is None:
            raise ValueError(f"no shop with id {shop_id}")
    elif shop_id is not None and role != "customer":
        raise ValueError("an admin does not belong to a shop")
    taken = (await s.scalars(select(User.id).where(username_is(username)))).first()
    if taken is not None:
        raise ValueError(f"the username {username!r} is taken")
    user = User(username=username, password_hash=hash_password(password), role=role,
                shop_id=shop_id if role in ("staff", "owner") else None, full_name=full_name,
                failed_logins=0, created_at=datetime.now(UTC))
    s.add(user)
    await s.flush()
    return user
