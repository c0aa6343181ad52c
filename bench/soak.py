"""A simulated shop day under faults, from real parts only, then a reckoning.

  .venv/bin/python bench/soak.py [--short] [--db sqlite|postgresql|both] [--jobs N] [--seed S]

Per database (SQLite and PostgreSQL run side by side): the real server process; a private cupsd with
three virtual printers (two colour, one b/w); three counters — `shopdesk agent` processes, the print
pipeline of the counter app — printing the same queue through a TCP proxy; customers uploading orders
at random (1–3 files: PDFs of 1–40 pages and images; copies, sides, colour, paper at random), some
withdrawing, the shopkeeper cancelling some. Meanwhile faults (each kind once, in random order, before
any repeats): the server SIGKILLed and restarted; the proxy resetting every connection, stalling
(sometimes past the counters' read timeout), refusing, or losing the server's answers (the server did
the work, the counter never hears); printers whose device dies (jobs abort), that run out of paper
(the queue stops, jobs wait), get disabled, or vanish from CUPS, and come back; a driverless printer
(CUPS's `ippeveprinter` behind an `lpadmin -m everywhere` queue) switched off for a while, or off and on
again mid-job (it forgets the job; CUPS then calls it completed); a counter SIGKILLed mid-work and
restarted (it resumes what it had in flight).

Then everything heals and the shop drains. The reckoning, from the server's database (jobs, audit
trail, ledger), CUPS's own job records and the counters' outboxes:
- every job ended in a valid state (terminal) and none is left in `printing`;
- double prints: jobs that came out for a code beyond the first (CUPS's completed jobs for the file
  printers; for the driverless ones what the emulated printer really finished, as CUPS's word is what
  the restart fault makes wrong);
- false printed: jobs the server counts as printed that never came out;
- lost reports: a counter's report (confirm / print-failed) that is not in the audit trail under its
  Idempotency-Key, or a job CUPS completed that the server never heard was printed;
- the ledger: one earning per printed job (cost less commission), one refund per cancelled or
  withdrawn job, nothing else.
The last line is exactly `jobs=N terminal=N double_prints=D lost_reports=L false_printed=F ledger_ok=0|1`."""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.helpers.cupsd import COLOR_PPD, PDF_PPD, PrivateCupsd  # noqa: E402
from tests.helpers.ippeve import IppEvePrinters  # noqa: E402
from tests.helpers.pdfs import jpeg_bytes, pdf_bytes, png_bytes  # noqa: E402
from tests.helpers.proxy import FaultProxy  # noqa: E402
from tests.helpers.server import ServerProcess, make_shop, make_user, run_db  # noqa: E402

TERMINAL = {"downloaded", "cancelled", "withdrawn"}
# What a counter says when a job is given back from a printer that went silent or was switched on again
# with it inside: it may have printed (the race in README, Printers) — the shop is told, so a second copy
# of such a job is counted on its own line, not as a silent double print.
TOLD_IT_MAY_HAVE_PRINTED = ("stopped answering", "unknown — check the output tray")


@dataclass(frozen=True)
class Profile:
    duration: float  # seconds of uploads and faults
    jobs: int  # upload until this many jobs (or the duration ends)
    fault_gap: tuple[float, float]  # seconds between faults
    stuck_limit: float  # the agents' --stuck-limit
    drain_timeout: float


SHORT = Profile(duration=50, jobs=45, fault_gap=(2.5, 5.0), stuck_limit=5, drain_timeout=75)
LONG = Profile(duration=900, jobs=600, fault_gap=(4.0, 12.0), stuck_limit=10, drain_timeout=300)


def say(msg: str) -> None:
    print(msg, flush=True)


class Clock:
    def __init__(self):
        self.t0 = time.monotonic()

    def __call__(self) -> str:
        return f"{time.monotonic() - self.t0:6.1f}s"


