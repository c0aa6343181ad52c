"""Driverless (IPP Everywhere) printers for tests: CUPS's own emulator `ippeveprinter` (Debian package
cups-ipp-utils) as child processes on loopback ports, each added to the private cupsd with
`lpadmin -m everywhere`, as a shop adds the network printer it bought.

ippeveprinter needs a D-Bus system bus for its DNS-SD (Avahi) client even with `-r off`; a private
`dbus-daemon` with an allow-all policy is started for it (DBUS_SYSTEM_BUS_ADDRESS points there only in
the printers' environment). Each printer keeps every document it received (`-d dir -k`) and runs a
command per job that writes the job's IPP attributes (ippeveprinter passes them as IPP_* variables) to
`<dir>/jobs/<n>.env`, then takes `job_seconds` (so a job is still in the printer when a test kills
it), then adds the job's name to `<dir>/printed` (what came out: a printer switched off mid-job kills the
command with it; a job cancelled at the printer stops and is written to `<dir>/cancelled` instead). Those files are the witness of what arrived at the printer.

    emulators = IppEvePrinters(cupsd).start()
    front = emulators.add("EveColour", colour=True, duplex=True, media=("iso_a4_210x297mm", "iso_a3_297x420mm"))
    front.kill(); front.restart()
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from .cupsd import PrivateCupsd, _die_with_parent
from .server import free_port

IPPEVEPRINTER = "/usr/sbin/ippeveprinter"

DBUS_CONF = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
    <allow user="*"/>
  </policy>
</busconfig>
"""

# Run by ippeveprinter for each job with the document as $1 and the job's attributes as IPP_* variables.
JOB_COMMAND = """#!/bin/sh
dir="$(dirname "$0")"
n=$(ls "$dir/jobs" | wc -l)
env | grep '^IPP_' | sort > "$dir/jobs/$n.env.part"
echo "DOCUMENT=$1" >> "$dir/jobs/$n.env.part"
mv "$dir/jobs/$n.env.part" "$dir/jobs/$n.env"
[ -f "$dir/state" ] && cat "$dir/state" >&2
# Printing takes job-seconds, in steps of 0.2 s; a job cancelled at the printer meanwhile (Cancel-Job:
# ippeveprinter itself lets the command run on) stops there, as a real printer's does.
steps=$(awk "BEGIN { print int($(cat "$dir/job-seconds") * 5 + 0.999) }")
while [ "$steps" -gt 0 ]; do
  sleep 0.2
  steps=$((steps - 1))
  if ipptool -q -d "job_id=$IPP_JOB_ID" "$IPP_JOB_PRINTER_URI" "$dir/../cancelled.test" 2>/dev/null; then
    echo "$IPP_JOB_NAME" >> "$dir/cancelled"
    exit 0
  fi
done
echo "$IPP_JOB_NAME" >> "$dir/printed"
exit 0
"""

# ipptool's test: has the job been cancelled (ippeveprinter marks it so while its command still runs)?
CANCELLED_TEST = """{
  NAME "cancelled?"
  OPERATION get-job-attributes
  GROUP operation
  ATTR charset attributes-charset utf-8
  ATTR language attributes-natural-language en
  ATTR uri printer-uri $uri
  ATTR integer job-id $job_id
  ATTR keyword requested-attributes job-state,job-state-reasons
  STATUS successful-ok
  EXPECT job-state-reasons WITH-VALUE "/processing-to-stop-point|canceled|aborted/"
}
"""


_SIZES = {"iso_a4_210x297mm": (21000, 29700), "iso_a3_297x420mm": (29700, 42000),
          "na_letter_8.5x11in": (21590, 27940), "na_legal_8.5x14in": (21590, 35560)}  # hundredths of mm


def available() -> str:
    """Why the emulator cannot run here ('' when it can)."""
    for tool in (IPPEVEPRINTER, shutil.which("ipptool"), shutil.which("dbus-daemon")):
        if not tool or not Path(tool).exists():
            return "ippeveprinter/ipptool (cups-ipp-utils) or dbus-daemon is not installed: scripts/bootstrap.sh test"
    return ""


