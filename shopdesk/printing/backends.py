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
from .outcomes import ABORTED, CANCELED, COMPLETED, JobView

log = logging.getLogger("shopdesk.printing")


class PrinterUnavailable(Exception):
    """The printer is gone, stopped or refuses jobs — in words."""


class SubmitError(Exception):
    """CUPS did not take the job — in words."""


# libcups's statuses when the request never got an answer: IPP_SERVICE_UNAVAILABLE (cannot connect) and
# IPP_INTERNAL_ERROR (a local failure, with errno's text, e.g. the connection dropped while sending).
_CONNECTION_LOST = (0x502, 0x500)
_NOT_FOUND, _NOT_ACCEPTING = 0x406, 0x506
_LEASE = 24 * 3600  # seconds a job-events subscription lasts; renewed at half of it, when a job is sent


def _split_server(server: str) -> tuple[str, int | None]:
    """'host:port' / 'host' / '/run/cups/cups.sock' / '[::1]:631' → (host, port or None)."""
    if server.startswith("/"):
        return server, None
    host, sep, port = server.rpartition(":")
    if sep and port.isdigit() and (host.count(":") == 0 or host.endswith("]")):
        return host.strip("[]"), int(port)
    return server.strip("[]"), None


class CupsBackend:
    """CUPS through pycups. The server is `server` ('host:port'), else the standard CUPS_SERVER, else the
    local default. Connections are per thread (pycups connections are not thread-safe); a lost connection
    is retried once, then raises PrinterUnavailable — never mistaken for "no such printer"."""

    kind = "cups"

    def __init__(self, server: str | None = None) -> None:
        import cups  # noqa: F401 — fail early and clearly when pycups/libcups is missing

        self.server = server
        self._local = threading.local()
        # How each job ended, as CUPS announced it (job id → first final job-state): CUPS forgets every
        # job of a printer that is deleted (a driverless queue that comes and goes, a reconfigured
        # printer), finished ones too, and a job that completed just before must not count as failed.
        self._events_lock = threading.Lock()
        self._subscription: int | None = None
        self._subscribed_at = 0.0
        self._last_event = 0
        self._ended: dict[int, int] = {}

    def _conn(self):
        import cups

        conn = getattr(self._local, "conn", None)
        if conn is None:
            server = self.server or os.environ.get("CUPS_SERVER", "")
            kw = {}
            if server:
                host, port = _split_server(server)
                kw = {"host": host} if port is None else {"host": host, "port": port}
            try:
                conn = cups.Connection(**kw)
            except RuntimeError as exc:
                raise PrinterUnavailable(f"Cannot reach the print system (CUPS{' at ' + server if server else ''}). "
                                         "Check that it is running, then press Retry.") from exc
            self._local.conn = conn
        return conn

    def _call(self, fn, *, retry: bool = True):
        """fn(connection), on a fresh connection once more if the first try got no answer (only for
        requests that are safe to repeat: `retry=False` for submitting a job)."""
        import cups

        for attempt in (1, 2):
            try:
                return fn(self._conn())
            except (cups.HTTPError, RuntimeError) as exc:
                lost = exc
            except cups.IPPError as exc:
                if exc.args[:1] not in [(s,) for s in _CONNECTION_LOST]:
                    raise
                lost = exc
            self._local.conn = None  # a fresh connection next time
            if attempt == 2 or not retry:
                raise PrinterUnavailable("Lost contact with the print system (CUPS). Check that it is running, "
                                         "then press Retry.") from lost
        raise AssertionError("unreachable")

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
            try:
                info = self.printer(name, default=default)
            except PrinterUnavailable:
                return out
            if info is not None:
                out.append(info)
        return out

    def printer(self, name: str, default: str | None = None) -> PrinterInfo | None:
        """The printer now, or None if CUPS has no such printer. Raises PrinterUnavailable if CUPS is away."""
        import cups

        try:
            attrs = self._call(lambda c: c.getPrinterAttributes(name, requested_attributes=REQUESTED_ATTRIBUTES))
        except cups.IPPError:
            return None
        return from_ipp(name, attrs, is_default=name == default)

    def submit(self, req: PrintRequest, printer: str, path: Path, title: str) -> int:
        """The CUPS job id. `title` must be unique to this attempt: when the connection drops mid-request,
        it tells whether CUPS took the job, so a job is never sent twice."""
        import cups

        def send(c):
            return int(c.printFile(printer, str(path), title, ipp_options(req)))

        self._subscribe()  # before the job exists, so its end cannot be missed

        try:
            try:
                return self._call(send, retry=False)
            except PrinterUnavailable:
                found = self.find_job(title)  # raises PrinterUnavailable if CUPS is still away
                return found if found is not None else self._call(send, retry=False)
        except cups.IPPError as exc:
            status, text = exc.args if len(exc.args) == 2 else (0, str(exc))
            if status == _NOT_FOUND:
                raise SubmitError(f"Printer '{printer}' does not exist any more. Choose another printer.") from exc
            if status == _NOT_ACCEPTING:
                raise SubmitError(f"Printer '{printer}' is not accepting jobs. Enable it or choose another "
                                  "printer.") from exc
            raise SubmitError(f"Printer '{printer}' refused the job: {text}") from exc

    def view(self, job_id: int, printer: str) -> JobView:
        """The job and its printer now. Raises PrinterUnavailable if CUPS cannot be reached."""
        import cups

        try:
            a = self._call(lambda c: c.getJobAttributes(job_id, requested_attributes=[
                "job-state", "job-state-reasons", "job-printer-state-message"]))
        except cups.IPPError:
            # The job is gone from CUPS: with its printer, or purged. How did it end, if CUPS said?
            exists = self.printer(printer) is not None
            ended = self.ended(job_id)
            return JobView(state=ended or (CANCELED if exists else ABORTED), reasons=("job-purged",),
                           printer_exists=exists)
        reasons = a.get("job-state-reasons") or []
        if isinstance(reasons, str):
            reasons = [reasons]
        common = {"state": int(a["job-state"]), "reasons": tuple(reasons), "message": a.get("job-printer-state-message") or ""}
        p = self.printer(printer)
        if p is None:
            return JobView(**common, printer_exists=False)
        return JobView(**common, printer_state=p.state, printer_reasons=tuple(p.reasons), printer_message=p.message)

    def _subscribe(self) -> None:
        """A server-wide subscription to job-completed events (pulled with Get-Notifications): made at the
        first job, renewed when half its lease has passed, made again if CUPS forgot it."""
        import cups

        with self._events_lock:
            if self._subscription is not None:
                if time.monotonic() - self._subscribed_at < _LEASE / 2:
                    return
                sub = self._subscription
                try:  # an app that runs for days keeps its subscription (the events already queued too)
                    self._call(lambda c: c.renewSubscription(sub, _LEASE))
                    self._subscribed_at = time.monotonic()
                    return
                except (cups.IPPError, PrinterUnavailable) as exc:
                    log.info("renewing the CUPS job events: %s", exc)
            try:
                self._subscription = int(self._call(lambda c: c.createSubscription(
                    "ipp://localhost/", events=["job-completed"], lease_duration=_LEASE)))
                self._subscribed_at = time.monotonic()
                self._last_event = 0
            except (cups.IPPError, PrinterUnavailable, AttributeError) as exc:
                self._subscription = None
                log.info("no CUPS job events (%s): a job whose printer is deleted counts as not printed", exc)

    def ended(self, job_id: int) -> int | None:
        """The job-state CUPS announced when the job ended (completed / cancelled / aborted), or None."""
        import cups

        with self._events_lock:
            if self._subscription is None:
                return self._ended.get(job_id)
            sub = self._subscription
            try:
                answer = self._call(lambda c: c.getNotifications([sub], [self._last_event + 1]))
            except (cups.IPPError, PrinterUnavailable) as exc:
                log.info("CUPS job events: %s", exc)
                self._subscription = None  # made again at the next submit
                return self._ended.get(job_id)
            for event in answer.get("events", []):
                self._last_event = max(self._last_event, int(event.get("notify-sequence-number", 0)))
                jid, state = event.get("notify-job-id"), event.get("job-state")
                if jid is not None and state is not None:
                    # the first end counts: deleting a printer announces its finished jobs again as cancelled
                    self._ended.setdefault(int(jid), int(state))
            while len(self._ended) > 10_000:
                self._ended.pop(next(iter(self._ended)))
            return self._ended.get(job_id)

    def cancel(self, job_id: int) -> None:
        import cups

        try:
            self._call(lambda c: c.cancelJob(job_id, purge_job=False))
        except (cups.IPPError, PrinterUnavailable) as exc:
            log.info("cancel of CUPS job %s: %s", job_id, exc)

    def find_job(self, needle: str, *, recent: int = 500) -> int | None:
        """A job among the `recent` newest whose name contains `needle` (the pipeline's per-attempt tag):
        after a crash, or a connection lost while submitting, this tells whether CUPS took the job."""
        import cups

        try:
            # pycups keys the answer by job-id and drops jobs without it: it must be requested too.
            jobs = self._call(lambda c: c.getJobs(which_jobs="all", my_jobs=False,
                                                  requested_attributes=["job-id", "job-name"]))
        except cups.IPPError:
            return None
        for job_id in sorted(jobs, reverse=True)[:recent]:
            name = jobs[job_id].get("job-name")
            if name is None:  # Get-Jobs leaves it out for some finished jobs; ask the job itself
                try:
                    name = self._call(lambda c, j=job_id: c.getJobAttributes(j, requested_attributes=["job-name"]))
                    name = name.get("job-name")
                except cups.IPPError:
                    continue
            if needle in (name or ""):
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

    def find(self, name: str) -> tuple[object, PrinterInfo] | None:
        """(backend, the printer now) for one printer, asking only about it. A backend that cannot be
        reached does not hide the others' printers; if no backend has it, that is the error raised."""
        unreachable: PrinterUnavailable | None = None
        for b in self.backends:
            try:
                info = b.printer(name)
            except PrinterUnavailable as exc:
                unreachable = exc
                continue
            if info is not None:
                return b, info
        if unreachable is not None:
            raise unreachable
        return None

    def backend_for(self, name: str):
        found = self.find(name)
        return found[0] if found else None

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
