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
    """The demo's built-in server, started before the window's modules are even imported: its process
    spends seconds importing the server while this one loads Qt and builds the window (bench/start.py)."""

    def __init__(self, folder):
        import threading

        from .server.config import Settings
        from .server.embedded import EmbeddedServer

        self.server = EmbeddedServer(Settings.from_env(data_dir=folder), demo=True)
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._start, name="shopdesk-early-server", daemon=True)
        self._thread.start()

    def _start(self) -> None:
        try:
            self.server.start(timeout=180)  # the very first demo generates its files (seconds on a slow PC)
            startup_mark("server ready")
        except BaseException as exc:  # handed to whoever waits for the server
            self.error = exc

    def wait(self):
        """The started server; raises what stopped it from starting."""
        self._thread.join()
        if self.error is not None:
            raise self.error
        return self.server


def early_demo_server(args) -> EarlyServer:
    from pathlib import Path

    from .settings import data_dir

    return EarlyServer(Path(args.data_dir) if args.data_dir else data_dir() / "demo")


def main(argv: list[str]) -> int:
    if "--self-test" in argv:  # before the UI is imported: the self-test imports each part itself
        from .selftest import main as self_test

        return self_test([a for a in argv if a != "--self-test"])
    args = build_parser().parse_args(argv)
    setup_logging(args.debug)
    args.early_server = early_demo_server(args) if (args.demo or args.screenshot) else None
    from .ui.app import run

    return run(args)