class EvePrinter:
    """One ippeveprinter process and its CUPS queue (`name`)."""

    def __init__(self, owner: IppEvePrinters, name: str, args: list[str], job_seconds: float):
        self.owner, self.name, self.args = owner, name, args
        self.dir = owner.dir / name
        (self.dir / "jobs").mkdir(parents=True)
        (self.dir / "spool").mkdir()
        self.command = self.dir / "job.sh"
        self.command.write_text(JOB_COMMAND)
        os.chmod(self.command, 0o755)
        self.job_seconds = job_seconds
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self._lock = threading.Lock()

    @property
    def job_seconds(self) -> float:
        return float((self.dir / "job-seconds").read_text())

    @job_seconds.setter
    def job_seconds(self, seconds: float) -> None:
        (self.dir / "job-seconds").write_text(f"{seconds}\n")

    @property
    def uri(self) -> str:
        return f"ipp://localhost:{self.port}/ipp/print"

    def start(self) -> EvePrinter:
        """Switches it on (nothing if it is on)."""
        with self._lock:
            if self.proc is None or self.proc.poll() is not None:
                self._start()
        return self

    def _start(self) -> None:
        log = open(self.dir / "ippeveprinter.log", "ab")  # noqa: SIM115 - the child keeps it
        try:
            self.proc = subprocess.Popen(
                [*_die_with_parent(), IPPEVEPRINTER, "-r", "off", "-n", "localhost", "-p", str(self.port),
                 "-d", str(self.dir / "spool"), "-k", "-c", str(self.command), *self.args, self.name],
                stdout=log, stderr=log, env={**os.environ, "DBUS_SYSTEM_BUS_ADDRESS": self.owner.bus},
                start_new_session=True)  # its own process group: switched off, its job's command dies too
        finally:
            log.close()
        deadline = time.monotonic() + 15
        while not self.answers():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"ippeveprinter {self.name} did not start: "
                                   + (self.dir / "ippeveprinter.log").read_text(errors="replace")[-2000:])
            time.sleep(0.1)

    def answers(self) -> bool:
        try:
            with socket.create_connection(("localhost", self.port), timeout=2):
                return True
        except OSError:
            return False

    def kill(self) -> None:
        """The printer is switched off: no answer at all, jobs in it lost."""
        if self.proc and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def restart(self) -> None:
        """Switched off and on again: the same address, no memory of any job."""
        self.kill()
        self.start()

    def set_state(self, line: str) -> None:
        """What the next job's command tells ippeveprinter on stderr, e.g. "STATE: +media-empty-error"
        (the printer then reports that reason while the job is in it); "" for nothing."""
        path = self.dir / "state"
        if line:
            path.write_text(line + "\n")
        else:
            path.unlink(missing_ok=True)

    def printed(self) -> list[str]:
        """Names of the jobs that came out (their command ran to its end), in order."""
        try:
            return (self.dir / "printed").read_text().splitlines()
        except FileNotFoundError:
            return []

    def received(self) -> list[dict[str, str]]:
        """The jobs that reached the printer, in order: their IPP_* attributes, DOCUMENT (the file kept) and
        RECEIVED_AT (when, seconds since 1970)."""
        out = []
        for path in sorted((self.dir / "jobs").glob("*.env"), key=lambda p: int(p.name.split(".")[0])):
            job = dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
            out.append({**job, "RECEIVED_AT": str(path.stat().st_mtime)})
        return out


