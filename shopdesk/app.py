"""`shopdesk`: the counter app's command line (the window lives in shopdesk.ui)."""

from __future__ import annotations

import argparse

from . import __version__
from .logs import setup_logging


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


def main(argv: list[str]) -> int:
    if "--self-test" in argv:  # before the UI is imported: the self-test imports each part itself
        from .selftest import main as self_test

        return self_test([a for a in argv if a != "--self-test"])
    args = build_parser().parse_args(argv)
    setup_logging(args.debug)
    from .ui.app import run

    return run(args)
