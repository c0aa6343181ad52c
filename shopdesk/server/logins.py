"""Wrong passwords, counted per (username, client address) so that guessing cannot be turned against the
account's owner: the first two failures cost nothing, then each next try from that address must wait
1, 2, 4 … s, and after `max_failed_logins` in a row that address may not try that username for
`lockout_seconds` — everyone else, the owner at the counter included, logs in as usual. Unknown usernames
are counted exactly like known ones, so no answer tells whether a username exists. When a pair is locked
the account's shop gets a notice (a `shop_events` row, "login.guessing")."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import case, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from .config import Settings
from .db import Database
from .errors import RateLimited
from .models import LoginFailure, ShopEvent, User

log = logging.getLogger("shopdesk.server.logins")

FREE_FAILURES = 2  # typos are free; the delay starts with the third wrong password
MAX_DELAY_SECONDS = 300


def _key(username: str, client: str) -> tuple[str, str]:
    return username.strip().lower()[:80], client[:64]


def delay_after(failures: int) -> int:
    """Seconds the next try must wait after `failures` wrong passwords in a row."""
    if failures <= FREE_FAILURES:
        return 0
    return min(MAX_DELAY_SECONDS, 2 ** (failures - FREE_FAILURES - 1))


async def check_allowed(db: Database, username: str, client: str, now: datetime | None = None) -> bool:
    """Raises RateLimited (429 + Retry-After) while this address must wait before trying this username.
    Returns whether earlier failures of the pair are on record (a success then clears them)."""
    now = now or datetime.now(UTC)
    name, client = _key(username, client)
    async with db.read() as s:
        row = (await s.execute(select(LoginFailure.blocked_until).where(
            LoginFailure.username == name, LoginFailure.client == client))).first()
    blocked = row.blocked_until if row is not None else None
    if blocked is not None and blocked > now:
        wait = int((blocked - now).total_seconds()) + 1
        when = f"{wait} s" if wait < 120 else f"{(wait + 59) // 60} min"
        raise RateLimited(f"Too many wrong passwords for this username from your address. Try again in {when}, "
                          "or ask the shop's owner.", wait)
    return row is not None


async def record_failure(db: Database, settings: Settings, *, username: str, client: str, user: User | None,
                         now: datetime | None = None) -> int:
    """Counts one wrong password for the pair; sets its delay or lock; writes the shop's notice when the pair
    becomes locked. Returns the failures in a row."""
    now = now or datetime.now(UTC)
    name, client = _key(username, client)
    forget_before = now - timedelta(seconds=settings.lockout_seconds)
    insert = sqlite_insert if db.is_sqlite else pg_insert
    stmt = insert(LoginFailure).values(username=name, client=client, failures=1, last_failed_at=now)
    stmt = stmt.on_conflict_do_update(
        index_elements=[LoginFailure.username, LoginFailure.client],
        # failures + 1, or 1 when the last failure is older than the lock window (a fresh start)
        set_={"failures": case((LoginFailure.last_failed_at < forget_before, 1), else_=LoginFailure.failures + 1),
              "last_failed_at": stmt.excluded.last_failed_at},
    ).returning(LoginFailure.failures)
    locked = False
    async with db.write() as s:
        failures = (await s.execute(stmt)).scalar_one()
        if failures >= settings.max_failed_logins:
            until, locked = now + timedelta(seconds=settings.lockout_seconds), failures == settings.max_failed_logins
        else:
            until = now + timedelta(seconds=delay_after(failures)) if delay_after(failures) else None
        await s.execute(update(LoginFailure).where(LoginFailure.username == name, LoginFailure.client == client)
                        .values(blocked_until=until))
        if locked and user is not None:
            minutes = settings.lockout_seconds // 60
            s.add(ShopEvent(shop_id=user.shop_id, at=now, actor="system", action="login.guessing",
                            target=user.username[:120],
                            detail=(f"{failures} wrong passwords in a row for '{user.username}' from {client}. "
                                    f"That address may not try this login for {minutes} min; logins from "
                                    "other addresses are not affected. If this was not one of your staff, "
                                    "someone is guessing the password: choose a long one.")))
    if locked:
        log.warning("login guessing: %d wrong passwords in a row for one username from %s; that pair is locked",
                    failures, client)
    return failures


async def record_success(db: Database, *, username: str, client: str) -> None:
    name, client = _key(username, client)
    async with db.write() as s:
        await s.execute(delete(LoginFailure).where(LoginFailure.username == name, LoginFailure.client == client))


async def forget_old(db: Database, settings: Settings) -> None:
    now = datetime.now(UTC)
    cutoff = now - timedelta(seconds=settings.lockout_seconds)
    async with db.write() as s:
        await s.execute(delete(LoginFailure).where(
            LoginFailure.last_failed_at < cutoff,
            (LoginFailure.blocked_until.is_(None)) | (LoginFailure.blocked_until < now)))
