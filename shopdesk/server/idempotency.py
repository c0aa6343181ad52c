"""Idempotency-Key for state-changing POSTs, kept in the database: the stored response is written in the
same transaction as the change it describes, so a change and its record commit together or not at all,
and two concurrent requests with one key leave exactly one change (the loser replays the winner)."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import simplejson
from fastapi import Request
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from .context import ServerContext
from .errors import ApiError, BadRequest, JSONResponse
from .models import IdempotencyRecord

AfterCommit = list[Callable[[], object]]  # run after the commit; may return an awaitable
Handler = Callable[[AsyncSession, AfterCommit], Awaitable[tuple[int, object]]]
_REPLAYABLE_ERRORS = {400, 403, 404, 409, 413}


def _dumps(body: object) -> str:
    return simplejson.dumps(body, use_decimal=True, ensure_ascii=False)


class Once:
    """`once = await Once.begin(ctx, request, scope)`; `once.replay` is the stored response of an earlier
    request with this key (return it), else `await once.run(handler)` runs the change exactly once."""

    def __init__(self, ctx: ServerContext, request: Request, scope: str, key: str | None):
        self.ctx, self.scope, self.key = ctx, scope, key
        self.fingerprint = f"{request.method} {request.url.path}"[:300]
        self.replay: JSONResponse | None = None

    @classmethod
    async def begin(cls, ctx: ServerContext, request: Request, scope: str) -> Once:
        key = request.headers.get("idempotency-key")
        if key is not None:
            key = key.strip()
            if not key or len(key) > 200 or not key.isprintable():
                raise BadRequest("Idempotency-Key must be 1 to 200 printable characters")
        once = cls(ctx, request, scope, key)
        if key:
            once.replay = await once._load()
        return once

    async def _load(self) -> JSONResponse | None:
        async with self.ctx.db.read() as s:
            rec = await s.get(IdempotencyRecord, (self.scope, self.key))
        if rec is None:
            return None
        if rec.fingerprint != self.fingerprint:
            raise BadRequest(f"this Idempotency-Key was already used for a different request ({rec.fingerprint})")
        body = simplejson.loads(rec.body, use_decimal=True)
        return JSONResponse(body, status_code=rec.status_code, headers={"Idempotent-Replayed": "true"})

    def _record(self, status: int, body: object) -> IdempotencyRecord:
        return IdempotencyRecord(scope=self.scope, key=self.key, fingerprint=self.fingerprint,
                                 status_code=status, body=_dumps(body), created_at=datetime.now(UTC))

    async def run(self, handler: Handler) -> JSONResponse:
        after: AfterCommit = []
        try:
            async with self.ctx.db.write() as s:
                status, body = await handler(s, after)
                if self.key:
                    s.add(self._record(status, body))
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

