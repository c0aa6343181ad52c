"""The FastAPI application factory: `create_app(settings)` — no import-time globals."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI

from .. import __version__
from . import sweeper
from .config import Settings
from .context import ServerContext
from .db import Database, migrate
from .errors import JSONResponse, install_error_handlers
from .routes import auth, customer, health, money, owner, pages, queue, shop
from .storage import FileStore

log = logging.getLogger("shopdesk.server")

DESCRIPTION = """The shopdesk sync API: customers fill a print shop's queue; counters print from it.
Errors are always `{"error": "..."}`. Send `Authorization: Bearer <token>` from `POST /login`.
Every state-changing POST accepts an `Idempotency-Key` header. Money: numbers with two decimals."""


def create_app(settings: Settings | None = None, *, run_migrations: bool = True, sweep: bool = True) -> FastAPI:
    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        if run_migrations:
            await asyncio.to_thread(migrate, settings.effective_database_url)
        db = Database(settings.effective_database_url)
        ctx = ServerContext(settings=settings, db=db, store=FileStore(settings.files_dir))
        app.state.ctx = ctx
        task = asyncio.create_task(sweeper.run_forever(ctx)) if sweep else None
        log.info("shopdesk server ready (database: %s)", "SQLite" if db.is_sqlite else "PostgreSQL")
        try:
            yield
        finally:
            if task:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await db.dispose()

    app = FastAPI(title="shopdesk sync API", version=__version__, description=DESCRIPTION,
                  lifespan=lifespan, default_response_class=JSONResponse)
    install_error_handlers(app)
    for r in (health.router, auth.router, customer.router, queue.router, shop.router, owner.router, money.router,
              pages.router):
        app.include_router(r)
    app.add_middleware(BaseSecurityHeaders)
    return app


class BaseSecurityHeaders:
    """`X-Content-Type-Options: nosniff` and `Referrer-Policy: no-referrer` on every answer (the customer
    pages add their Content-Security-Policy themselves). Plain ASGI: no per-request task or body copy."""

    HEADERS = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer")]

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in self.HEADERS if k not in names]
                if extra:
                    message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def app_from_env() -> FastAPI:
    """Factory for multi-worker serving (`uvicorn --factory`): settings from SHOPDESK_* variables; the
    parent process has already migrated the database."""
    return create_app(Settings.from_env(), run_migrations=False)
