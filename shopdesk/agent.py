"""`shopdesk agent`: a headless print agent for a back-room PC. It prints the shop's queued jobs on one
printer through the same counter core as the counter app (shopdesk/counter/), one line per job.

  shopdesk agent --server URL --username U --printer NAME [--once]

The password comes from SHOPDESK_PASSWORD or the keyring; the CUPS server from CUPS_SERVER."""

from __future__ import annotations

import argparse
import logging
import os
import re
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
from .printing.hotfolder import HotFolderBackend, parse_takes
from .printing.printers import PrinterSet
from .printing.readiness import printers_report, readiness_key
from .settings import data_dir

log = logging.getLogger("shopdesk.agent")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="shopdesk agent", description=__doc__.split("\n\n")[0])
    p.add_argument("--server", required=True, help="the shop server's URL, e.g. http://shop:8080")
    p.add_argument("--username", required=True)
    p.add_argument("--printer", required=True, help="CUPS printer name (or 'Hot folder')")
    p.add_argument("--once", action="store_true", help="print every job waiting now, then exit")
    p.add_argument("--counter", default=f"agent@{socket.gethostname()}", help="name shown to other counters")
    p.add_argument("--data-dir", help="outbox, cache and in-flight jobs; one agent at a time per folder "
                                      "(default: agent-<username>-<printer> in the user data dir)")
    p.add_argument("--hot-folder", help="folder of a 'Hot folder' printer (none without it)")
    p.add_argument("--hot-folder-takes", default="A4", metavar="WHAT",
                   help="what the hot folder's device takes: paper sizes, 'colour', 'duplex' (default: A4)")
    p.add_argument("--stuck-limit", type=float, default=30.0, metavar="SECONDS",
                   help="give a job up (cancel it in CUPS, report it failed) after its printer has been stopped "
                        "this long (default 30)")
    p.add_argument("--debug", action="store_true")
    return p


class Interrupted(BaseException):
    """Raised by the stop signal's handler while the agent only waits for the queue to change."""


class DataDirBusy(Exception):
    """Another agent process holds this data dir."""


def default_data_dir(username: str, printer: str) -> Path:
    """agent-<username>-<printer>: two agents of one login on one machine, each with its printer, keep
    their outboxes and in-flight jobs apart."""
    slug = re.sub(r"[^\w.-]+", "_", printer).strip("_") or "printer"
    return data_dir() / f"agent-{username}-{slug}"


class DirLock:
    """An exclusive lock on `<dir>/agent.lock`, held while the process lives (the OS drops it when the
    process dies, however it dies)."""

    def __init__(self, folder: Path):
        self.path = Path(folder) / "agent.lock"
        self._file = open(self.path, "a+")  # noqa: SIM115 - held open for the process's life
        try:
            _lock_file(self._file)
        except OSError as exc:
            self._file.seek(0)
            holder = self._file.read().strip()
            self._file.close()
            raise DataDirBusy(f"another shopdesk agent{f' (process {holder})' if holder else ''} is using "
                              f"{folder}; give this one its own --data-dir") from exc
        self._file.seek(0)
        self._file.truncate()
        self._file.write(str(os.getpid()))
        self._file.flush()

    def release(self) -> None:
        self._file.close()


def _lock_file(f) -> None:
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt

        msvcrt.locking(f.fileno(), msvcrt.LK_NBLCK, 1)
        return
    fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)


class Agent:
    def __init__(self, args, password: str):
        self.args = args
        base = Path(args.data_dir) if args.data_dir else default_data_dir(args.username, args.printer)
        base.mkdir(parents=True, exist_ok=True)
        self.lock = DirLock(base)  # raises DataDirBusy before anything of the dir is opened
        self.client = ShopClient(args.server)
        self.password = password
        backends = []
        try:
            from .printing.cups import CupsBackend

            backends.append(CupsBackend())
        except ImportError as exc:
            log.warning("no CUPS support: %s", exc)
        if args.hot_folder:
            backends.append(HotFolderBackend(Path(args.hot_folder), takes=args.hot_folder_takes))
        # no one to ask "Did it print?": a job the printer did not confirm is reported failed
        self.core = CounterCore(self.client, PrinterSet(backends), base, counter=args.counter,
                                stuck_limit=args.stuck_limit, unconfirmed="fail")
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

    def heartbeats(self) -> None:
        """The counter's heartbeat, on a thread of its own: a long print holds the loop in run(), and a
        counter silent past the shop's limit has its printing job taken back. Sent every minute, and at
        once (within 10 s) when this agent's printer becomes ready or stops."""
        mine = [self.args.printer]
        last = None
        while True:
            try:
                now = readiness_key(printers_report(self.core.printers, mine))
                if self.core.heartbeat_due() or (last is not None and now != last):
                    self.core.heartbeat(only=mine)
                last = now
            except ApiError as exc:
                log.info("heartbeat: %s", exc)
            except Exception:  # the heartbeat must outlive any one failure
                log.exception("heartbeat failed")
            if self.stop.wait(10):
                return

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
        threading.Thread(target=self.heartbeats, name="heartbeat", daemon=True).start()  # resuming may take long
        for outcome in self.core.resume():
            self.say(outcome.line())
        etag = None
        while not self.stop.is_set():
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
    try:
        parse_takes(args.hot_folder_takes)
        agent = Agent(args, password)
    except (DataDirBusy, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, agent.request_stop)
    signal.signal(signal.SIGINT, agent.request_stop)
    return agent.run()


if __name__ == "__main__":
    sys.exit(main())
