"""A private CUPS daemon for tests: its own config, spool and logs in a temp dir, a free port on
127.0.0.1, file:// devices allowed, virtual printers whose output files are real witnesses of what
the printer was told, and a test backend (`shopdesk-test://…`) that fails the way real devices do.
Started once per session, killed by PID at the end (and with the test process if that dies first).

Use from any conftest:

    from tests.helpers.cupsd import cupsd_fixture
    cupsd = cupsd_fixture()            # session scope, the standard printers below, CUPS_SERVER set
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .server import free_port

PDF_PPD = "lsb/usr/cupsfilters/Generic-PDF_Printer-PDF.ppd"
COLOR_PPD = "lsb/usr/cupsfilters/HP-Color_LaserJet_CM3530_MFP-PDF.ppd"
A3_PPD = "lsb/usr/cups-pdf/CUPS-PDF_opt.ppd"
SYSTEM_SERVERBIN = Path("/usr/lib/cups")

# A CUPS backend is a program that gets the job's data on stdin and talks to cupsd on stderr: "ERROR:"
# lines become printer-state-message, "STATE: +x" adds a printer-state-reason, and the exit code says
# what happened (1 failed → the printer's error policy, 4 stop the queue, 5 cancel the job). The device
# URI picks the failure, so one backend gives every kind of broken printer.
TEST_BACKEND = """#!/bin/sh
[ $# -eq 0 ] && { echo 'direct shopdesk-test "Unknown" "shopdesk test device"'; exit 0; }
cat >/dev/null
case "$DEVICE_URI" in
  *out-of-paper*) echo "STATE: +media-empty-error" >&2; echo "ERROR: Load paper in tray 1" >&2; exit 4 ;;
  *door-open*)    echo "STATE: +door-open-error" >&2; echo "ERROR: Close the front door" >&2; exit 4 ;;
  *refuse*)       echo "ERROR: Job refused by the device" >&2; exit 5 ;;
  *)              echo "ERROR: The printer did not answer" >&2; exit 1 ;;
