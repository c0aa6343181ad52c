"""Idempotency-Key for state-changing POSTs, kept in the database: the stored response is written in the
same transaction as the change it describes, so a change and its record commit together or not at all,
and two concurrent requests with one key leave exactly one change (the loser replays the winner).

A key belongs to its caller: a logged-in user's keys are theirs alone, and walk-ins' keys are kept per
client address. A stored answer is replayed only to a request with the same fingerprint (method, path,
query and body, read before anything is replayed); the same key with another request is a 422 that names
nothing of the first one."""

from __future__ import annotations

import hashlib
import inspect
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import simplejson
from fastapi import Request
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from .context import ServerContext
from .errors import ApiError, BadRequest, JSONResponse, Unprocessable
from .models import IdempotencyRecord

AfterCommit = list[Callable[[], object]]  # run after the commit; may return an awaitable
Handler = Callable[[AsyncSession, AfterCommit], Awaitable[tuple[int, object]]]
_REPLAYABLE_ERRORS = {400, 403, 404, 409, 413}


REUSED = ("This Idempotency-Key was already used for a different request. Send a new key with a new "
          "request; repeat a key only to repeat the very same request.")


def _dumps(body: object) -> str:
    return simplejson.dumps(body, use_decimal=True, ensure_ascii=False)


def caller_scope(request: Request, scope: str) -> str:
    """"anon" (a walk-in) becomes the client's address, hashed to fit the column and keep no address."""
    if scope != "anon":
        return scope
    from .deps import client_ip

    return "ip:" + hashlib.sha256(client_ip(request).encode()).hexdigest()[:32]


def _canonical(body: bytes) -> bytes:
    """A JSON body by its meaning (key order and spacing do not make another request)."""
    if not body.strip():
        return b""
    try:
        return json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except (ValueError, RecursionError):
        return body


def fingerprint(request: Request, content: bytes) -> str:
    h = hashlib.sha256()
    h.update(f"{request.method} {request.url.path}?{request.url.query}\n".encode())
    h.update(content)
    return h.hexdigest()


class _Replayed(Exception):
    def __init__(self, response: JSONResponse):
        super().__init__("replayed")
        self.response = response


class Once:
    """`once = await Once.begin(ctx, request, scope)`; `once.replay` is the stored response of an earlier
    request with this key (return it), else `await once.run(handler)` runs the change exactly once."""

    def __init__(self, ctx: ServerContext, request: Request, scope: str, key: str | None, fingerprint: str):
        self.ctx, self.scope, self.key = ctx, scope, key
        self.fingerprint = fingerprint
        self._legacy = f"{request.method} {request.url.path}"  # records written before fingerprints had bodies
        self.replay: JSONResponse | None = None
        self._deferred = False

    @classmethod
    async def begin(cls, ctx: ServerContext, request: Request, scope: str, *, content: bytes | None = None,
                    deferred: bool = False) -> Once:
        """scope: the caller's (`Principal.scope`), or "anon" for a walk-in. content: what identifies the
        request's body when it is not the raw body (an upload: its fields and the files' hashes).
        deferred: the stored response is looked up inside run()'s write transaction, not in a read
        transaction of its own first (`replay` stays None; run() returns the replay): one database round
        trip fewer for a short change such as a job move, and the same answers."""
        key = request.headers.get("idempotency-key")
        if key is not None:
            key = key.strip()
            if not key or len(key) > 200 or not key.isprintable():
                raise BadRequest("Idempotency-Key must be 1 to 200 printable characters")
        if content is None:
            content = _canonical(await request.body()) if key else b""
        once = cls(ctx, request, caller_scope(request, scope), key, fingerprint(request, content))
        once._deferred = deferred
        if key and not deferred:
            once.replay = await once._load()
        return once

    async def _load(self) -> JSONResponse | None:
        async with self.ctx.db.read() as s:
            rec = await s.get(IdempotencyRecord, (self.scope, self.key))
        return self._replay_of(rec)

    def _replay_of(self, rec: IdempotencyRecord | None) -> JSONResponse | None:
        if rec is None:
            return None
        if rec.fingerprint not in (self.fingerprint, self._legacy):
            raise Unprocessable(REUSED)
        body = simplejson.loads(rec.body, use_decimal=True)
        return JSONResponse(body, status_code=rec.status_code, headers={"Idempotent-Replayed": "true"})

    def _record(self, status: int, body: object) -> IdempotencyRecord:
        return IdempotencyRecord(scope=self.scope, key=self.key, fingerprint=self.fingerprint,
                                 status_code=status, body=_dumps(body), created_at=datetime.now(UTC))

    async def run(self, handler: Handler) -> JSONResponse:
        after: AfterCommit = []
        try:
            async with self.ctx.db.write() as s:
                if self._deferred and self.key:
                    replay = self._replay_of(await s.get(IdempotencyRecord, (self.scope, self.key)))
                    if replay is not None:
                        raise _Replayed(replay)  # nothing written: the transaction is rolled back
                status, body = await handler(s, after)
                if self.key:
                    s.add(self._record(status, body))
        except _Replayed as replayed:
            return replayed.response
        except IntegrityError:
            if self.key:
                replay = await self._load()
                if replay is not None:
                    return replay
            raise
        except ApiError as err:
            if self.key and err.status in _REPLAYABLE_ERRORS:
                try:
                    async with self.ctx.db.write() as s:
                        s.add(self._record(err.status, {"error": err.message}))
                except IntegrityError:
                    replay = await self._load()
                    if replay is not None:
                        return replay
            raise
        for fn in after:
            result = fn()
            if inspect.isawaitable(result):
                await result
        return JSONResponse(body, status_code=status)


async def forget_old(ctx: ServerContext) -> None:
    cutoff = datetime.now(UTC) - timedelta(seconds=ctx.settings.idempotency_ttl_seconds)
    async with ctx.db.write() as s:
        await s.execute(delete(IdempotencyRecord).where(IdempotencyRecord.created_at < cutoff))

