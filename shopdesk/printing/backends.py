"""Where jobs go: CUPS (pycups; one connection per thread, as pycups connections are not thread-safe)
and a hot folder (the file plus a JSON ticket, as large-format RIPs take jobs). `PrinterSet` joins them."""

from __future__ import annotations

import itertools
import json
import logging
import os
import re
import shutil
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from ..domain.printsettings import ColorMode, PaperSize, PrintMode
from .capabilities import REQUESTED_ATTRIBUTES, PrinterInfo, from_ipp
from .options import PrintRequest, ipp_options
from .outcomes import COMPLETED, JobView

log = logging.getLogger("shopdesk.printing")


class PrinterUnavailable(Exception):
    """The printer is gone, stopped or refuses jobs — in words."""


class SubmitError(Exception):
    """CUPS did not take the job — in words."""


class CupsBackend:
    kind = "cups"

    def __init__(self) -> None:
        import cups  # noqa: F401 — fail early and clearly when pycups/libcups is missing

        self._local = threading.local()

    def _conn(self):
        import cups

        conn = getattr(self._local, "conn", None)
        if conn is None:
            server = os.environ.get("CUPS_SERVER", "")
            if server and not server.startswith("/"):
                host, _, port = server.rpartition(":") if server.count(":") == 1 else (server, "", "")
                cups.setServer(host or server)
                if port.isdigit():
                    cups.setPort(int(port))
            try:
                conn = cups.Connection()
            except RuntimeError as exc:
                raise PrinterUnavailable("Cannot reach the print system (CUPS). Is it running?") from exc
            self._local.conn = conn
        return conn

    def _call(self, fn, *args, **kw):
        import cups

        try:
            return fn(self._conn(), *args, **kw)
        except (cups.HTTPError, RuntimeError):
            self._local.conn = None  # reconnect once
            return fn(self._conn(), *args, **kw)

    def printers(self) -> list[PrinterInfo]:
        import cups

        try:
            names = list(self._call(lambda c: c.getPrinters()).keys())
            default = self._call(lambda c: c.getDefault())
        except (cups.IPPError, PrinterUnavailable) as exc:
            log.warning("cannot list CUPS printers: %s", exc)
            return []
        out = []
        for name in names:
            info = self.printer(name, default=default)
            if info is not None:
                out.append(info)
        return out

    def printer(self, name: str, default: str | None = None) -> PrinterInfo | None:
        import cups

        try:
            attrs = self._call(lambda c: c.getPrinterAttributes(name, requested_attributes=REQUESTED_ATTRIBUTES))
        except cups.IPPError:
            return None
        return from_ipp(name, attrs, is_default=name == default)

    def submit(self, req: PrintRequest, printer: str, path: Path, title: str) -> int:
        import cups

        try:
            return int(self._call(lambda c: c.printFile(printer, str(path), title, ipp_options(req))))
        except cups.IPPError as exc:
            status, text = exc.args if len(exc.args) == 2 else (0, str(exc))
            if status in (cups.IPP_NOT_FOUND, 0x0406):
                raise SubmitError(f"Printer '{printer}' does not exist any more.") from exc
            if status == getattr(cups, "IPP_NOT_ACCEPTING", 0x0506):
                raise SubmitError(f"Printer '{printer}' is not accepting jobs.") from exc
            raise SubmitError(f"Printer '{printer}' refused the job: {text}") from exc

    def view(self, job_id: int, printer: str) -> JobView:
        import cups

        try:
            a = self._call(lambda c: c.getJobAttributes(job_id, requested_attributes=[
                "job-state", "job-state-reasons"]))
        except cups.IPPError:
            # The job is gone from CUPS: with its printer, or purged.
            exists = self.printer(printer) is not None
            return JobView(state=7 if exists else 8, reasons=("job-purged",), printer_exists=exists)
        reasons = a.get("job-state-reasons") or []
        if isinstance(reasons, str):
            reasons = [reasons]
        p = self.printer(printer)
        if p is None:
            return JobView(state=int(a["job-state"]), reasons=tuple(reasons), printer_exists=False)
        return JobView(state=int(a["job-state"]), reasons=tuple(reasons), printer_state=p.state,
                       printer_reasons=tuple(p.reasons), printer_message=p.message)

    def cancel(self, job_id: int) -> None:
        import cups

        try:
            self._call(lambda c: c.cancelJob(job_id, purge_job=False))
        except cups.IPPError as exc:
            log.info("cancel of CUPS job %s: %s", job_id, exc)

    def find_job(self, needle: str) -> int | None:
        """A job whose name contains `needle` (the pipeline's per-attempt tag), for resuming after a crash."""
        import cups

        try:
            jobs = self._call(lambda c: c.getJobs(which_jobs="all", my_jobs=False, requested_attributes=["job-name"]))
        except cups.IPPError:
            return None
        for job_id, attrs in sorted(jobs.items(), reverse=True):
            if needle in (attrs.get("job-name") or ""):
                return int(job_id)
        return None

    def job_attributes(self, job_id: int) -> dict:
        return self._call(lambda c: c.getJobAttributes(job_id))