esac
"""
FAILURES = ("dead", "out-of-paper", "door-open", "refuse")


def _die_with_parent() -> list[str]:
    """A command prefix that makes cupsd get SIGTERM if the test process dies without cleaning up
    (util-linux's setpriv sets the parent-death signal, then execs: same PID). Not preexec_fn, which
    can deadlock a forked child of a threaded process such as a Qt test run."""
    setpriv = shutil.which("setpriv")
    return [setpriv, "--pdeathsig", "TERM", "--"] if setpriv else []


def _alive(pid: int, marker: str) -> bool:
    try:
        return marker in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return False


def remove_stale_dirs() -> None:
    """Temp dirs of private cupsds whose process is gone (a test run that was killed): removed."""
    for d in Path(tempfile.gettempdir()).glob("shopdesk-cupsd-*"):
        try:
            pid = int((d / "cupsd.pid").read_text())
        except (OSError, ValueError):
            continue  # starting right now, or not ours to judge
        if not _alive(pid, str(d)):
            shutil.rmtree(d, ignore_errors=True)


class PrivateCupsd:
    def __init__(self) -> None:
        remove_stale_dirs()
        self.dir = Path(tempfile.mkdtemp(prefix="shopdesk-cupsd-"))
        self.port = free_port()
        self.out = self.dir / "out"
        self.proc: subprocess.Popen | None = None

    @property
    def server(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        return {"CUPS_SERVER": self.server}

    def _server_bin(self) -> Path:
        """The system's filters and backends, plus the test backend (cupsd runs backends from ServerBin)."""
        sbin = self.dir / "bin"
        (sbin / "backend").mkdir(parents=True)
        for sub in SYSTEM_SERVERBIN.iterdir():
            if sub.name != "backend":
                os.symlink(sub, sbin / sub.name)
        for backend in (SYSTEM_SERVERBIN / "backend").iterdir():
            os.symlink(backend, sbin / "backend" / backend.name)
        script = sbin / "backend" / "shopdesk-test"
        script.write_text(TEST_BACKEND)
        os.chmod(script, 0o755)  # cupsd refuses group/world-writable backends; 0755 runs it as lp
        for d in (sbin, sbin / "backend"):
            os.chmod(d, 0o755)
        return sbin

    def start(self) -> PrivateCupsd:
        for sub in ("spool", "cache", "run", "logs", "out", "ppd"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        os.chmod(self.dir, 0o755)
        os.chmod(self.out, 0o777)  # filters run as the unprivileged lp user and write here
        sbin = self._server_bin()
        (self.dir / "cupsd.conf").write_text(f"""Listen 127.0.0.1:{self.port}
LogLevel warn
MaxJobs 0
PreserveJobHistory Yes
<Location />
  Order allow,deny
  Allow 127.0.0.1
</Location>
<Location /admin>
  Order allow,deny
  Allow 127.0.0.1
</Location>
<Policy default>
  JobPrivateAccess all
  JobPrivateValues none
  SubscriptionPrivateAccess all
  SubscriptionPrivateValues none
  <Limit All>
    Order deny,allow
  </Limit>
</Policy>
""")
        (self.dir / "cups-files.conf").write_text(f"""ServerRoot {self.dir}
ServerBin {sbin}
RequestRoot {self.dir}/spool
CacheDir {self.dir}/cache
StateDir {self.dir}/run
TempDir {self.dir}/spool
AccessLog {self.dir}/logs/access_log
ErrorLog {self.dir}/logs/error_log
PageLog {self.dir}/logs/page_log
FileDevice Yes
Printcap
""")
        with open(self.dir / "logs" / "stderr", "wb") as stderr:
            self.proc = subprocess.Popen([*_die_with_parent(), "/usr/sbin/cupsd", "-c", str(self.dir / "cupsd.conf"),
                                          "-s", str(self.dir / "cups-files.conf"), "-f"],
                                         stdout=subprocess.DEVNULL, stderr=stderr)
        (self.dir / "cupsd.pid").write_text(str(self.proc.pid))
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                text = (self.dir / "logs" / "stderr").read_text(errors="replace") + self.error_log()
                self.stop()
                raise RuntimeError(f"cupsd exited: {text}")
            r = subprocess.run(["lpstat", "-r"], env={**os.environ, **self.env}, capture_output=True, text=True)
            if "is running" in r.stdout:
                return self
            time.sleep(0.1)
        self.stop()
        raise TimeoutError("cupsd did not start within 20 s")

    @contextlib.contextmanager
    def as_cups_server(self) -> Iterator[PrivateCupsd]:
        """CUPS_SERVER points here (for libcups, pycups, lp) inside the block, and is restored after."""
        old = os.environ.get("CUPS_SERVER")
        os.environ["CUPS_SERVER"] = self.server
        try:
            yield self
        finally:
            if old is None:
                os.environ.pop("CUPS_SERVER", None)
            else:
                os.environ["CUPS_SERVER"] = old

    def _run(self, *args: str) -> None:
        subprocess.run(args, env={**os.environ, **self.env}, check=True, capture_output=True, text=True,
                       timeout=30)

    def lpadmin(self, *args: str) -> None:
        self._run("lpadmin", *args)

    def add_file_printer(self, name: str, *, color: bool = False, enabled: bool = True) -> Path:
        """A printer whose device is a file in out/: what comes out can be counted."""
        path = self.out / f"{name}.pdf"
        self.lpadmin("-p", name, "-E", "-v", f"file://{path}", "-m", COLOR_PPD if color else PDF_PPD,
                     "-o", "printer-error-policy=abort-job")
        if not enabled:
            self.disable(name, "Disabled for the test")
        return path

    def add_a3_printer(self, name: str) -> Path:
        path = self.out / f"{name}.pdf"
        self.lpadmin("-p", name, "-E", "-v", f"file://{path}", "-m", A3_PPD)
        return path

    def add_failing_printer(self, name: str, how: str = "dead") -> None:
        """A printer whose device fails as real ones do: `dead` (the job aborts: "The printer did not
        answer"), `out-of-paper` / `door-open` (the queue stops with that reason, the job waits),
        `refuse` (the device cancels the job)."""
        if how not in FAILURES:
            raise ValueError(f"how is one of {FAILURES}")
        self.lpadmin("-p", name, "-E", "-v", f"shopdesk-test://{how}", "-m", PDF_PPD,
                     "-o", "printer-error-policy=abort-job")

    def disable(self, name: str, reason: str = "") -> None:
        self._run("cupsdisable", *(["-r", reason] if reason else []), name)

    def enable(self, name: str) -> None:
        self._run("cupsenable", name)

    def cancel(self, job_id: int) -> None:
        self._run("cancel", str(job_id))

    def delete(self, name: str) -> None:
        self.lpadmin("-x", name)

    def error_log(self) -> str:
        try:
            return (self.dir / "logs" / "error_log").read_text(errors="replace")
        except OSError:
            return ""

    def stop(self) -> None:
        """Kills cupsd by its PID (SIGTERM, then SIGKILL) and removes every file it had."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        shutil.rmtree(self.dir, ignore_errors=True)


def standard_printers(daemon: PrivateCupsd) -> None:
    """Front (b/w PDF into out/Front.pdf), Color (colour PDF), Wide (A3), Broken (its device fails: jobs
    abort), Paused (disabled: "Out of paper")."""
    daemon.add_file_printer("Front")
    daemon.add_file_printer("Color", color=True)
    daemon.add_a3_printer("Wide")
    daemon.add_failing_printer("Broken")
    daemon.add_file_printer("Paused")
    daemon.disable("Paused", "Out of paper")


def cupsd_fixture(setup: Callable[[PrivateCupsd], None] = standard_printers, *, scope: str = "session"):
    """A pytest fixture: a started PrivateCupsd with `setup`'s printers; CUPS_SERVER points at it while
    it lives. Assign it to a name in a conftest (`cupsd = cupsd_fixture()`)."""

    @pytest.fixture(scope=scope)
    def _cupsd() -> Iterator[PrivateCupsd]:
        daemon = PrivateCupsd().start()
        try:
            with daemon.as_cups_server():
                setup(daemon)
                yield daemon
        finally:
            daemon.stop()

    return _cupsd


def pdf_pages(path: Path) -> int:
    """Pages in a PDF the virtual printer wrote (pdfinfo, from poppler-utils)."""
    out = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        if line.startswith("Pages:"):
            return int(line.split()[1])
    raise ValueError("pdfinfo gave no page count")
