"""What a server process knows without asking the database on every request, kept true across processes.

- **Queue revisions** (shop id → `queue_rev`): a `GET /queue` with a matching `If-None-Match` is answered
  304 from memory, and a held long-poll waits without reading anything.
- **Logins** (token hash → the token's and its user's row): a request's token is checked in memory.
- **Webhooks** (shop id → its webhooks' ids and events), SQLite only: a move's transaction does not ask
  which webhooks want its event.

Both are changed by the commits that change them: the process that commits applies the marks of its own
transaction at once (`Database.on_commit`, signals.py); on PostgreSQL every other process hears them
through `LISTEN`/`NOTIFY` (one listening connection per process, `Listener`), which also wakes its held
long-polls. A value is trusted only while that is so:
- PostgreSQL: while the listening connection is up and has been since the value was read (each
  (re)connection starts a new generation, and values of an older one are read again);
- SQLite (the embedded server: usually one process): while no other process has committed since it was
  read. `PRAGMA data_version`, asked once per request, says that some connection committed; the count
  of write transactions (`commit_count`, bumped by every `Database.write`) then says whether they were
  all this process's own, whose marks it has already applied — so its own writes do not throw away
  what it knows, and another process's change is seen by its next request;
- and at most `TRUST_SECONDS` after it was read, as a backstop.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import secrets
import sqlite3
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from .signals import ACKS_CHANNEL, LOGINS_CHANNEL, QUEUE_CHANNEL, WEBHOOKS_CHANNEL

log = logging.getLogger("shopdesk.server.live")

TRUST_SECONDS = 60.0  # a value is read again at least this often anyway (a backstop)
MAX_LOGINS = 20_000  # cached tokens per process (then the cache starts over)
PING_SECONDS = 5.0  # the listening connection is checked this often when nothing is heard
ECHO_SECONDS = 1.0  # a committer waits at most this long for its notifications to be heard
LISTENER_NAME = "shopdesk-listener"  # the listening connections' application_name


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
    def __init__(self, *, postgresql: bool, notifier) -> None:
        self.postgresql = postgresql
        self.notifier = notifier
        self._sqlite_version: sqlite3.Connection | None = None  # SQLite: see refresh()
        self._sqlite_seen: int | None = None
        self._commits_known: int | None = None  # SQLite: commit_count up to which every commit is applied
        # bumped whenever what is known may be stale: PostgreSQL at each (re)connection and loss of the
        # listener, SQLite when another connection has committed (refresh())
        self.generation = 0
        self.forgets = 0  # bumped whenever logins are forgotten: a read begun before is not cached
        self.listening = False
        self._revs: dict[int, tuple[int, float, int]] = {}  # shop → (rev, read at, generation)
        self._logins: dict[str, tuple[LoginRow, float, int]] = {}  # token hash → (row, read at, generation)
        self._hooks: dict[int, tuple[tuple, float, int]] = {}  # shop → (webhooks, read at, generation)
        self._heard: collections.OrderedDict[tuple[str, str], None] = collections.OrderedDict()  # recent
        self._acks: collections.OrderedDict[str, set[str]] = collections.OrderedDict()  # nonce → processes
        self._waiters: dict[tuple, asyncio.Event] = {}
        self.deliveries_due = asyncio.Event()  # webhook deliveries stored by any process: the sender looks
        self.name = secrets.token_hex(6)  # this process, in acknowledgements
        # PostgreSQL: how many server processes listen now (set by the app: a query of pg_stat_activity)
        self.count_listeners: Callable[[], Awaitable[int]] | None = None

    # --- trust ----------------------------------------------------------------------------------------
    def stamp(self) -> tuple[float, int, int]:
        """Taken BEFORE a database read whose result is then given to `note_*`."""
        return time.monotonic(), self.generation, self.forgets

    def _fresh(self, read_at: float, generation: int) -> bool:
        if generation != self.generation or time.monotonic() - read_at >= TRUST_SECONDS:
            return False
        return self.listening or not self.postgresql

    def refresh(self) -> None:
        """SQLite: has another process committed since the last look? Then nothing known is trusted until
        read again. `PRAGMA data_version` on a connection of its own (a few microseconds, no thread
        hand-off) says whether any connection committed, this process's own writers too; only then the
        commit count says whether a commit was not this process's own (`committed()` counts those)."""
        if self._sqlite_version is None:
            return
        try:
            version = self._sqlite_version.execute("PRAGMA data_version").fetchone()[0]
            if version == self._sqlite_seen:
                return
            count = self._sqlite_version.execute("SELECT n FROM commit_count WHERE id = 1").fetchone()[0]
        except (sqlite3.Error, TypeError):
            version = count = None  # trust nothing this time
        self._sqlite_seen = version
        if count is None or count != self._commits_known:
            self._commits_known = count
            self.generation += 1

    def _counted(self, count: int) -> None:
        """SQLite: this process committed write transaction number `count`. If the one before it was
        known, no other process committed in between and what is known stays trusted."""
        if self._commits_known is not None and count == self._commits_known + 1:
            self._commits_known = count
        elif self._commits_known is None or count > self._commits_known:
            self._commits_known = count
            self.generation += 1  # another process committed before it: read again
        # count <= known: refresh() saw this commit first and already distrusted what it had to

    async def settle(self) -> None:
        """Before an answer from memory. PostgreSQL: let the event loop run what it has already received,
        so a notification that arrived together with (or just before) this request applies first.
        SQLite: `refresh()`."""
        if self.postgresql:
            for _ in range(3):
                await asyncio.sleep(0)
        else:
            self.refresh()

    def watch_sqlite(self, path: str) -> None:
        """SQLite: open the connection `refresh()` asks."""
        self._sqlite_version = sqlite3.connect(path, timeout=0.1, check_same_thread=False, isolation_level=None)
        self._sqlite_seen = self._commits_known = None
        self.refresh()

    def close(self) -> None:
        if self._sqlite_version is not None:
            self._sqlite_version.close()
            self._sqlite_version = None

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

    # --- webhooks (SQLite) ----------------------------------------------------------------------------
    def hooks(self, shop_id: int) -> tuple | None:
        """The shop's webhooks ((id, events) pairs) if known current, else None. Only on SQLite and only
        inside a write transaction (which holds the file's write lock, so the look is exact): on
        PostgreSQL another process's new webhook would be heard only after its commit, too late for a
        move committed in between."""
        if self.postgresql:
            return None
        self.refresh()
        entry = self._hooks.get(shop_id)
        if entry is not None and self._fresh(entry[1], entry[2]):
            return entry[0]
        return None

    def note_hooks(self, shop_id: int, hooks: tuple, stamp: tuple[float, int, int]) -> None:
        if not self.postgresql:
            self._hooks[shop_id] = (hooks, stamp[0], stamp[1])

    # --- changes --------------------------------------------------------------------------------------
    async def committed(self, info: dict) -> None:
        """`Database.on_commit`: this process's own transaction committed these marks (signals.py). They
        apply here at once. On PostgreSQL the answer then waits (≤ ECHO_SECONDS): for a login change
        until every listening server process has acknowledged it (so a logout is refused by all of them
        before the client hears "ok"), for a queue change until this process has heard it back."""
        if info.get("commit_count") is not None:
            self._counted(info["commit_count"])
        for user_id in info.get("logins", ()):
            self._forget_user(user_id)
        for shop_id in info.get("hooks", ()):
            self._hooks.pop(shop_id, None)
        for shop_id, rev in info.get("queue_revs", {}).items():
            self._moved(shop_id, rev)
        if info.get("deliveries"):
            self.deliveries_due.set()
        notified = info.get("notified", ())
        if not notified or not self.listening:
            return
        waits = []
        for channel, payload in notified:
            if channel == LOGINS_CHANNEL:
                waits.append(self._acknowledged(payload.partition(":")[2]))
            elif (channel, payload) not in self._heard:
                waits.append(self._event(("echo", channel, payload)).wait())
        try:
            await asyncio.wait_for(asyncio.gather(*waits), ECHO_SECONDS)
        except TimeoutError:
            log.warning("a change's notification was not acknowledged within %.0f s", ECHO_SECONDS)
        except Exception:  # the change is committed: its answer must not become an error
            log.exception("waiting for a change's acknowledgements failed")

    async def _acknowledged(self, nonce: str) -> None:
        wanted = await self.count_listeners() if self.count_listeners else 1
        while len(self._acks.get(nonce, ())) < wanted:
            await self._event(("ack", nonce)).wait()

    def _event(self, key: tuple) -> asyncio.Event:
        ev = self._waiters.get(key)
        if ev is None:
            ev = self._waiters[key] = asyncio.Event()
        return ev

    def _wake(self, key: tuple) -> None:
        ev = self._waiters.pop(key, None)
        if ev is not None:
            ev.set()

    def heard(self, channel: str, payload: str) -> str | None:
        """A NOTIFY from any server process (this one's own commits too). Returns the acknowledgement to
        send back, if the notification asks for one."""
        self._heard[(channel, payload)] = None
        if len(self._heard) > 1000:
            self._heard.popitem(last=False)
        self._wake(("echo", channel, payload))
        try:
            if channel == QUEUE_CHANNEL:
                shop, _, rev = payload.partition(":")
                self._moved(int(shop), int(rev))
            elif channel == LOGINS_CHANNEL:
                user, _, nonce = payload.partition(":")
                self._forget_user(int(user))
                return f"{nonce}:{self.name}"
            elif channel == WEBHOOKS_CHANNEL:
                self.deliveries_due.set()
            elif channel == ACKS_CHANNEL:
                nonce, _, who = payload.partition(":")
                self._acks.setdefault(nonce, set()).add(who)
                if len(self._acks) > 1000:
                    self._acks.popitem(last=False)
                self._wake(("ack", nonce))
        except ValueError:
            log.warning("ignored a malformed notification on %s", channel)
        return None

    def _listening(self, up: bool) -> None:
        self.generation += 1  # whatever was read before may have missed a notification
        self.listening = up
        if up:
            self.notifier.poke_all()  # held long-polls look again, now that they can trust what they hear


