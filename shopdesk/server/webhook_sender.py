"""The background sender of webhook deliveries, one per server process, never in a request's path.

Each round it claims due deliveries with a lease (a conditional UPDATE: with several worker processes
or hosts exactly one claims a given delivery; a crashed sender's lease runs out and another takes it),
sends each as its own asyncio task (one deadline for the whole try — connect, send, the answer's status
line — so a receiver that trickles its answer cannot hold a slot longer; redirects not followed; no
proxies), and writes the result: 2xx → delivered; anything else → retried after base × 2^(tries−1) seconds (at most 24 h) until
`webhook_max_attempts`, then failed. Deliveries of one job (or one shop) go out in the order they were
made: a later one waits while an earlier one is still pending. Each delivery is its own task: a slow
receiver holds only its own slots (at most half of them), never the others' deliveries."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.orm import aliased

from .context import ServerContext
from .models import Webhook, WebhookDelivery
from .services import webhooks

log = logging.getLogger("shopdesk.server.webhooks")
MAX_DELAY = 24 * 3600


@dataclass
class Claimed:
    id: int
    webhook_id: int
    event_id: str
    type: str
    body: str
    url: str
    salt: str
    attempts: int


def next_delay(base: float, attempts: int) -> float:
    """Seconds before the next try after `attempts` failed tries: base, 2·base, 4·base, … ≤ 24 h."""
    return min(base * (2 ** max(0, attempts - 1)), MAX_DELAY)


class Sender:
    def __init__(self, ctx: ServerContext, key: bytes):
        self.ctx, self.key = ctx, key
        s = ctx.settings
        self.me = uuid.uuid4().hex[:16]
        self.batch = max(1, s.webhook_concurrency)
        self.per_hook = max(1, self.batch // 2)  # one receiver never takes every slot
        self.in_flight: dict[int, int] = {}  # webhook id → its deliveries being sent now
        self.tasks: set[asyncio.Task] = set()
        self.slot_freed = asyncio.Event()
        self.tls = ssl.create_default_context()  # certificates and host names checked
        self.lease = timedelta(seconds=2 * s.webhook_timeout_seconds + 30)

    def close(self) -> None:
        for t in self.tasks:
            t.cancel()

    async def run_forever(self) -> None:
        due = self.ctx.live.deliveries_due  # set when any process stores deliveries (commit or NOTIFY)
        while True:
            due.clear()  # before looking: what is stored from now on wakes the next wait
            try:
                sent = await self.round()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("webhook round failed; will retry")
                sent = 0
            if sent:
                await asyncio.sleep(0)  # let the sends start before claiming more
                continue
            self.slot_freed.clear()
            # New deliveries or a freed slot: look again at once; retries that come due: at the next poll
            waits = [asyncio.ensure_future(self.slot_freed.wait()), asyncio.ensure_future(due.wait())]
            try:
                await asyncio.wait(waits, timeout=self.ctx.settings.webhook_poll_seconds,
                                   return_when=asyncio.FIRST_COMPLETED)
            finally:
                for w in waits:
                    w.cancel()

    async def round(self, now: datetime | None = None) -> int:
        """Claims what free slots allow and starts sending it; returns how many were started."""
        free = self.batch - len(self.tasks)
        if free <= 0:
            return 0
        claimed = await self.claim(now or datetime.now(UTC), free)
        for c in claimed:
            self.in_flight[c.webhook_id] = self.in_flight.get(c.webhook_id, 0) + 1
            task = asyncio.create_task(self._send_one(c))
            self.tasks.add(task)
        return len(claimed)

    async def _send_one(self, c: Claimed) -> None:
        try:
            await self.send(c)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("webhook delivery %s: recording the try failed; its lease will run out", c.event_id)
        finally:
            self.tasks.discard(asyncio.current_task())
            left = self.in_flight.get(c.webhook_id, 1) - 1
            if left > 0:
                self.in_flight[c.webhook_id] = left
            else:
                self.in_flight.pop(c.webhook_id, None)
            self.slot_freed.set()

    async def claim(self, now: datetime, limit: int | None = None) -> list[Claimed]:
        limit = self.batch if limit is None else limit
        D, E = WebhookDelivery, aliased(WebhookDelivery)
        earlier_pending = exists().where(E.webhook_id == D.webhook_id, E.subject == D.subject,
                                         E.status == "pending", E.id < D.id)
        free = or_(D.lease_until.is_(None), D.lease_until < now)
        busy = [h for h, n in self.in_flight.items() if n >= self.per_hook]
        where = [D.status == "pending", D.next_attempt_at <= now, free, ~earlier_pending]
        if busy:
            where.append(D.webhook_id.notin_(busy))
        async with self.ctx.db.read() as s:
            rows = (await s.execute(select(D.id, D.webhook_id).where(*where).order_by(D.id).limit(limit * 4))).all()
        ids, taking = [], dict(self.in_flight)
        for did, hook in rows:  # at most per_hook of one receiver at once, oldest first
            if len(ids) < limit and taking.get(hook, 0) < self.per_hook:
                ids.append(did)
                taking[hook] = taking.get(hook, 0) + 1
        if not ids:
            return []
        out: list[Claimed] = []
        async with self.ctx.db.write() as s:
            for did in ids:
                res = await s.execute(update(D).where(D.id == did, D.status == "pending", free)
                                      .values(lease_until=now + self.lease, lease_owner=self.me))
                if res.rowcount != 1:
                    continue  # another sender has it
                row = (await s.execute(select(D.id, D.webhook_id, D.event_id, D.type, D.body, D.attempts, Webhook.url,
                                              Webhook.salt)
                                       .join(Webhook, Webhook.id == D.webhook_id).where(D.id == did))).first()
                if row is not None:
                    out.append(Claimed(row.id, row.webhook_id, row.event_id, row.type, row.body, row.url, row.salt,
                                       row.attempts))
        return out

    async def _post(self, c: Claimed) -> tuple[int | None, str | None]:
        """(HTTP status, error in words) of one try."""
        s = self.ctx.settings
        why = await asyncio.to_thread(webhooks.refusal, c.url, own=[], allow_private=bool(s.webhook_allow_private))
        if why:  # the name may point elsewhere now than when it was registered
            return None, f"refused: {why}"
        body = c.body.encode()
        signature = webhooks.signature_header(webhooks.secret_for(self.key, c.salt), body, int(time.time()))
        try:
            code = await asyncio.wait_for(self._exchange(c, body, signature), timeout=s.webhook_timeout_seconds)
        except TimeoutError:
            return None, "the receiver did not answer in time"
        except ssl.SSLError as exc:
            return None, f"could not connect securely: {exc.reason or type(exc).__name__}"
        except OSError as exc:
            return None, f"could not connect: {type(exc).__name__}"
        except ValueError:
            return None, "the receiver's answer was not HTTP"
        if 200 <= code < 300:
            return code, None
        if 300 <= code < 400:
            return code, "redirects are not followed; give the final address"
        return code, f"the receiver answered {code}"

    async def _exchange(self, c: Claimed, body: bytes, signature: str) -> int:
        """POSTs the body and reads the answer's status line; nothing more of the answer is needed."""
        url = urlsplit(c.url)
        https = url.scheme == "https"
        target = (url.path or "/") + (f"?{url.query}" if url.query else "")
        head = {"Host": url.netloc.rsplit("@", 1)[-1], "Content-Type": "application/json",
                "Content-Length": str(len(body)), "User-Agent": "shopdesk-webhooks/1", "Connection": "close",
                "Shopdesk-Event-Id": c.event_id, "Shopdesk-Event-Type": c.type, "Shopdesk-Signature": signature}
        request = f"POST {target} HTTP/1.1\r\n".encode() + \
            "".join(f"{k}: {v}\r\n" for k, v in head.items()).encode() + b"\r\n" + body
        reader, writer = await asyncio.open_connection(url.hostname, url.port or (443 if https else 80),
                                                       ssl=self.tls if https else None, limit=16384)
        try:
            writer.write(request)
            await writer.drain()
            line = await reader.readline()  # b"HTTP/1.1 200 OK\r\n"
            parts = line.split(None, 2)
            if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
                raise ValueError("not an HTTP status line")
            return int(parts[1])
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 1)

    async def send(self, c: Claimed) -> None:
        code, error = await self._post(c)
        now = datetime.now(UTC)
        attempts = c.attempts + 1
        values: dict = {"attempts": attempts, "last_status_code": code, "last_error": error,
                        "last_attempt_at": now, "lease_until": None, "lease_owner": None}
        if error is None:
            values.update(status="delivered", delivered_at=now)
        elif attempts >= self.ctx.settings.webhook_max_attempts:
            values.update(status="failed")
            log.warning("webhook delivery %s given up after %d tries: %s", c.event_id, attempts, error)
        else:
            values.update(next_attempt_at=now + timedelta(
                seconds=next_delay(self.ctx.settings.webhook_backoff_seconds, attempts)))
        D = WebhookDelivery
        async with self.ctx.db.write() as s:
            await s.execute(update(D).where(and_(D.id == c.id, D.lease_owner == self.me)).values(**values))
