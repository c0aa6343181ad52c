"""A private CUPS daemon for tests: its own config, spool and logs in a temp dir, a free port on
127.0.0.1, file:// devices allowed, virtual printers whose output files are real witnesses of what
the printer was told. Started once per session, killed by PID at the end."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from .server import free_port

PDF_PPD = "lsb/usr/cupsfilters/Generic-PDF_Printer-PDF.ppd"
COLOR_PPD = "lsb/usr/cupsfilters/HP-Color_LaserJet_CM3530_MFP-PDF.ppd"


class PrivateCupsd:
    def __init__(self) -> None:
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

    def start(self) -> PrivateCupsd:
        for sub in ("spool", "cache", "run", "logs", "out", "ppd"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        os.chmod(self.dir, 0o755)
        os.chmod(self.out, 0o777)  # filters run as the unprivileged lp user and write here
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
        self.proc = subprocess.Popen(["/usr/sbin/cupsd", "-c", str(self.dir / "cupsd.conf"),
                                      "-s", str(self.dir / "cups-files.conf"), "-f"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"cupsd exited: {self.proc.stderr.read().decode(errors='replace')}")
            r = subprocess.run(["lpstat", "-r"], env={**os.environ, **self.env}, capture_output=True, text=True)
            if "is running" in r.stdout:
                return self
            time.sleep(0.1)
        raise TimeoutError("cupsd did not start")

    def lpadmin(self, *args: str) -> None:
        subprocess.run(["lpadmin", *args], env={**os.environ, **self.env}, check=True, capture_output=True,
                       text=True, timeout=30)

    def add_file_printer(self, name: str, *, color: bool = False, enabled: bool = True) -> Path:
        """A printer whose device is a file in out/: what comes out can be counted."""
        path = self.out / f"{name}.pdf"
        self.lpadmin("-p", name, "-E", "-v", f"file://{path}", "-m", COLOR_PPD if color else PDF_PPD,
                     "-o", "printer-error-policy=abort-job")
        if not enabled:
            self.disable(name, "Disabled for the test")
        return path

    def add_failing_printer(self, name: str) -> None:
        """A printer whose device cannot be written (its directory does not exist): jobs abort."""
        self.lpadmin("-p", name, "-E", "-v", f"file://{self.dir}/missing-dir/{name}.pdf", "-m", PDF_PPD,
                     "-o", "printer-error-policy=abort-job")

    def disable(self, name: str, reason: str = "") -> None:
        args = ["cupsdisable"] + (["-r", reason] if reason else []) + [name]
        subprocess.run(args, env={**os.environ, **self.env}, check=True, capture_output=True, timeout=30)

    def enable(self, name: str) -> None:
        subprocess.run(["cupsenable", name], env={**os.environ, **self.env}, check=True, capture_output=True,
                       timeout=30)

    def delete(self, name: str) -> None:
        self.lpadmin("-x", name)

    def error_log(self) -> str:
        try:
            return (self.dir / "logs" / "error_log").read_text(errors="replace")
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        shutil.rmtree(self.dir, ignore_errors=True)


def pdf_pages(path: Path) -> int:
    """Pages in a PDF the virtual printer wrote (pdfinfo, from poppler-utils)."""
    out = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        if line.startswith("Pages:"):
            return int(line.split()[1])
    raise ValueError("pdfinfo gave no page count")
