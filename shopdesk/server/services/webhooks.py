"""Signed webhooks: registration, the events a move emits (stored deliveries in the move's own
transaction — an outbox), the signature, and which URLs may receive them.

The signing secret is never stored. It is HMAC-SHA256(server key, "webhook:" + the row's salt): the
server key lives outside the database (SHOPDESK_WEBHOOK_KEY, else a 0600 file `webhook.key` in the data
directory, made on first use), so a copy of the database alone cannot forge or read signatures. Every
worker process and every server host on one database must share that key (the same data directory or
the same SHOPDESK_WEBHOOK_KEY); a new key changes every secret."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
import secrets
import socket
import uuid
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import simplejson
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from ...domain.jobs import Move
from .. import signals
from ..errors import BadRequest, Forbidden, NotFound
from ..models import Job, Order, Shop, Webhook, WebhookDelivery
from .views import iso, job_json, order_json

EVENTS = ("job.uploaded", "job.printing", "job.printed", "job.failed", "job.cancelled", "job.withdrawn",
          "shop.opened", "shop.closed")
MOVE_EVENTS = {Move.PRINT_STARTED: "job.printing", Move.PRINT_FAILED: "job.failed", Move.REQUEUE: "job.failed",
               Move.CONFIRM: "job.printed", Move.CANCEL: "job.cancelled", Move.WITHDRAW: "job.withdrawn"}
MAX_WEBHOOKS_PER_SHOP = 10


# --- the key and the secrets ----------------------------------------------------------------------------
def load_key(configured: str, data_dir: Path) -> bytes:
    """The server's webhook key: the configured one, else `data_dir/webhook.key` (made once, atomically,
    so worker processes starting together agree on one)."""
    if configured:
        return configured.encode()
    path = Path(data_dir) / "webhook.key"
    try:
        return bytes.fromhex(path.read_text().strip())
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".webhook.key.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_hex(32))
    try:
        os.link(tmp, path)  # fails if another process made it first: then theirs is the key
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    return bytes.fromhex(path.read_text().strip())


def secret_for(key: bytes, salt: str) -> str:
    return "whsec_" + hmac.new(key, f"webhook:{salt}".encode(), hashlib.sha256).hexdigest()


def signature_header(secret: str, body: bytes, t: int) -> str:
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


# --- which URLs may receive events ----------------------------------------------------------------------
def _addresses(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        return [ipaddress.ip_address(host.split("%")[0])]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return []
    return [ipaddress.ip_address(i[4][0].split("%")[0]) for i in infos]


def _is_this_machine(addr) -> bool:
    """True when `addr` is one of this machine's own addresses (it can be bound to)."""
    if addr.is_loopback:
        return True
    family = socket.AF_INET6 if addr.version == 6 else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.bind((str(addr), 0))
        return True
    except OSError:
        return False


