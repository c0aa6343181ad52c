"""Wiring of the counter app. Until the window exists: the embedded server with the demo shop."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import threading

from .server.config import Settings


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="shopdesk", description="shopdesk counter app")
    parser.add_argument("--demo", action="store_true", help="start on the embedded server with demo data")
    parser.add_argument("--data-dir", help="where the embedded server keeps its data")
    parser.add_argument("--port", type=int, default=0, help="port of the embedded server (default: any free)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    from .server.demo import seed
    from .server.embedded import EmbeddedServer

    settings = Settings.from_env(data_dir=args.data_dir)
    info = asyncio.run(seed(settings))
    server = EmbeddedServer(settings, port=args.port)
    url = server.start()
    print(f"shopdesk sync API running at {url} (docs: {url}/docs), data in {settings.data_dir}")
    print(f"Demo shop id {info.shop_id}. Log in with:")
    for username, password, role in info.users:
        print(f"  {role:6} {username} / {password}")
    print("Press Ctrl+C to stop.")
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait()
    server.stop()
    return 0
