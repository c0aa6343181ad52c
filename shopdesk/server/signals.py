"""Marks a write transaction leaves for the server processes' in-memory state (live.py): a shop's queue
moved to a new revision, a login's sessions changed (logout, password reset, disabled, new role),
a shop's webhooks changed, webhook deliveries stored (the senders wake).

Each mark is kept on the session and, on PostgreSQL, also sent as a `NOTIFY` in the same transaction, so
every server process hears it exactly when (and only if) the change commits. The process that made the
change applies its marks right after its own commit (`Database.write()` → `on_commit`); before it
answers, it waits (≤ 1 s) until every listening process has acknowledged a login change, and until its
own listener has heard a queue change back (live.py)."""

from __future__ import annotations

import secrets

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

QUEUE_CHANNEL = "shopdesk_queue"  # payload "<shop id>:<queue revision>"
LOGINS_CHANNEL = "shopdesk_logins"  # payload "<user id>:<nonce>"
ACKS_CHANNEL = "shopdesk_acks"  # payload "<nonce>:<process>": a process has forgotten that login
WEBHOOKS_CHANNEL = "shopdesk_webhooks"  # payload a nonce: webhook deliveries were stored, due now


def _is_postgresql(s: AsyncSession) -> bool:
    return s.bind is not None and s.bind.dialect.name == "postgresql"


async def _notify(s: AsyncSession, channel: str, payload: str, *, awaited: bool = True) -> None:
    """`awaited`: the committer's answer waits for this notification's echo (or acknowledgements)."""
    if _is_postgresql(s):
        await s.execute(select(func.pg_notify(channel, payload)))
        if awaited:
            s.info.setdefault("notified", []).append((channel, payload))


async def queue_changed(s: AsyncSession, shop_id: int, rev: int) -> None:
    s.info.setdefault("queue_revs", {})[shop_id] = rev
    await _notify(s, QUEUE_CHANNEL, f"{shop_id}:{rev}")


async def logins_changed(s: AsyncSession, user_id: int) -> None:
    """The login's tokens, role or state changed: every process forgets what it cached about it."""
    s.info.setdefault("logins", set()).add(user_id)
    await _notify(s, LOGINS_CHANNEL, f"{user_id}:{secrets.token_hex(4)}")


async def hooks_changed(s: AsyncSession, shop_id: int) -> None:
    """A webhook of the shop was added or removed: this process forgets the shop's webhooks it knew (on
    SQLite; another process notices the commit itself, live.py — on PostgreSQL nothing is kept)."""
    s.info.setdefault("hooks", set()).add(shop_id)


async def deliveries_added(s: AsyncSession) -> None:
    """Webhook deliveries were stored: every process's sender looks at once (it polls only for retries)."""
    s.info["deliveries"] = True
    await _notify(s, WEBHOOKS_CHANNEL, secrets.token_hex(4), awaited=False)  # nobody's answer waits on it
