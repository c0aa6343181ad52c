"""The FastAPI application factory: `create_app(settings)` — no import-time globals."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy.engine import make_url

from .. import __version__
from . import sweeper, webhook_sender
from .config import Settings
from .context import ServerContext
from .db import Database, migrate
from .errors import JSONResponse, install_error_handlers
from .guards import RequestGuard
from .live import Listener
from .routes import auth, customer, health, money, owner, pages, queue, reconciliation, shop, webhooks
from .services.webhooks import load_key
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
        ctx.start_pools()
        ctx.webhook_key = await asyncio.to_thread(load_key, settings.webhook_key, settings.data_dir)
        app.state.ctx = ctx
        listener = None
        if db.is_sqlite:
            ctx.live.watch_sqlite(make_url(db.url).database)
        else:
            ctx.live.count_listeners = Listener.counter(db)
            listener = asyncio.create_task(Listener(ctx.live, db.url).run())
        task = asyncio.create_task(sweeper.run_forever(ctx)) if sweep else None
        sender = webhook_sender.Sender(ctx, ctx.webhook_key) if sweep else None
        sending = asyncio.create_task(sender.run_forever()) if sender else None
        warm = asyncio.create_task(_warm_up(ctx, app))
        log.info("shopdesk server ready (database: %s)", "SQLite" if db.is_sqlite else "PostgreSQL")
        try:
            yield
        finally:
            warm.cancel()
            if listener is not None:
                await Listener.stop(listener)
            for t in (task, sending):
                if t:
                    t.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await t
            if sender:
                sender.close()
            ctx.stop_pools()
            ctx.live.close()
            await db.dispose()

    app = FastAPI(title="shopdesk sync API", version=__version__, description=DESCRIPTION,
                  lifespan=lifespan, default_response_class=JSONResponse)
    install_error_handlers(app)
    app.add_middleware(RequestGuard, settings=settings)
    routers = (health.router, auth.router, customer.router, queue.router, shop.router, owner.router,
               money.router, pages.router, webhooks.router, reconciliation.router)
    for r in routers:
        app.include_router(r)
    app.add_middleware(BaseSecurityHeaders)
    _document_errors_as_served(app, routers)
    return app


WARM_UP_AFTER_SECONDS = 2.0


async def _warm_up(ctx: ServerContext, app: FastAPI) -> None:
    """What only later requests need, made ready a little after the start instead of during it: the
    first logins, the counter's window and its first queue read share two cores with it otherwise
    (bench/start.py). A file-check worker ahead of the first upload (a forkserver and the parsers'
    imports: about a second of CPU), the hash an unknown user's login is checked against, and the
    routes: FastAPI prepares a router's routes (their validators) when a request first passes through
    it — ~60 ms on the first request of each, the customer's first page or upload included."""
    from . import security

    await asyncio.sleep(WARM_UP_AFTER_SECONDS)
    await asyncio.to_thread(security.warm)
    await asyncio.to_thread(_prepare_routes, app)  # in a thread: requests meanwhile are not held up
    await ctx.file_checks.warm()


def _prepare_routes(app: FastAPI) -> None:
    """Asks every route whether it matches a path none has, which makes FastAPI prepare them all (it
    does so under its own lock, once)."""
    scope = {"type": "http", "method": "GET", "path": "/\x00warm-up", "root_path": "", "headers": [],
             "query_string": b""}
    for route in app.router.routes:
        try:
            route.matches(dict(scope))
        except Exception:  # noqa: BLE001 — only a head start: a request prepares it anyway
            log.debug("preparing route %r failed", route, exc_info=True)


def _document_errors_as_served(app: FastAPI, routers) -> None:
    """FastAPI documents a 422 "HTTPValidationError" for every route with parameters; this server answers
    invalid input with 400 and the error envelope (errors.py), and 422 only for a reused Idempotency-Key.
    The served document says what is served: 400 with ErrorOut wherever input is validated, every route
    may answer 429 (rate limits), and the routes that need a token say so (a bearer security scheme).
    Routers are given as included (a prefix would have to be added to their paths)."""
    from fastapi.openapi.utils import get_openapi

    def openapi() -> dict:
        if app.openapi_schema:
            return app.openapi_schema
        doc = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        error_ref = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}
        doc.setdefault("components", {})["securitySchemes"] = {
            "bearer": {"type": "http", "scheme": "bearer", "description": "the token from POST /login"}}
        needs_token = _routes_needing_a_token(routers)
        for path, ops in doc.get("paths", {}).items():
            for method, op in ops.items():
                if (method.upper(), path) in needs_token:
                    op["security"] = [{"bearer": []}]
                responses = op.setdefault("responses", {})
                auto = responses.get("422", {}).get("content", {}).get("application/json", {}).get("schema", {})
                if auto.get("$ref", "").endswith("/HTTPValidationError"):
                    del responses["422"]
                    responses.setdefault("400", {"description": "Invalid request", "content": error_ref})
                responses.setdefault("429", {"description": "Rate limited (see Retry-After)", "content": error_ref})
        schemas = doc.get("components", {}).get("schemas", {})
        for name in ("HTTPValidationError", "ValidationError"):
            schemas.pop(name, None)
        app.openapi_schema = doc
        return doc

    app.openapi = openapi


def _routes_needing_a_token(routers) -> set[tuple[str, str]]:
    """(METHOD, path) of every route whose dependencies require a bearer token (deps.current_principal)."""
    from fastapi.routing import APIRoute

    from .deps import current_principal

    def needs(dependant) -> bool:
        return any(d.call is current_principal or needs(d) for d in dependant.dependencies)

    out: set[tuple[str, str]] = set()
    for route in (r for router in routers for r in router.routes):
        if isinstance(route, APIRoute) and needs(route.dependant):
            path = route.path_format
            out |= {(m, path) for m in route.methods}
    return out


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