def refusal(url: str, *, own: list[tuple[str, int]], allow_private: bool) -> str | None:
    """Why `url` may not receive webhooks, or None. `own`: (host, port) pairs this server answers on
    (its public_url, the address the request came in on, the port it listens on). An address of this
    machine on one of those ports is the server itself. Link-local (cloud metadata), multicast, reserved
    and unspecified addresses are always refused; loopback and private (LAN) addresses only when
    `allow_private` is off — a shop's SMS gateway is often on its LAN, or on the counter's own machine."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        return "the port is not a number"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "give an http:// or https:// address, e.g. https://sms.example.com/shopdesk"
    if parts.username or parts.password:
        return "put no user name or password in the address; the signature proves who sent it"
    host = parts.hostname.lower()
    port = port or (443 if parts.scheme == "https" else 80)
    if (host, port) in {(h.lower(), p) for h, p in own}:
        return "that is this server itself"
    addrs = _addresses(host, port)
    if not addrs:
        return f"the host '{host}' cannot be found"
    own_ports = {p for _, p in own}
    own_pairs = {(a, p) for h, p in own for a in _addresses(h, p)}
    for a in addrs:
        if (a, port) in own_pairs or (port in own_ports and _is_this_machine(a)):
            return "that is this server itself"
        if a.is_link_local or a.is_multicast or a.is_unspecified or a.is_reserved:
            return f"the address {a} cannot receive webhooks"
        if not allow_private and (a.is_loopback or a.is_private):
            return f"the address {a} is on a private network (this server sends to public addresses only)"
    return None


# --- registration -------------------------------------------------------------------------------------
def webhook_json(w: Webhook, last: WebhookDelivery | None = None) -> dict:
    return {"id": w.id, "url": w.url, "events": w.events.split(), "created_at": iso(w.created_at),
            "last_delivery": delivery_json(last) if last is not None else None}


def delivery_json(d: WebhookDelivery) -> dict:
    return {"id": d.event_id, "type": d.type, "created_at": iso(d.created_at), "status": d.status,
            "attempts": d.attempts, "last_status_code": d.last_status_code, "last_error": d.last_error,
            "last_attempt_at": iso(d.last_attempt_at), "next_attempt_at": iso(d.next_attempt_at)
            if d.status == "pending" else None, "delivered_at": iso(d.delivered_at)}


async def create(s: AsyncSession, *, shop_id: int, url: str, events: list[str], actor: str,
                 key: bytes) -> tuple[Webhook, str]:
    if await s.get(Shop, shop_id) is None:
        raise NotFound(f"No shop with id {shop_id}.")
    count = len((await s.scalars(select(Webhook.id).where(Webhook.shop_id == shop_id))).all())
    if count >= MAX_WEBHOOKS_PER_SHOP:
        raise BadRequest(f"A shop has at most {MAX_WEBHOOKS_PER_SHOP} connections; delete one first.")
    hook = Webhook(shop_id=shop_id, url=url, events=" ".join(e for e in EVENTS if e in events),
                   salt=secrets.token_hex(16), created_by=actor, created_at=datetime.now(UTC))
    s.add(hook)
    await s.flush()
    await signals.hooks_changed(s, shop_id)
    return hook, secret_for(key, hook.salt)


async def hook_of_shop(s: AsyncSession, hook_id: int, shop_id: int) -> Webhook:
    hook = await s.get(Webhook, hook_id)
    if hook is None:
        raise NotFound(f"No webhook with id {hook_id}.")
    if hook.shop_id != shop_id:
        raise Forbidden("This webhook belongs to another shop.")
    return hook


async def remove(s: AsyncSession, hook: Webhook) -> None:
    await s.execute(delete(WebhookDelivery).where(WebhookDelivery.webhook_id == hook.id))
    await s.delete(hook)
    await signals.hooks_changed(s, hook.shop_id)


async def listing(s: AsyncSession, shop_id: int) -> list[dict]:
    hooks = (await s.scalars(select(Webhook).where(Webhook.shop_id == shop_id).order_by(Webhook.id))).all()
    out = []
    for h in hooks:
        last = (await s.scalars(select(WebhookDelivery).where(WebhookDelivery.webhook_id == h.id)
                                .order_by(WebhookDelivery.id.desc()).limit(1))).first()
        out.append(webhook_json(h, last))
    return out


async def deliveries(s: AsyncSession, hook: Webhook, limit: int = 100) -> list[dict]:
    rows = (await s.scalars(select(WebhookDelivery).where(WebhookDelivery.webhook_id == hook.id)
                            .order_by(WebhookDelivery.id.desc()).limit(limit))).all()
    return [delivery_json(d) for d in rows]


# --- emitting: called inside the transaction of the change ------------------------------------------------
def _dumps(obj) -> str:
    return simplejson.dumps(obj, use_decimal=True, ensure_ascii=False, separators=(",", ":"))


async def _subscribers(s: AsyncSession, shop_id: int, event_type: str) -> list[tuple[int, frozenset[str]]]:
    """The shop's webhooks that take this event, as (id, events). Asked inside every move's transaction:
    on SQLite from this process's memory while no other process has committed (live.py); a webhook
    added or removed here is forgotten by its own commit (signals.hooks_changed)."""
    live = s.info.get("live")
    if live is not None:
        await s.connection()  # the write transaction has begun (SQLite: holds the lock): nobody commits now
        hooks = live.hooks(shop_id)
    else:
        hooks = None
    if hooks is None:
        stamp = live.stamp() if live is not None else None
        rows = (await s.execute(select(Webhook.id, Webhook.events).where(Webhook.shop_id == shop_id)
                                .order_by(Webhook.id))).all()
        hooks = tuple((hid, frozenset(events.split())) for hid, events in rows)
        if live is not None and shop_id not in s.info.get("hooks", ()):  # not this transaction's own change
            live.note_hooks(shop_id, hooks, stamp)
    return [h for h in hooks if event_type in h[1]]


async def _store(s: AsyncSession, hooks: list[tuple[int, frozenset[str]]], *, shop_id: int, event_type: str,
                 subject: str, data: dict, now: datetime) -> None:
    for hook_id, _events in hooks:
        event_id = "evt_" + uuid.uuid4().hex
        body = _dumps({"id": event_id, "type": event_type, "created_at": iso(now), "data": data})
        s.add(WebhookDelivery(webhook_id=hook_id, shop_id=shop_id, event_id=event_id, type=event_type,
                              subject=subject, body=body, created_at=now, next_attempt_at=now, attempts=0,
                              status="pending"))
    if hooks:
        await signals.deliveries_added(s)


async def job_data(s: AsyncSession, job: Job) -> dict:
    """The job as `GET /file/{code}` shows it (with its order)."""
    order = await s.get(Order, job.order_id)
    files = list((await s.scalars(select(Job).where(Job.order_id == job.order_id).order_by(Job.id))).all())
    out = job_json(job)
    out["order"] = order_json(order, files)
    out["customer_name"] = order.customer_name
    return out


async def emit_job(s: AsyncSession, job: Job, event_type: str, now: datetime | None = None) -> None:
    hooks = await _subscribers(s, job.shop_id, event_type)
    if hooks:
        await _store(s, hooks, shop_id=job.shop_id, event_type=event_type, subject=f"job:{job.id}",
                     data=await job_data(s, job), now=now or datetime.now(UTC))


async def emit_move(s: AsyncSession, job: Job, move: Move, now: datetime | None = None) -> None:
    await emit_job(s, job, MOVE_EVENTS[move], now)


async def emit_shop(s: AsyncSession, shop_id: int, is_open: bool, now: datetime | None = None) -> None:
    event_type = "shop.opened" if is_open else "shop.closed"
    hooks = await _subscribers(s, shop_id, event_type)
    if not hooks:
        return
    shop = await s.get(Shop, shop_id)
    data = {"shop_id": shop.id, "name": shop.name, "address": shop.address, "phone": shop.phone,
            "hours": shop.hours, "is_open": is_open, "last_heartbeat_at": iso(shop.last_heartbeat_at)}
    await _store(s, hooks, shop_id=shop_id, event_type=event_type, subject=f"shop:{shop_id}", data=data,
                 now=now or datetime.now(UTC))