class IppEvePrinters:
    """A private D-Bus and the emulated printers added to `cupsd`; `stop()` ends every process by PID."""

    def __init__(self, cupsd: PrivateCupsd):
        self.cupsd = cupsd
        self.dir = Path(tempfile.mkdtemp(prefix="shopdesk-ippeve-"))
        self.bus = f"unix:path={self.dir}/bus"
        self.dbus: subprocess.Popen | None = None
        self.printers: dict[str, EvePrinter] = {}

    def start(self) -> IppEvePrinters:
        (self.dir / "cancelled.test").write_text(CANCELLED_TEST)
        conf = self.dir / "dbus.conf"
        conf.write_text(DBUS_CONF.format(socket=self.dir / "bus"))
        self.dbus = subprocess.Popen([*_die_with_parent(), shutil.which("dbus-daemon") or "dbus-daemon",
                                      "--config-file", str(conf), "--nofork", "--nopidfile"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not (self.dir / "bus").exists():
            if self.dbus.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the private dbus-daemon did not start")
            time.sleep(0.05)
        return self

    def add(self, name: str, *, colour: bool, duplex: bool, media: tuple[str, ...] = ("iso_a4_210x297mm",),
            job_seconds: float = 0.0) -> EvePrinter:
        """An emulated printer and its CUPS queue `name`, made with `lpadmin -m everywhere` (CUPS asks the
        printer what it can do)."""
        attrs = self.dir / f"{name}.conf"
        sides = "one-sided,two-sided-long-edge,two-sided-short-edge" if duplex else "one-sided"
        sizes = ",".join(f"{{MEMBER integer x-dimension {x} MEMBER integer y-dimension {y}}}"
                         for x, y in (_SIZES[m] for m in media))
        lines = [f"ATTR keyword media-supported {','.join(media)}",
                 f"ATTR collection media-size-supported {sizes}",
                 f"ATTR keyword media-default {media[0]}",
                 f"ATTR keyword media-ready {','.join(media)}",
                 f"ATTR keyword print-color-mode-supported {'auto,color,monochrome' if colour else 'monochrome'}",
                 f"ATTR keyword print-color-mode-default {'auto' if colour else 'monochrome'}",
                 f"ATTR boolean color-supported {'true' if colour else 'false'}",
                 f"ATTR keyword sides-supported {sides}",
                 "ATTR keyword sides-default one-sided",
                 "ATTR rangeOfInteger copies-supported 1-999",
                 "ATTR boolean page-ranges-supported true",
                 # -a excludes -f: PDF is named here (ippeveprinter then lists its raster formats again; the
                 # first document-format-supported is the one CUPS reads), and the raster formats' details,
                 # without which CUPS cannot make the queue's PPD (it would make a raw queue instead)
                 "ATTR mimeMediaType document-format-supported application/pdf,image/pwg-raster,image/urf",
                 "ATTR resolution pwg-raster-document-resolution-supported 300dpi",
                 f"ATTR keyword pwg-raster-document-type-supported {'black_1,sgray_8,srgb_8' if colour else 'black_1,sgray_8'}",
                 "ATTR keyword pwg-raster-document-sheet-back " + ("rotated" if duplex else "normal"),
                 f"ATTR keyword urf-supported V1.4,CP1,{'DM1,' if duplex else ''}IS1,MT1-2-3-4-5-6,RS300,"
                 + ("SRGB24,W8" if colour else "W8")]
        attrs.write_text("\n".join(lines) + "\n")
        args = ["-a", str(attrs)]
        printer = EvePrinter(self, name, args, job_seconds).start()
        self.printers[name] = printer
        self.cupsd.lpadmin("-p", name, "-E", "-v", printer.uri, "-m", "everywhere")
        self.wait_for_ppd(name)
        return printer

    def wait_for_ppd(self, name: str, timeout: float = 20.0) -> None:
        """cupsd makes an everywhere queue's PPD after lpadmin returns (until then the queue is raw)."""
        env = {**os.environ, **self.cupsd.env}
        deadline = time.monotonic() + timeout
        while True:
            out = subprocess.run(["lpoptions", "-p", name, "-l"], env=env, capture_output=True, text=True).stdout
            if "PageSize" in out:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"cupsd made no PPD for {name}: {self.cupsd.error_log()[-2000:]}")
            time.sleep(0.1)

    def remove(self, name: str) -> None:
        """Deletes the CUPS queue and ends the emulator."""
        printer = self.printers.pop(name)
        printer.kill()
        self.cupsd.delete(name)

    def stop(self) -> None:
        for p in self.printers.values():
            p.kill()
        if self.dbus and self.dbus.poll() is None:
            self.dbus.terminate()
            try:
                self.dbus.wait(5)
            except subprocess.TimeoutExpired:
                self.dbus.kill()
        shutil.rmtree(self.dir, ignore_errors=True)
