"""Shops: creation with the default price table, prices, open/closed and the heartbeat."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ...domain.pricing import DEFAULT_PRICES, PriceTable
from ..errors import NotFound
from ..models import Shop, ShopPrice
from . import webhooks


async def create_shop(s: AsyncSession, *, name: str, heartbeat_limit_seconds: int = 180,
                      commission_bp: int = 0, prices: PriceTable = DEFAULT_PRICES) -> Shop:
    name = name.strip()
    if not name:
        raise ValueError("a shop needs a name")
    shop = Shop(name=name, heartbeat_limit_seconds=heartbeat_limit_seconds, commission_bp=commission_bp,
                is_open=False, queue_rev=0, created_at=datetime.now(UTC))
    s.add(shop)
    await s.flush()
    for color, paper, cents in prices.as_rows():
        s.add(ShopPrice(shop_id=shop.id, color_mode=color, paper_size=paper, cents=cents))
    await s.flush()
    return shop


async def get_shop(s: AsyncSession, shop_id: int) -> Shop:
    shop = await s.get(Shop, shop_id)
    if shop is None:
        raise NotFound(f"No shop with id {shop_id}.")
    return shop


async def price_table(s: AsyncSession, shop_id: int) -> PriceTable:
    rows = (await s.execute(select(ShopPrice.color_mode, ShopPrice.paper_size, ShopPrice.cents)
                            .where(ShopPrice.shop_id == shop_id))).all()
    return PriceTable.from_rows(rows)


async def set_open(s: AsyncSession, *, shop_id: int, is_open: bool, now: datetime | None = None) -> Shop:
    now = now or datetime.now(UTC)
    values: dict = {"is_open": is_open}
    if is_open:
        values["last_heartbeat_at"] = now  # opening counts as a heartbeat
    changed = (await s.execute(update(Shop).where(Shop.id == shop_id, Shop.is_open != is_open)
                               .values(**values))).rowcount
    if not changed:
        await s.execute(update(Shop).where(Shop.id == shop_id).values(**values))
    shop = await get_shop(s, shop_id)
    if changed:
        await webhooks.emit_shop(s, shop_id, is_open, now)
    return shop


async def heartbeat(s: AsyncSession, *, shop_id: int, now: datetime | None = None) -> Shop:
    await s.execute(update(Shop).where(Shop.id == shop_id).values(last_heartbeat_at=now or datetime.now(UTC)))
    return await get_shop(s, shop_id)