# --- the parts ---------------------------------------------------------------------------------------
class Agent:
    """One counter: a `shopdesk agent` process printing to its own printer, through the proxy."""

    def __init__(self, soak: Soak, n: int, printer: str, username: str, password: str):
        self.soak, self.n, self.printer = soak, n, printer
        self.username, self.password = username, password
        self.name = f"Counter {soak.tag}{n}"
        self.dir = soak.dir / f"agent{n}"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.out = self.dir / "stdout.txt"
        self.proc: subprocess.Popen | None = None
        self.terminating = False
        self.crashes: list[str] = []  # exits nobody asked for

    def start(self) -> None:
        self.terminating = False
        guard = ["setpriv", "--pdeathsig", "KILL", "--"] if shutil.which("setpriv") else []
        env = {**os.environ, "CUPS_SERVER": self.soak.cupsd.server, "SHOPDESK_PASSWORD": self.password}
        with open(self.out, "ab") as out, open(self.dir / "stderr.txt", "ab") as err:
            self.proc = subprocess.Popen(
                guard + [sys.executable, "-m", "shopdesk.cli", "agent", "--server", self.soak.proxy.url,
                         "--username", self.username, "--printer", self.printer, "--counter", self.name,
                         "--data-dir", str(self.dir / "data"), "--stuck-limit", str(self.soak.profile.stuck_limit)],
                cwd=ROOT, env=env, stdout=out, stderr=err)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        if self.alive():
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def terminate(self) -> None:
        if self.alive() and not self.terminating:
            self.terminating = True  # once: a second SIGTERM during interpreter exit kills it with -15
            self.proc.send_signal(signal.SIGTERM)

    def stop(self, timeout: float = 45) -> int | None:
        if self.alive():
            self.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.proc.returncode if self.proc else None

    def lines(self) -> list[str]:
        try:
            return self.out.read_text(errors="replace").splitlines()
        except OSError:
            return []

    def stderr_tail(self, n: int = 15) -> str:
        try:
            return "\n".join((self.dir / "stderr.txt").read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def reports(self) -> list[tuple]:
        """(kind, file_id, idempotency_key, state, last_error) of every report this counter wrote."""
        path = self.dir / "data" / "outbox.db"
        if not path.exists():
            return []
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            return conn.execute("SELECT kind, file_id, idempotency_key, state, last_error FROM reports").fetchall()
        finally:
            conn.close()

    def pending(self) -> int:
        return sum(1 for r in self.reports() if r[3] == "pending")


@dataclass
class Figures:
    faults: Counter = field(default_factory=Counter)
    uploads: Counter = field(default_factory=Counter)
    accepted: dict = field(default_factory=dict)  # code → cost as the customer was told
    problems: list = field(default_factory=list)


class Soak:
    def __init__(self, tag: str, db: str, base: Path, cupsd: PrivateCupsd, profile: Profile, seed: int,
                 pg=None, skip: frozenset[str] = frozenset()):
        self.tag, self.db, self.profile = tag, db, profile
        if "driverless" in skip:  # no driverless printer: none to switch off either
            skip |= {"printer-off", "printer-restart"}
        self.kinds = [k for k in self.KINDS if k not in skip]
        self.dir = base / db
        self.cupsd = cupsd
        self.rng = random.Random(seed)
        self.fig = Figures()
        self.clock = Clock()
        self.done = threading.Event()
        db_url = pg.create_database(f"soak_{tag.lower()}") if pg else None
        self.server = ServerProcess(self.dir / "server", database_url=db_url)
        self.server_lock = threading.Lock()
        # --skip-faults driverless: the third printer is a colour file printer, as before #14
        third = "color" if "driverless" in skip else "driverless"
        self.printers = {f"{tag}1": "color", f"{tag}2": "bw", f"{tag}3": third}
        self.eve = IppEvePrinters(cupsd)
        self.proxy: FaultProxy | None = None
        self.agents: list[Agent] = []
        self.result: dict | None = None
        self._bag: list[str] = []
        self.cups_seen: dict[int, tuple] = {}  # CUPS's job records saved before a printer was deleted
        # Processes are started from this one long-lived thread: they carry a parent-death signal
        # (setpriv --pdeathsig), which Linux sends when the *thread* that forked them ends.
        self._spawner = ThreadPoolExecutor(1, thread_name_prefix=f"spawn-{tag}")

    def spawn(self, fn, *args):
        return self._spawner.submit(fn, *args).result()

    def log(self, msg: str) -> None:
        say(f"[{self.db:10s} {self.clock()}] {msg}")

    # --- set-up ----------------------------------------------------------------------------------
    def device(self, printer: str) -> str:
        return f"file://{self.cupsd.out}/{printer}.pdf"

    def setup(self) -> None:
        self.spawn(self.eve.start)
        for name in self.printers:
            self._add_printer(name)
        self.spawn(self.server.start)
        self.proxy = FaultProxy(self.server.port).start()
        self.shop = make_shop(self.server, f"Soak {self.db}", commission_bp=1250)
        users = [self.shop.staff, self.shop.staff2, (f"counter3-{self.tag}", "staff-password-3")]
        make_user(self.server, *users[2], "staff", self.shop.shop_id)
        self.owner_token = self.shop.token("owner")
        for n, (printer, (username, password)) in enumerate(zip(self.printers, users, strict=True), 1):
            self.agents.append(Agent(self, n, printer, username, password))
        for a in self.agents:
            self.spawn(a.start)

    # --- load --------------------------------------------------------------------------------------
    def _post(self, path: str, *, key: str, deadline: float, **kw) -> requests.Response | None:
        """A customer's or shopkeeper's POST straight to the server, retried with one Idempotency-Key
        while the server is down (as a phone would)."""
        headers = {"Idempotency-Key": key, **kw.pop("headers", {})}
        while time.monotonic() < deadline:
            try:
                r = requests.post(self.server.url + path, headers=headers, timeout=15, **kw)
            except requests.RequestException:
                time.sleep(0.5)
                continue
            if r.status_code >= 500 or r.status_code == 429:
                time.sleep(0.5)
                continue
            return r
        return None

    def _document(self) -> tuple[str, bytes]:
        roll = self.rng.random()
        if roll < 0.12:
            return "photo.png", png_bytes(self.rng.randint(200, 900), self.rng.randint(200, 900))
        if roll < 0.2:
            return "scan.jpg", jpeg_bytes(self.rng.randint(200, 900), self.rng.randint(200, 900))
        pages = self.rng.choice([1, 1, 2, 3, 4, 6, 10, 15]) if roll < 0.97 else self.rng.randint(25, 40)
        return f"doc-{pages}p.pdf", pdf_bytes(pages, text=f"soak {self.tag}")

    def customers(self) -> None:
        gap = self.profile.duration / self.profile.jobs * 1.6
        end = time.monotonic() + self.profile.duration
        while time.monotonic() < end and len(self.fig.accepted) < self.profile.jobs:
            files = [self._document() for _ in range(self.rng.choice([1, 1, 1, 2, 2, 3]))]
            form = {"shop_id": str(self.shop.shop_id), "customer_name": self.rng.choice(["Asha", "Ben", "Chen Li", "Dara", "Émile"]),
                    "copies": str(self.rng.choice([1, 1, 1, 2, 3])),
                    "print_mode": self.rng.choice(["single", "single", "double"]),
                    "color_mode": "color" if self.rng.random() < 0.3 else "bw",
                    "paper_size": "Letter" if self.rng.random() < 0.15 else "A4"}
            parts = [("files[]", (name, data, "application/octet-stream")) for name, data in files]
            r = self._post("/upload", key=str(uuid.uuid4()), deadline=time.monotonic() + 60, data=form, files=parts)
            if r is None:
                self.fig.uploads["gave up"] += 1
            elif r.status_code == 200:
                body = r.json()
                self.fig.uploads["orders"] += 1
                for f in body["files"]:
                    self.fig.accepted[f["code"]] = f["cost"]
                if self.rng.random() < 0.06:  # the customer changes their mind
                    code = body["files"][0]["code"]
                    w = self._post(f"/withdraw/{code}", key=str(uuid.uuid4()), deadline=time.monotonic() + 30)
                    self.fig.uploads[f"withdraw {w.status_code if w is not None else 'gave up'}"] += 1
                elif self.rng.random() < 0.04:  # the shopkeeper cancels an order (e.g. a wrong file)
                    c = self._post(f"/queue/{body['files'][0]['file_id']}/cancel", key=str(uuid.uuid4()),
                                   deadline=time.monotonic() + 30, json={"reason": "wrong file"},
                                   headers={"Authorization": f"Bearer {self.owner_token}"})
                    self.fig.uploads[f"cancel {c.status_code if c is not None else 'gave up'}"] += 1
            elif r.status_code == 409 and ("unavailable right now" in r.text or "No printer is ready" in r.text):
                # auto-pause: the faults took away every ready printer that can do this setting — the
                # customer is told so in words, nothing is taken (the product working, not a defect)
                self.fig.uploads["refused: unavailable right now"] += 1
            else:
                self.fig.uploads[f"refused {r.status_code}"] += 1
                self.fig.problems.append(f"upload refused: {r.status_code} {r.text[:200]}")
            time.sleep(self.rng.uniform(0, gap))

    # --- faults ------------------------------------------------------------------------------------
    def _vanish(self, name: str) -> None:
        """Deletes a printer. CUPS forgets every job of a deleted printer, finished ones too, so what it
        knew is written down first (the reckoning merges it), once nothing is being printed there."""
        self.cupsd.disable(name, "Unplugged")
        self.cupsd._run("cupsreject", name)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(p == name and st == 5 for _i, p, _n, st in self.cups_jobs()):
            time.sleep(0.2)
        for job in self.cups_jobs():
            job_id, printer, job_name, state = job
            # deleting the printer cancels what is still queued on it (CUPS announces it as cancelled)
            self.cups_seen[job_id] = (job_id, printer, job_name, 7 if printer == name and state < 7 else state)
        self.cupsd.delete(name)

    def _add_printer(self, name: str) -> None:
        if self.printers[name] == "driverless":
            if name not in self.eve.printers:  # the emulator is started from the long-lived spawner thread
                self.spawn(lambda: self.eve.add(name, colour=True, duplex=True,
                                                media=("iso_a4_210x297mm", "iso_a3_297x420mm"), job_seconds=0.5))
            else:
                self.spawn(self.eve.printers[name].start)  # on again, if a fault left it off
                # Its queue is made again only when it vanished: `lpadmin -m everywhere` on a queue that is
                # printing makes CUPS send the job to the printer again from the start — a second copy
                # that was the harness's doing (it healed every printer so, and the soak saw double prints).
                if not self._queue_exists(name):
                    self.cupsd.lpadmin("-p", name, "-E", "-v", self.eve.printers[name].uri, "-m", "everywhere")
                    self.eve.wait_for_ppd(name)
            return
        ppd = COLOR_PPD if self.printers[name] == "color" else PDF_PPD
        self.cupsd.lpadmin("-p", name, "-E", "-v", self.device(name), "-m", ppd, "-o", "printer-error-policy=abort-job")

    def _queue_exists(self, name: str) -> bool:
        try:
            self.cupsd._run("lpstat", "-p", name)
            return True
        except subprocess.CalledProcessError:
            return False

    def _restore_printer(self, name: str) -> None:
        for attempt in range(5):  # lpadmin fails now and then while cupsd is busy with that printer
            try:
                self._add_printer(name)
                self.cupsd.enable(name)
                self.cupsd._run("cupsaccept", name)
                return
            except subprocess.CalledProcessError as exc:
                self.log(f"restoring {name} (try {attempt + 1}): {(exc.stderr or '').strip()}")
            except RuntimeError:  # a fault's timer that fires after the soak was torn down: nothing to restore
                return
                time.sleep(0.5)

    KINDS = ("server-kill", "drop", "stall", "refuse", "lose-replies", "printer-dead", "printer-paper", "printer-disabled",
             "printer-vanish", "counter-kill", "printer-off", "printer-restart")

    def next_fault(self) -> str:
        """Every kind once, in a random order, before any repeats: a short run still meets them all."""
        if not self._bag:
            self._bag = self.kinds + ["server-kill", "drop"]
            self.rng.shuffle(self._bag)
        return self._bag.pop()

    def fault(self) -> None:
        kind = self.next_fault()
        self.fig.faults[kind] += 1
        if kind == "server-kill":
            with self.server_lock:
                self.server.kill()
                self.log("fault: server SIGKILLed")
                time.sleep(self.rng.uniform(0.5, 4))
                self.spawn(self.server.start)
                self.log("server back")
        elif kind == "drop":
            n = self.proxy.drop()
            self.log(f"fault: proxy reset {n} connection(s)")
        elif kind == "stall":  # now and then longer than the counters' read timeout (20 s)
            secs = self.rng.uniform(2, 12) if self.rng.random() < 0.7 else self.rng.uniform(20, 30)
            self.proxy.stall(secs)
            self.log(f"fault: proxy stalls for {secs:.0f} s")
        elif kind == "refuse":
            secs = self.rng.uniform(1, 6)
            self.proxy.refuse(secs)
            self.log(f"fault: proxy refuses connections for {secs:.0f} s")
        elif kind == "lose-replies":
            secs = self.rng.uniform(1, 5)
            self.proxy.lose_replies(secs)
            self.log(f"fault: the server's answers are lost for {secs:.0f} s")
        elif kind in ("printer-off", "printer-restart"):  # the driverless printer itself
            name = next(n for n, k in self.printers.items() if k == "driverless")
            printer = self.eve.printers[name]
            printer.kill()
            secs = self.rng.uniform(3, 12) if kind == "printer-off" else self.rng.uniform(0.2, 1.5)
            self.log(f"fault: {name} switched off for {secs:.1f} s" + (" (restarted)" if kind == "printer-restart" else ""))
            if kind == "printer-restart":
                time.sleep(secs)
                self.spawn(printer.start)
            else:
                threading.Timer(secs, lambda: self.spawn(printer.start)).start()
        elif kind.startswith("printer-"):
            name = self.rng.choice(list(self.printers))
            secs = self.rng.uniform(3, 12)
            if kind == "printer-dead":
                self.cupsd.lpadmin("-p", name, "-v", "shopdesk-test://dead")
            elif kind == "printer-paper":
                self.cupsd.lpadmin("-p", name, "-v", "shopdesk-test://out-of-paper")
            elif kind == "printer-vanish":  # unplugged / removed from CUPS, its queued jobs with it
                self._vanish(name)
            else:
                self.cupsd.disable(name, "Out of paper")
            self.log(f"fault: {name} {kind.removeprefix('printer-')} for {secs:.0f} s")
            threading.Timer(secs, self._restore_printer, args=(name,)).start()
        elif kind == "counter-kill":
            agent = self.rng.choice(self.agents)
            agent.kill()
            self.log(f"fault: {agent.name} SIGKILLed")
            time.sleep(self.rng.uniform(0.5, 3))
            self.spawn(agent.start)

    def faults(self) -> None:
        end = time.monotonic() + self.profile.duration
        while True:
            time.sleep(self.rng.uniform(*self.profile.fault_gap))
            if time.monotonic() >= end:
                return
            try:
                self.fault()
            except Exception as exc:  # a fault that could not be made is not the product's defect
                self.log(f"fault injection failed: {exc!r}")
            for a in self.agents:
                self._revive(a)

    def _revive(self, a: Agent) -> None:
        """Starts a counter that is not running; one that exited by itself (not our SIGKILL) crashed."""
        if a.alive():
            return
        if a.proc is not None and a.proc.returncode != -signal.SIGKILL:
            a.crashes.append(f"exit {a.proc.returncode}: {a.stderr_tail(5)}")
            self.log(f"{a.name} exited by itself ({a.proc.returncode}); restarting it")
        self.spawn(a.start)

    # --- drain and reckoning -----------------------------------------------------------------------
    def heal(self) -> None:
        self.proxy.heal()
        with self.server_lock:
            if self.server.proc is None or self.server.proc.poll() is not None:
                self.spawn(self.server.start)
        for name in self.printers:
            self._restore_printer(name)
        for a in self.agents:
            self._revive(a)

    def server_jobs(self) -> list[tuple]:
        from sqlalchemy import select

        from shopdesk.server.models import Job

        async def go(s):
            return (await s.execute(select(Job.id, Job.code, Job.status, Job.cost_cents)
                                    .where(Job.shop_id == self.shop.shop_id))).all()

        return run_db(self.server.db_url(), go)

    def drain(self) -> float:
        t = time.monotonic()
        deadline = t + self.profile.drain_timeout
        while time.monotonic() < deadline:
            if self.cupsd.proc.poll() is not None:  # CUPS itself crashed: nothing can finish now
                self.log(f"drain stopped: cupsd {self._cupsd_state()}")
                return float("nan")
            jobs = self.server_jobs()
            open_ = [j for j in jobs if j.status not in TERMINAL]
            pending = sum(a.pending() for a in self.agents)
            if not open_ and not pending:
                return time.monotonic() - t
            time.sleep(1)
        self.log(f"drain timed out: {len(open_)} job(s) not finished "
                 f"({Counter(j.status for j in open_)}), {pending} report(s) pending; cupsd {self._cupsd_state()}")
        return float("nan")

    def _cupsd_state(self) -> str:
        code = self.cupsd.proc.poll() if self.cupsd.proc else "never started"
        return "running" if code is None else f"gone (exit {code})"

    def cups_jobs(self) -> list[tuple[int, str, str, int]]:
        """(cups job id, printer, job name, job-state) of every job CUPS kept for our printers."""
        import cups

        cups.setServer(self.cupsd.server.split(":")[0])
        cups.setPort(int(self.cupsd.server.split(":")[1]))
        c = cups.Connection()
        out = []
        jobs = c.getJobs(which_jobs="all", my_jobs=False,
                         requested_attributes=["job-id", "job-name", "job-state", "job-printer-uri"])
        for job_id, a in jobs.items():
            printer = (a.get("job-printer-uri") or "").rsplit("/", 1)[-1]
            if printer not in self.printers:
                continue
            name = a.get("job-name")
            if name is None:
                name = c.getJobAttributes(job_id, requested_attributes=["job-name"]).get("job-name", "")
            out.append((job_id, printer, name, a.get("job-state")))
        return out

    def reckon(self, drain_seconds: float) -> dict:
        from sqlalchemy import select

        from shopdesk.domain.money import share
        from shopdesk.server.models import AuditEntry, LedgerEntry, Shop

        async def go(s):
            audit = (await s.execute(select(AuditEntry.file_id, AuditEntry.move, AuditEntry.counter,
                                            AuditEntry.idempotency_key, AuditEntry.reason, AuditEntry.at,
                                            AuditEntry.printer)
                                     .where(AuditEntry.shop_id == self.shop.shop_id))).all()
            ledger = (await s.execute(select(LedgerEntry.file_id, LedgerEntry.kind, LedgerEntry.amount_cents)
                                      .where(LedgerEntry.shop_id == self.shop.shop_id))).all()
            bp = (await s.execute(select(Shop.commission_bp).where(Shop.id == self.shop.shop_id))).scalar_one()
            return audit, ledger, bp

        jobs = self.server_jobs()
        audit, ledger, bp = run_db(self.server.db_url(), go)
        by_id = {j.id: j for j in jobs}
        by_code = {j.code: j for j in jobs}
        status = Counter(j.status for j in jobs)

        # CUPS: completed jobs per code (the job name starts with the code; see PrintRequest.job_name)
        cups_jobs = list({**self.cups_seen, **{j[0]: j for j in self.cups_jobs()}}.values())
        completed = Counter(name.split()[0] for _id, p, name, state in cups_jobs
                            if state == 9 and name and self.printers.get(p) != "driverless")
        # a driverless printer: what it really finished (CUPS calls a job the restarted printer forgot completed)
        at_eve = Counter(name.split()[0] for e in self.eve.printers.values() for name in e.printed() if name)
        completed += at_eve
        cups_states = Counter({3: "pending", 4: "held", 5: "processing", 6: "stopped", 7: "canceled",
                               8: "aborted", 9: "completed"}.get(st, str(st)) for *_x, st in cups_jobs)
        # The known race (README, Printers): the driverless printer switched off within one poll of
        # finishing a job — nobody had asked it yet, so after the stuck limit the job was reported "stopped
        # answering — the job was taken back" and printed again. Reported, so not a silent double print:
        # counted on its own line.
        given_back = {by_id[a.file_id].code for a in audit
                      if a.move == "print-failed" and a.file_id in by_id and any(
                          words in (a.reason or "") for words in TOLD_IT_MAY_HAVE_PRINTED)}
        race = {c: n - 1 for c, n in completed.items() if n > 1 and c in given_back and at_eve[c]}
        double = sum(n - 1 for c, n in completed.items() if n > 1 and c not in race)
        printed_unconfirmed = sorted(c for c in completed if c in by_code and by_code[c].status != "downloaded")
        confirmed_unprinted = sorted(j.code for j in jobs if j.status == "downloaded" and completed[j.code] == 0)
        strangers = sorted(c for c in completed if c not in by_code)

        # reports: each one a counter wrote must be in the audit trail under its key
        keys = {a.idempotency_key for a in audit if a.idempotency_key}
        reports = [(a.name, *r) for a in self.agents for r in a.reports()]
        report_states = Counter(f"{r[1]} {r[4]}" for r in reports)
        unapplied = [r for r in reports if r[3] not in keys]
        lost = len(unapplied) + len(printed_unconfirmed)

        # ledger: one earning per printed job (cost less commission), one refund per cancelled/withdrawn
        earn = defaultdict(list)
        refund = defaultdict(list)
        for row in ledger:
            if row.kind in ("earning", "refund"):  # anything else is listed below as a problem
                (earn if row.kind == "earning" else refund)[row.file_id].append(row.amount_cents)
        ledger_problems = []
        for j in jobs:
            want_earn = [j.cost_cents - share(j.cost_cents, bp)] if j.status == "downloaded" else []
            want_refund = [j.cost_cents] if j.status in ("cancelled", "withdrawn") else []
            if earn.get(j.id, []) != want_earn or refund.get(j.id, []) != want_refund:
                ledger_problems.append(f"{j.code} {j.status}: earning {earn.get(j.id)} refund {refund.get(j.id)}")
        others = [r for r in ledger if r.kind not in ("earning", "refund") or r.file_id not in by_id]
        total_earned = sum(r.amount_cents for r in ledger if r.kind == "earning")
        expected = sum(j.cost_cents - share(j.cost_cents, bp) for j in jobs if j.status == "downloaded")
        ledger_ok = not ledger_problems and not others and total_earned == expected

        accepted = set(self.fig.accepted)
        moves = Counter(a.move for a in audit)
        lines = [ln for a in self.agents for ln in a.lines()]
        outcomes = Counter(ln.split()[1].rstrip(":") for ln in lines if len(ln.split()) > 1 and len(ln.split()[0]) == 6)
        r = {
            "jobs": len(jobs), "terminal": sum(status[s] for s in TERMINAL), "double_prints": double,
            "lost_reports": lost, "false_printed": len(confirmed_unprinted), "ledger_ok": int(ledger_ok),
        }
        self.log(f"jobs {len(jobs)} from {self.fig.uploads['orders']} orders; states {dict(status)}; "
                 f"drained in {drain_seconds:.1f} s after the faults stopped")
        self.log(f"uploads {dict(self.fig.uploads)}; accepted ≠ stored: {len(accepted ^ set(by_code))}")
        self.log(f"faults {dict(self.fig.faults)}; proxy {self.proxy.counts}")
        unconfirmed = sum("did not confirm the job" in ln for ln in lines)
        stopped_answering = sum("stopped answering" in ln for ln in lines)
        self.log(f"audit moves {dict(moves)}; counters said {dict(outcomes)}; not confirmed by the printer "
                 f"{unconfirmed}, printer stopped answering {stopped_answering}")
        self.log(f"CUPS jobs {dict(cups_states)}; reports {dict(report_states)}")
        self.log(f"printed again after the printer went silent with it (taken back / unknown — check the output "
                 f"tray; it had finished just before it was switched off): {sum(race.values())} {sorted(race)}")
        self.log(f"earned {total_earned / 100:.2f} = expected {expected / 100:.2f} (commission {bp / 100:.2f} %): "
                 f"{'yes' if total_earned == expected else 'NO'}")
        defects = {
            "stuck in printing": [j.code for j in jobs if j.status == "printing"],
            "not finished": [j.code for j in jobs if j.status not in TERMINAL and j.status != "printing"],
            "printed twice": [c for c, n in completed.items() if n > 1 and c not in race],
            "printed, server not told": printed_unconfirmed,
            "confirmed, never came out": confirmed_unprinted,
            "reports not applied": [f"{r[0]} {r[1]} {by_id[r[2]].code if r[2] in by_id else r[2]} {r[4]}: {r[5]}"
                                    for r in unapplied],
            "CUPS jobs of unknown codes": strangers,
            # still queued in CUPS after everything healed: it would print later, maybe a second time
            "CUPS jobs left waiting": [f"{p}-{i} {n!r} {st} (server: {by_code[n.split()[0]].status if n and n.split()[0] in by_code else '?'})"
                                       for i, p, n, st in cups_jobs if st in (3, 4, 5, 6)],
            "accepted upload missing": sorted(accepted - set(by_code)),
            "ledger": ledger_problems + [str(o) for o in others],
            "counter crashes": [f"{a.name}: {c}" for a in self.agents for c in a.crashes],
            "other": self.fig.problems,
        }
        for what, items in defects.items():
            if items:
                self.log(f"DEFECT {what}: {len(items)}: {items[:8]}")
        for code in defects["printed twice"]:
            self._explain_twice(code, audit, by_code.get(code), cups_jobs)
        r["defects"] = sum(len(v) for v in defects.values())
        return r

    def _explain_twice(self, code: str, audit, job, cups_jobs) -> None:
        """What each witness says of a job that came out twice: its audit trail, CUPS's jobs of it, and
        what each driverless printer received and finished (UTC times)."""
        def utc(t: float) -> str:
            return time.strftime("%H:%M:%S", time.gmtime(t)) + f".{int(t * 1000) % 1000:03d}"

        trail = [f"{a.at:%H:%M:%S.%f}"[:-3] + f" {a.move} {a.counter or '-'} {a.printer or '-'} {a.reason or ''}"
                 for a in audit if job is not None and a.file_id == job.id]
        cups = [f"{p}-{i} {n!r} state {st}" for i, p, n, st in cups_jobs if n and n.split()[0] == code]
        eve = []
        for name, printer in self.eve.printers.items():
            eve += [f"{name} job {job.get('IPP_JOB_ID')} {job.get('IPP_JOB_NAME')!r} received "
                    f"{utc(float(job['RECEIVED_AT']))}"
                    for job in printer.received() if (job.get("IPP_JOB_NAME") or "").split()[:1] == [code]]
            eve += [f"{name} finished {n!r}" for n in printer.printed() if n.split()[:1] == [code]]
        self.log(f"TWICE {code}: audit {trail}; CUPS {cups}; at the printer {eve}")

    # --- the day -----------------------------------------------------------------------------------
    def run(self) -> None:
        try:
            self.setup()
            self.log(f"server {self.server.url} ({self.db}), proxy {self.proxy.url}, printers "
                     f"{', '.join(f'{p} ({k})' for p, k in self.printers.items())}, counters {len(self.agents)}")
            threads = [threading.Thread(target=self.customers, daemon=True),
                       threading.Thread(target=self.faults, daemon=True)]
            for t in threads:
                t.start()
            for t in threads:  # customers stop at the job target; faults go on for the whole duration
                t.join()
            self.log(f"load over: {len(self.fig.accepted)} jobs accepted; healing every fault and draining")
            self.heal()
            drained = self.drain()
            for a in self.agents:  # all at once: each finishes its job and delivers its reports
                a.terminate()
            for a in self.agents:
                code = a.stop()
                if code not in (0, None):
                    a.crashes.append(f"exit {code} on SIGTERM: {a.stderr_tail(5)}")
            self.result = self.reckon(drained)
        except Exception as exc:
            import traceback

            traceback.print_exc()
            self.log(f"the soak itself failed: {exc!r}\n{self.server.log_tail(20)}\n"
                     f"cupsd {self._cupsd_state()}; the end of its error_log:\n{self.cupsd.error_log()[-2000:]}")
            self.result = None
        finally:
            for a in self.agents:
                a.kill()
            if self.proxy:
                self.proxy.close()
            self.server.stop()
            self.eve.stop()
            self._spawner.shutdown()


CUPS_CRASHED = 3  # main()'s exit code when the private cupsd died during the run


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--short", action="store_true", help="under 3 minutes (part of the test suite)")
    ap.add_argument("--skip-faults", default="", metavar="KIND,…",
                    help=f"leave these fault kinds out ({', '.join(Soak.KINDS)}); 'driverless': no "
                         "driverless printer (the third is a colour file printer, as before #14)")
    ap.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    ap.add_argument("--jobs", type=int, help="upload until this many jobs per database")
    ap.add_argument("--duration", type=float, help="seconds of load and faults")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--keep", action="store_true", help="keep the work dir (logs, outboxes) for a post-mortem")
    args = ap.parse_args()
    profile = SHORT if args.short else LONG
    if args.jobs or args.duration:
        profile = Profile(args.duration or profile.duration, args.jobs or profile.jobs, profile.fault_gap,
                          profile.stuck_limit, profile.drain_timeout)
    seed = args.seed if args.seed is not None else random.randrange(1_000_000)
    skip = frozenset(k for k in args.skip_faults.split(",") if k)
    known = set(Soak.KINDS) | {"driverless"}
    if skip - known:
        ap.error(f"--skip-faults: unknown kinds {sorted(skip - known)}; known: {', '.join(sorted(known))}")
    say(f"soak: {'short' if args.short else 'long'} run, seed {seed}, {profile}"
        + (f", without {', '.join(sorted(skip))}" if skip else ""))
    base = Path(tempfile.mkdtemp(prefix="shopdesk-soak-"))
    cupsd = PrivateCupsd().start()
    pg = None
    soaks: list[Soak] = []
    cups_crashed = None
    try:
        if args.db in ("sqlite", "both"):
            soaks.append(Soak("S", "sqlite", base, cupsd, profile, seed, skip=skip))
        if args.db in ("postgresql", "both"):
            from tests.helpers.postgres import PostgresCluster

            pg = PostgresCluster()
            pg.start()
            soaks.append(Soak("G", "postgresql", base, cupsd, profile, seed + 1, pg=pg, skip=skip))
        threads = [threading.Thread(target=s.run) for s in soaks]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        cups_crashed = cupsd.proc.poll()
    finally:
        cupsd.stop()
        if pg:
            pg.stop()
        if args.keep:
            say(f"work dir kept: {base}")
        else:
            shutil.rmtree(base, ignore_errors=True)
    if cups_crashed is not None:
        # Not a shopdesk result: Debian's cupsd has segfaulted in libcups here (once in ~10 hours of soak
        # runs, just after the driverless printer was restarted). The run says so and ends apart.
        say(f"CUPS itself crashed during the run (cupsd exit {cups_crashed}; -11 is a segfault): no figures")
        return CUPS_CRASHED
    results = [s.result for s in soaks]
    for s in soaks:
        if s.result:
            say(f"{s.db}: " + " ".join(f"{k}={v}" for k, v in s.result.items()))
    ok = all(results)
    total = {k: sum(r[k] for r in results if r)
             for k in ("jobs", "terminal", "double_prints", "lost_reports", "false_printed")}
    ledger_ok = int(ok and all(r["ledger_ok"] for r in results))
    say(f"jobs={total['jobs']} terminal={total['terminal']} double_prints={total['double_prints']} "
        f"lost_reports={total['lost_reports']} false_printed={total['false_printed']} ledger_ok={ledger_ok}")
    clean = ok and ledger_ok and total["jobs"] == total["terminal"] and not total["double_prints"] \
        and not total["lost_reports"] and not total["false_printed"] and not any(r["defects"] for r in results)
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
