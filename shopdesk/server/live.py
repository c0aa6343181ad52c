"""What a server process knows without asking the database on every request, kept true across processes.

- **Queue revisions** (shop id → `queue_rev`): a `GET /queue` with a matching `If-None-Match` is answered
  304 from memory, and a held long-poll waits without reading anything.
- **Logins** (token hash → the token's and its user's row): a request's token is checked in memory.

Both are changed by the commits that change them: the process that commits applies the marks of its own
transaction at once (`Database.on_commit`, signals.py); on PostgreSQL every other process hears them
through `LISTEN`/`NOTIFY` (one listening connection per process, `Listener`), which also wakes its held
long-polls. A value is trusted only while that is so:
- PostgreSQL: while the listening connection is up and has been since the value was read (each
  (re)connection starts a new generation, and values of an older one are read again), and at most
  `TRUST_SECONDS` after it was read, as a backstop;
- SQLite (the embedded server: one process): at most `Settings.longpoll_check_seconds` (0.25 s) after it
  was read from the database, for another process on the same file (a second `serve`, a CLI import).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from datetime import datetime

from .signals import LOGINS_CHANNEL, QUEUE_CHANNEL

log = logging.getLogger("shopdesk.server.live")

TRUST_SECONDS = 60.0  # PostgreSQL, listener up: re-read a value at least this often anyway
MAX_LOGINS = 20_000  # cached tokens per process (then the cache starts over)
PING_SECONDS = 5.0  # the listening connection is checked this often when nothing is heard


@dataclass(frozen=True)
class LoginRow:
    """What a request needs to know about its token (deps.py)."""

    user_id: int
    username: str
    role: str
    shop_id: int | None
    active: bool
    expires_at: datetime
    revoked: bool


class Live:
    def __init__(self, *, postgresql: bool, local_seconds: float, notifier) -> None:
        self.postgresql = postgresql
        self.local_seconds = local_seconds
        self.notifier = notifier
        self.generation = 0  # PostgreSQL: bumped at each (re)connection and loss of the listener
        self.forgets = 0  # bumped whenever logins are forgotten: a read begun before is not cached
        self.listening = False
        self._revs: dict[int, tuple[int, float, int]] = {}  # shop → (rev, read at, generation)
        self._logins: dict[str, tuple[LoginRow, float, int]] = {}  # token hash → (row, read at, generation)

    # --- trust ----------------------------------------------------------------------------------------
    def stamp(self) -> tuple[float, int, int]:
        """Taken BEFORE a database read whose result is then given to `note_*`."""
        return time.monotonic(), self.generation, self.forgets

    def _fresh(self, read_at: float, generation: int) -> bool:
        age = time.monotonic() - read_at
        if not self.postgresql:
            return age < self.local_seconds
        return self.listening and generation == self.generation and age < TRUST_SECONDS

    # --- queue revisions ------------------------------------------------------------------------------
    def queue_rev(self, shop_id: int) -> int | None:
        """The shop's queue revision if it is known to be current here, else None (read the database)."""
        entry = self._revs.get(shop_id)
        if entry is not None and self._fresh(entry[1], entry[2]):
            return entry[0]
        return None

    def note_rev(self, shop_id: int, rev: int, stamp: tuple[float, int, int]) -> int:
        """Revisions only grow: a read that raced a newer commit never moves it back."""
        old = self._revs.get(shop_id)
        if old is not None and old[0] > rev:
            rev = old[0]
        self._revs[shop_id] = (rev, stamp[0], stamp[1])
        return rev

    def _moved(self, shop_id: int, rev: int) -> None:
        old = self._revs.get(shop_id)
        if old is None or rev > old[0] or old[2] != self.generation:
            self._revs[shop_id] = (rev, time.monotonic(), self.generation)
        self.notifier.poke(shop_id)

    # --- logins ---------------------------------------------------------------------------------------
    def login(self, token_hash: str) -> LoginRow | None:
        entry = self._logins.get(token_hash)
        if entry is not None and self._fresh(entry[1], entry[2]):
            return entry[0]
        return None

    def note_login(self, token_hash: str, row: LoginRow, stamp: tuple[float, int, int]) -> None:
        if stamp[2] != self.forgets:  # a logout/disable was heard while this was read: it may be stale
            return
        if len(self._logins) >= MAX_LOGINS:
            self._logins = {}
        self._logins[token_hash] = (row, stamp[0], stamp[1])

    def _forget_user(self, user_id: int) -> None:
        self.forgets += 1
        self._logins = {th: e for th, e in self._logins.items() if e[0].user_id != user_id}

    # --- changes --------------------------------------------------------------------------------------
    def committed(self, info: dict) -> None:
        """`Database.on_commit`: this process's own transaction committed these marks (signals.py)."""
        for user_id in info.get("logins", ()):
            self._forget_user(user_id)
        for shop_id, rev in info.get("queue_revs", {}).items():
            self._moved(shop_id, rev)

    def heard(self, channel: str, payload: str) -> None:
        """A NOTIFY from any server process (this one's own commits too)."""
        try:
            if channel == QUEUE_CHANNEL:
                shop, _, rev = payload.partition(":")
                self._moved(int(shop), int(rev))
            elif channel == LOGINS_CHANNEL:
                self._forget_user(int(payload))
        except ValueError:
            log.warning("ignored a malformed notification on %s", channel)

    def _listening(self, up: bool) -> None:
        self.generation += 1  # whatever was read before may have missed a notification
        self.listening = up
        if up:
            self.notifier.poke_all()  # held long-polls look again, now that they can trust what they hear


class Listener:
    """PostgreSQL: one connection per server process that LISTENs for the two channels and hands what it
    hears to `Live`; reconnects after a failure (meanwhile nothing is trusted: every request reads)."""

    def __init__(self, live: Live, database_url: str) -> None:
        from sqlalchemy.engine import make_url

        self.live = live
        url = make_url(database_url).set(drivername="postgresql")
        self.conninfo = url.render_as_string(hide_password=False)

    async def run(self) -> None:
        import psycopg

        while True:
            try:
                async with await psycopg.AsyncConnection.connect(self.conninfo, autocommit=True) as conn:
                    await conn.execute(f"LISTEN {QUEUE_CHANNEL}")
                    await conn.execute(f"LISTEN {LOGINS_CHANNEL}")
                    self.live._listening(True)
                    while True:
                        async for n in conn.notifies(timeout=PING_SECONDS):
                            self.live.heard(n.channel, n.payload)
                        await conn.execute("SELECT 1")  # a dead connection fails here, not silently
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 — any failure: distrust, wait, reconnect
                log.warning("the PostgreSQL listener stopped (%s); reconnecting", type(exc).__name__)
            finally:
                self.live._listening(False)
            await asyncio.sleep(1.0)

    @staticmethod
    async def stop(task: asyncio.Task) -> None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
