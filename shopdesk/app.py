"""`shopdesk`: the counter app's command line (the window lives in shopdesk.ui)."""

from __future__ import annotations

import argparse

from . import __version__
from .logs import setup_logging, startup_mark


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="shopdesk", description="shopdesk — the print shop's counter app. "
                                "Subcommands: shopdesk scan …, shopdesk agent …, shopdesk server …")
    p.add_argument("--demo", action="store_true", help="start on the built-in server with demo data")
    p.add_argument("--screenshot", metavar="PATH", help="with --demo: save a PNG of the window once the queue "
                                                        "has loaded, then exit")
    p.add_argument("--data-dir", help="data folder of the built-in server (default: the user data dir)")
    p.add_argument("--debug", action="store_true", help="verbose logging")
    p.add_argument("--self-test", action="store_true", help="check this installation (window, QR decoding, "
                   "embedded server, keyring, printers), one line per check; exit 1 if an essential one fails")
    p.add_argument("--version", action="version", version=f"shopdesk {__version__}")
    return p


class EarlyServer:
    """The built-in server this start will use (the demo's, or this computer's own shop's), started before
    the window's modules are even imported: its process spends a second or more importing the server while
    this one loads Qt and the window (bench/start.py). `kind`: "demo" or "shop"."""

    def __init__(self, server, kind: str, timeout: float):
        import threading

        self.server, self.kind, self.timeout = server, kind, timeout
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._start, name="shopdesk-early-server", daemon=True)
        self._thread.start()

    def _start(self) -> None:
        try:
            self.server.start(timeout=self.timeout)
            startup_mark("server ready")
        except BaseException as exc:  # handed to whoever waits for the server
            self.error = exc

    def wait(self):
        """The started server; raises what stopped it from starting."""
        self._thread.join()
        if self.error is not None:
            raise self.error
        return self.server


def early_server(args) -> EarlyServer | None:
    """The demo's server (--demo, --screenshot), or this computer's shop's when the counter is set up for
    one that exists (shop_mode "embedded"); None otherwise (a shop server elsewhere, the first-run screen)."""
    from .settings import AppSettings, demo_dir, shop_dir

    if args.demo or args.screenshot:
        from .server.embedded import DEMO_START_SECONDS, EmbeddedServer

        return EarlyServer(EmbeddedServer.for_demo(demo_dir(args)), "demo", DEMO_START_SECONDS)
    settings = AppSettings.load()
    folder = shop_dir(args)
    if settings.shop_mode != "embedded" or not (folder / "shopdesk.db").exists():
        return None
    from .server.embedded import EmbeddedServer

    customer_port = settings.customer_port if settings.customer_uploads else None
    return EarlyServer(EmbeddedServer.for_shop(folder, customer_port), "shop", 30)


def main(argv: list[str]) -> int:
    if "--self-test" in argv:  # before the UI is imported: the self-test imports each part itself
        from .selftest import main as self_test

        return self_test([a for a in argv if a != "--self-test"])
    args = build_parser().parse_args(argv)
    setup_logging(args.debug)
    args.early_server = early_server(args)
    from .ui.app import run

    return run(args)