class Listener:
    """PostgreSQL: one connection per server process that LISTENs for the channels and hands what it hears
    to `Live` (acknowledging login changes); reconnects after a failure (meanwhile nothing is trusted:
    every request reads)."""

    def __init__(self, live: Live, database_url: str) -> None:
        from sqlalchemy.engine import make_url

        self.live = live
        # named, so an operator (or a test) can find it in pg_stat_activity
        url = make_url(database_url).set(drivername="postgresql").update_query_dict(
            {"application_name": LISTENER_NAME})
        self.conninfo = url.render_as_string(hide_password=False)

    async def run(self) -> None:
        import psycopg

        while True:
            try:
                async with await psycopg.AsyncConnection.connect(self.conninfo, autocommit=True) as conn:
                    for channel in (QUEUE_CHANNEL, LOGINS_CHANNEL, ACKS_CHANNEL, WEBHOOKS_CHANNEL):
                        await conn.execute(f"LISTEN {channel}")
                    self.live._listening(True)
                    while True:
                        heard = [n async for n in conn.notifies(timeout=PING_SECONDS, stop_after=1)]
                        if not heard:
                            await conn.execute("SELECT 1")  # a dead connection fails here, not silently
                        for n in heard:
                            ack = self.live.heard(n.channel, n.payload)
                            if ack is not None:
                                await conn.execute("SELECT pg_notify(%s, %s)", (ACKS_CHANNEL, ack))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 — any failure: distrust, wait, reconnect
                log.warning("the PostgreSQL listener stopped (%s); reconnecting", type(exc).__name__)
            finally:
                self.live._listening(False)
            await asyncio.sleep(1.0)

    @staticmethod
    def counter(db):
        """`Live.count_listeners` for this database: the server processes listening now."""
        from sqlalchemy import text

        async def count() -> int:
            async with db.read() as s:
                return (await s.execute(text(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = :name "
                    "AND datname = current_database()"), {"name": LISTENER_NAME})).scalar_one()

        return count

    @staticmethod
    async def stop(task: asyncio.Task) -> None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
