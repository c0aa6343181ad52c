"""`shopdesk agent`: a headless print agent for a back-room PC. It prints the shop's queued jobs on one
printer through the same counter core as the counter app (shopdesk/counter/), one line per job.

  shopdesk agent --server URL --username U --printer NAME [--once]

The password comes from SHOPDESK_PASSWORD or the keyring; the CUPS server from CUPS_SERVER."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import sys
import threading
from pathlib import Path

from .client.api import ShopClient, is_transient
from .client.credentials import Credentials
from .client.errors import ApiError, UnauthorizedError
from .client.retry import LOGIN
from .counter import CounterCore, Refusal, explain
from .printing.hotfolder import HotFolderBackend
from .printing.printers import PrinterSet
from .settings import data_dir

log = logging.getLogger("shopdesk.agent")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="shopdesk agent", description=__doc__.split("\n\n")[0])
    p.add_argument("--server", required=True, help="the shop server's URL, e.g. http://shop:8080")
    p.add_argument("--username", required=True)
    p.add_argument("--printer", required=True, help="CUPS printer name (or 'Hot folder')")
    p.add_argument("--once", action="store_true", help="print every job waiting now, then exit")
    p.add_argument("--counter", default=f"agent@{socket.gethostname()}", help="name shown to other counters")
    p.add_argument("--data-dir", help="outbox, cache and in-flight jobs (default: the user data dir)")
    p.add_argument("--hot-folder", help="folder of the 'Hot folder' printer")
    p.add_argument("--stuck-limit", type=float, default=30.0, metavar="SECONDS",
                   help="give a job up (cancel it in CUPS, report it failed) after its printer has been stopped "
                        "this long (default 30)")
    p.add_argument("--debug", action="store_true")
    return p


class Interrupted(BaseException):
    """Raised by the stop signal's handler while the agent only waits for the queue to change."""


class Agent:
    def __init__(self, args, password: str):
        self.args = args
        base = Path(args.data_dir) if args.data_dir else data_dir() / f"agent-{args.username}"
        base.mkdir(parents=True, exist_ok=True)
        self.client = ShopClient(args.server)
        self.password = password
        backends = []
        try:
            from .printing.cups import CupsBackend

            backends.append(CupsBackend())
        except ImportError as exc:
            log.warning("no CUPS support: %s", exc)
        backends.append(HotFolderBackend(Path(args.hot_folder) if args.hot_folder else base / "hotfolder"))
        self.core = CounterCore(self.client, PrinterSet(backends), base, counter=args.counter,
                                stuck_limit=args.stuck_limit)
        self.stop = threading.Event()
        self.idle = False  # in the long-poll for queue changes: a stop signal may interrupt it at once

    def request_stop(self, *_signal) -> None:
        self.stop.set()
        if self.idle:
            self.idle = False
            raise Interrupted

    def connect(self) -> bool:
        """Logs in; while the server cannot be reached (it is restarting, the network is down) keeps
        trying, as a service should, unless --once. Wrong credentials raise UnauthorizedError."""
        backoff = LOGIN.backoff()
        while True:
            try:
                self.client.login(self.args.username, self.password)
                return True
            except ApiError as exc:
                if not is_transient(exc) or self.args.once:
                    raise
                log.warning("login: %s; trying again", exc)
                if self.stop.wait(backoff.next_delay()):
                    return False

    def await_change(self, etag: str | None, wait: int) -> str | None:
        """The long-poll: the only place a stop signal may cut short (nothing is being printed)."""
        self.idle = True
        try:
            if self.stop.is_set():
                return etag
            return self.client.queue(etag, wait=wait)[1]
        finally:
            self.idle = False

    def say(self, line: str) -> None:
        print(line, flush=True)

    def handle(self, order: dict, job: dict) -> bool:
        """Prints one job; False when it was left for later for a reason of this counter's own (its
        printer, the network) rather than because the job moved on."""
        code = job["code"]
        try:
            outcome = self.core.print_job(job, self.args.printer, customer=order.get("customer_name", ""))
        except Exception as exc:
            why, _words = explain(exc)
            if why in (Refusal.REFUSED, Refusal.UNEXPECTED):
                raise
            # TAKEN: another counter's; UNSUPPORTED: another printer's job — waiting will not change that
            self.say(f"{code} {why.value}: {exc}")
            return not why.worth_retrying_soon
        self.say(outcome.line())
        return True

    def run(self) -> int:
        try:
            if not self.connect():
                return 0
        except ApiError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        self.core.start()
        for outcome in self.core.resume():
            self.say(outcome.line())
        etag = None
        while not self.stop.is_set():
            if self.core.heartbeat_due():
                try:
                    self.core.heartbeat()
                except ApiError as exc:
                    log.info("heartbeat: %s", exc)
            for outcome in self.core.settle_starts():  # starts whose answer never came
                self.say(outcome.line())
            try:
                jobs = self.core.waiting_jobs()
            except UnauthorizedError as exc:  # the token expired or was revoked: log in again
                log.warning("queue: %s; logging in again", exc)
                try:
                    if not self.connect():
                        break
                except ApiError as again:
                    print(f"error: {again}", file=sys.stderr)
                    return 2
                self.core.outbox.wake()
                continue
            except ApiError as exc:
                log.warning("queue: %s", exc)
                if self.args.once:
                    self.say(f"error: {exc}")
                    return 2
                self.stop.wait(5)
                continue
            left = 0
            for order, job in jobs:
                if self.stop.is_set():
                    break
                left += not self.handle(order, job)
            if self.args.once:
                break
            try:  # wait for the queue to change; not long when jobs wait for this printer or the network
                etag = self.await_change(etag, 5 if left else 25)
            except Interrupted:
                break
            except ApiError:
                self.stop.wait(2)
        if not self.core.outbox.wait_until_empty(30):
            self.say(f"warning: {self.core.outbox.state()['pending']} report(s) not yet delivered; "
                     "they are kept and sent on the next start")
        self.core.prefetch.stop()
        self.core.outbox.close()
        return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    password = os.environ.get("SHOPDESK_PASSWORD")
    if not password:
        creds = Credentials()
        password = creds.password(args.server, args.username) if creds.available else None
    if not password:
        print("error: no password: set SHOPDESK_PASSWORD, or save it in the keyring by logging in once in the "
              "counter app with 'Remember the password'", file=sys.stderr)
        return 2
    agent = Agent(args, password)
    signal.signal(signal.SIGTERM, agent.request_stop)
    signal.signal(signal.SIGINT, agent.request_stop)
    return agent.run()


if __name__ == "__main__":
    sys.exit(main())