class HotFolderBackend:
    """Writes `<code>-<name>` and `<code>-<name>.json` (the ticket) into a folder. Handing the file over is
    all this printer can report, so the job counts as done once both files are in place."""

    kind = "hotfolder"

    def __init__(self, folder: Path, name: str = "Hot folder"):
        self.folder = Path(folder)
        self.name = name
        self._ids = itertools.count(int(time.time()))
        self._lock = threading.Lock()

    def printers(self) -> list[PrinterInfo]:
        ok = self.folder.exists() or _can_create(self.folder)
        return [PrinterInfo(name=self.name, backend=self.kind, description=f"Files and tickets into {self.folder}",
                            state=3 if ok else 5, reasons=[] if ok else ["offline"],
                            message="" if ok else f"cannot write to {self.folder}",
                            media=set(PaperSize), sides=set(PrintMode), colors=set(ColorMode), max_copies=999,
                            page_ranges=True)]

    def printer(self, name: str, default: str | None = None) -> PrinterInfo | None:
        return self.printers()[0] if name == self.name else None

    def submit(self, req: PrintRequest, printer: str, path: Path, title: str) -> int:
        self.folder.mkdir(parents=True, exist_ok=True)
        with self._lock:
            job_id = next(self._ids)
        stem = f"{req.code}-{job_id}-" + re.sub(r"[^\w.-]+", "_", req.original_name)[:80]
        target = self.folder / stem
        try:
            shutil.copyfile(path, target.with_name(target.name + ".part"))
            os.replace(target.with_name(target.name + ".part"), target)
            ticket = {"job_id": job_id, "title": title, "code": req.code, "customer": req.customer,
                      "file": target.name, "pages": req.num_pages, "copies": req.settings.copies,
                      "print_mode": req.settings.print_mode.value, "color_mode": req.settings.color_mode.value,
                      "paper_size": req.settings.paper_size.value, "page_ranges": req.page_ranges,
                      "ipp": ipp_options(req), "created_at": datetime.now(UTC).isoformat()}
            tmp = target.with_name(target.name + ".json.part")
            tmp.write_text(json.dumps(ticket, indent=2), "utf-8")
            os.replace(tmp, target.with_name(target.name + ".json"))
        except OSError as exc:
            raise SubmitError(f"Cannot write to the hot folder {self.folder}: {exc.strerror}") from exc
        return job_id

    def view(self, job_id: int, printer: str) -> JobView:
        return JobView(state=COMPLETED)

    def cancel(self, job_id: int) -> None:
        for p in self.folder.glob(f"*-{job_id}-*"):
            p.unlink(missing_ok=True)

    def find_job(self, needle: str) -> int | None:
        return None


def _can_create(folder: Path) -> bool:
    parent = folder
    while not parent.exists():
        parent = parent.parent
    return os.access(parent, os.W_OK)


class PrinterSet:
    """All printers of this counter, from every backend; dispatches by printer name."""

    def __init__(self, backends: list):
        self.backends = backends

    def printers(self) -> list[PrinterInfo]:
        out: list[PrinterInfo] = []
        for b in self.backends:
            out.extend(b.printers())
        return out

    def backend_for(self, name: str):
        for b in self.backends:
            if b.printer(name) is not None:
                return b
        return None

    def backend_of_kind(self, kind: str):
        return next((b for b in self.backends if b.kind == kind), None)


def default_printer_set(hot_folder: Path) -> PrinterSet:
    """The local CUPS printers, or a hot-folder printer when there are none (or no CUPS at all)."""
    try:
        cups_backend = CupsBackend()
        if cups_backend.printers():
            return PrinterSet([cups_backend, HotFolderBackend(hot_folder)])
    except (ImportError, PrinterUnavailable) as exc:
        log.info("no CUPS: %s", exc)
    return PrinterSet([HotFolderBackend(hot_folder)])
