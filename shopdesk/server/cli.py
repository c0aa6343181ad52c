"""`shopdesk-server`: serve the sync API, create shops and users, seed a demo shop."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path

from .config import SHUTDOWN_GRACE_SECONDS, Settings


def _settings(args) -> Settings:
    return Settings.from_env(data_dir=Path(args.data_dir) if args.data_dir else None,
                             database_url=getattr(args, "database_url", None))


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-dir", help="where the database and uploaded files live "
                                      "(default: the user data dir, or $SHOPDESK_DATA_DIR)")
    p.add_argument("--database-url", help="SQLAlchemy URL, e.g. postgresql://user:pw@host/db "
                                          "(default: SQLite in the data dir, or $SHOPDESK_DATABASE_URL)")


def cmd_serve(args) -> int:
    import uvicorn

    from .app import create_app
    from .db import migrate
    from .guards import http_protocol

    settings = _settings(args)
    if args.forwarded_allow_ips is not None:
        settings.trusted_proxies = args.forwarded_allow_ips.strip()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    settings.workers = max(1, args.workers)
    migrate(settings.effective_database_url)
    log_level = "debug" if args.debug else "info"
    # X-Forwarded-For is believed only from the proxies named here: by default nobody's, so a client (or
    # a tunnel on this host) cannot choose its own address and walk past the per-address limits.
    trusted = settings.forwarded_allow_ips
    common = dict(host=args.host, port=args.port, log_level=log_level, proxy_headers=trusted is not None,
                  forwarded_allow_ips=trusted, timeout_graceful_shutdown=SHUTDOWN_GRACE_SECONDS,
                  http=http_protocol(settings), timeout_keep_alive=5)
    if args.workers > 1:
        # Workers are separate processes: they read their settings from the environment.
        os.environ["SHOPDESK_DATA_DIR"] = str(settings.data_dir)
        os.environ["SHOPDESK_HEADER_TIMEOUT_SECONDS"] = str(settings.header_timeout_seconds)
        os.environ["SHOPDESK_TRUSTED_PROXIES"] = settings.trusted_proxies
        os.environ["SHOPDESK_WORKERS"] = str(settings.workers)
        if settings.database_url:
            os.environ["SHOPDESK_DATABASE_URL"] = settings.database_url
        uvicorn.run("shopdesk.server.app:app_from_env", factory=True, workers=args.workers, **common)
    else:
        uvicorn.run(create_app(settings, run_migrations=False), **common)
    return 0


def _in_transaction(args, work):
    """Migrates the database, then runs `await work(session)` in one write transaction; returns its result."""
    from .db import Database, migrate

    settings = _settings(args)
    migrate(settings.effective_database_url)

    async def run():
        db = Database(settings.effective_database_url)
        try:
            async with db.write() as s:
                return await work(s)
        finally:
            await db.dispose()

    return asyncio.run(run())


def cmd_create_shop(args) -> int:
    from .services.shops import create_shop

    async def work(s):
        return (await create_shop(s, name=args.name, commission_bp=args.commission_bp)).id

    shop_id = _in_transaction(args, work)
    print(f"created shop {args.name!r}")
    print(shop_id)
    return 0


def cmd_create_user(args) -> int:
    from .services.users import create_user

    if not args.password_stdin:
        print("give the password on standard input with --password-stdin", file=sys.stderr)
        return 2
    password = sys.stdin.readline().rstrip("\r\n")

    async def work(s):
        user = await create_user(s, username=args.username, password=password, role=args.role,
                                 shop_id=args.shop, full_name=args.full_name or "")
        return user.id

    try:
        user_id = _in_transaction(args, work)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"created {args.role} {args.username!r} (user id {user_id})")
    return 0


def cmd_demo(args) -> int:
    from .demo import seed

    settings = _settings(args)
    info = asyncio.run(seed(settings))
    if info.created:
        print(f"Seeded the demo shop (id {info.shop_id}) with a queue of jobs in {settings.data_dir}.")
    else:
        print(f"The demo shop already exists (id {info.shop_id}) in {settings.data_dir}.")
    print("Log in with:")
    for username, password, role in info.users:
        print(f"  {role:6} username {username!r} password {password!r}")
    print(info.shop_id)
    return 0


def cmd_import_embedded(args) -> int:
    from .transfer import ImportRefused, import_embedded

    settings = _settings(args)
    try:
        report = import_embedded(Path(args.source), settings)
    except ImportRefused as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"Imported the shop from {args.source} into {settings.data_dir}: {report.summary()}.")
    print("Point the counter apps at this server (Settings → Server) and log in again.")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="shopdesk-server", description="The shopdesk sync API server.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("serve", help="run the API server")
    _common(p)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--workers", type=int, default=1, help="worker processes (share the database)")
    p.add_argument("--forwarded-allow-ips", metavar="IPS",
                   help="comma-separated addresses (or networks, or '*') of reverse proxies whose "
                        "X-Forwarded-For is believed; default none ($SHOPDESK_TRUSTED_PROXIES)")
    p.add_argument("--debug", action="store_true")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("create-shop", help="create a shop; prints its id on the last line")
    _common(p)
    p.add_argument("--name", required=True)
    p.add_argument("--commission-bp", type=int, default=0, help="platform commission in basis points")
    p.set_defaults(func=cmd_create_shop)

    p = sub.add_parser("create-user", help="create a user; the password is read from standard input")
    _common(p)
    p.add_argument("--username", required=True)
    p.add_argument("--password-stdin", action="store_true")
    p.add_argument("--role", required=True, choices=["staff", "owner", "admin", "customer"])
    p.add_argument("--shop", type=int, help="the shop of a staff member or owner")
    p.add_argument("--full-name")
    p.set_defaults(func=cmd_create_user)

    p = sub.add_parser("import-embedded", help="move a shop from the app's built-in server (its data folder) "
                       "into this server's database and files")
    _common(p)
    p.add_argument("--from", dest="source", required=True,
                   help="the app's server folder, e.g. ~/.local/share/shopdesk/shop (close the app first)")
    p.set_defaults(func=cmd_import_embedded)

    p = sub.add_parser("demo", help="seed a demo shop, users and a queue of jobs")
    _common(p)
    p.set_defaults(func=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
