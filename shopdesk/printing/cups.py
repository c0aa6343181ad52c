"""The CUPS backend (pycups; one connection per thread, as pycups connections are not thread-safe) and
its job-events subscription (`CupsJobEvents`)."""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import cups

from . import ipp
from .backend import PrinterUnavailable, SubmitError
from .capabilities import REQUESTED_ATTRIBUTES, PrinterInfo, from_ipp
from .options import PrintRequest, ipp_options
from .outcomes import RESTARTED_WORDS, JobView
from .states import JobState, PrinterState

log = logging.getLogger("shopdesk.printing")


# libcups's statuses when the request never got an answer: IPP_SERVICE_UNAVAILABLE (cannot connect) and
# IPP_INTERNAL_ERROR (a local failure, with errno's text, e.g. the connection dropped while sending).
_CONNECTION_LOST = (0x502, 0x500)
_NOT_FOUND, _NOT_ACCEPTING = 0x406, 0x506
_LEASE = 24 * 3600  # seconds a job-events subscription lasts; renewed at half of it, when a job is sent


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


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

    def __init__(self, server: str | None = None, device_timeout: float = 4.0) -> None:
        self.server = server
        self.device_timeout = device_timeout  # seconds a network printer has to answer a direct question
        self._device_uris: dict[str, str] = {}  # printer → device-uri, as the last view saw it
        self._local = threading.local()
        self.events = CupsJobEvents(self._call)

    def _conn(self):
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
        try:
            attrs = self._call(lambda c: c.getPrinterAttributes(name, requested_attributes=REQUESTED_ATTRIBUTES))
        except cups.IPPError:
            return None
        return from_ipp(name, attrs, is_default=name == default)

    def submit(self, req: PrintRequest, printer: str, path: Path, title: str) -> int:
        """The CUPS job id. `title` must be unique to this attempt: when the connection drops mid-request,
        it tells whether CUPS took the job, so a job is never sent twice."""
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
            raise _refused(printer, exc) from exc

    # --- held submission: the job waits in CUPS until the pipeline releases it ------------------------
    @property
    def can_hold(self) -> bool:
        """Held, streamed submission works: libcups's Create-Job asks the standard server (CUPS_SERVER or
        the local one) about the printer, so a backend pointed at another server submits whole files."""
        return not self.server or self.server == os.environ.get("CUPS_SERVER", "")

    def open_held(self, req: PrintRequest, printer: str, title: str) -> HeldJob:
        """Creates the job in CUPS *held* (job-hold-until=indefinite) and opens its one document, to be
        streamed with `HeldJob.write` and closed with `HeldJob.finish` — all on the calling thread. A held
        job never prints by itself: `release()` lets it go, `cancel()` drops it. `title` carries the
        attempt's tag, so a counter killed while the job is held finds it again (find_job). Raises
        SubmitError (refused) or PrinterUnavailable (CUPS away: the job may exist; find it by its tag)."""
        self._subscribe()  # before the job exists, so its end cannot be missed
        options = {**ipp_options(req), "job-hold-until": "indefinite"}
        try:  # never repeated: a lost answer may mean the job exists (found by its tag)
            job_id = self._call(lambda c: int(c.createJob(printer, title, options)), retry=False)
        except cups.IPPError as exc:
            raise _refused(printer, exc) from exc
        # the document goes on the connection the job was created on (this thread's), named by the title,
        # not the customer's file name: CUPS types a document by its name as well as its bytes, and the
        # stored file may be the PDF made from a Word file ("x.doc")
        return HeldJob(self, self._conn(), printer, job_id, title)

    def release(self, job_id: int) -> None:
        """Lets a held job print. SubmitError when it certainly was not released (CUPS could not be
        reached at all, or refused: the job is gone or was not held); PrinterUnavailable when the
        connection was lost on the way and whether CUPS released it is not known."""
        try:
            conn = self._conn()
        except PrinterUnavailable as exc:
            raise SubmitError(str(exc)) from exc
        try:
            conn.setJobHoldUntil(job_id, "no-hold")
        except cups.IPPError as exc:
            if exc.args[:1] not in [(s,) for s in _CONNECTION_LOST]:
                raise SubmitError(f"CUPS did not release job {job_id}: {exc.args[-1] if exc.args else exc}") from exc
            self._local.conn = None
            raise PrinterUnavailable("Lost contact with the print system (CUPS) while releasing the job.") from exc
        except (cups.HTTPError, RuntimeError) as exc:
            self._local.conn = None
            raise PrinterUnavailable("Lost contact with the print system (CUPS) while releasing the job.") from exc

    def job_state(self, job_id: int) -> JobState | None:
        """The job's state now (HELD: created held and not released); None for a job CUPS does not know.
        PrinterUnavailable if CUPS is away."""
        try:
            a = self._call(lambda c: c.getJobAttributes(job_id, requested_attributes=["job-state"]))
        except cups.IPPError:
            return None
        state = _int(a.get("job-state"))
        return JobState(state) if state in JobState._value2member_map_ else None

    def view(self, job_id: int, printer: str) -> JobView:
        """The job and its printer now. Raises PrinterUnavailable if CUPS cannot be reached."""
        try:
            a = self._call(lambda c: c.getJobAttributes(job_id, requested_attributes=[
                "job-state", "job-state-reasons", "job-printer-state-message", "job-impressions-completed",
                "job-media-sheets-completed"]))
        except cups.IPPError:
            # The job is gone from CUPS: with its printer, or purged. How did it end, if CUPS said?
            exists = self.printer(printer) is not None
            ended = self.ended(job_id)
            return JobView(state=ended or (JobState.CANCELED if exists else JobState.ABORTED), reasons=("job-purged",),
                           printer_exists=exists)
        reasons = a.get("job-state-reasons") or []
        if isinstance(reasons, str):
            reasons = [reasons]
        common = {"state": int(a["job-state"]), "reasons": tuple(reasons), "message": a.get("job-printer-state-message") or "",
                  "impressions": _int(a.get("job-impressions-completed")), "sheets": _int(a.get("job-media-sheets-completed"))}
        p = self.printer(printer)
        if p is None:
            return JobView(**common, printer_exists=False)
        self._device_uris[printer] = p.device_uri
        state, reasons, message, answers = p.state, list(p.reasons), p.message, None
        if common["state"] in (JobState.PENDING, JobState.PROCESSING) and p.state == PrinterState.PROCESSING \
                and self._may_ask(p.device_uri):
            # CUPS keeps a job "processing" for ever when a network printer goes silent: ask the printer too
            try:
                device = ipp.printer_status(p.device_uri, timeout=min(5.0, self.device_timeout))
                answers = True
                reasons += [r for r in device["printer-state-reasons"] if r not in reasons and r != "none"]
                message = message or device.get("printer-state-message") or ""
            except ipp.DeviceUnreachable as exc:
                log.info("printer %s (%s) does not answer: %s", printer, p.device_uri, exc)
                answers = False
        return JobView(**common, printer_state=state, printer_reasons=tuple(reasons), printer_message=message,
                       device_answers=answers, device_uri=p.device_uri)

    def _may_ask(self, uri: str) -> bool:
        """The device can be asked directly: an IPP printer, and not one named "localhost" by a CUPS server
        on another machine."""
        if not ipp.is_ipp(uri):
            return False
        host = (urlsplit(uri).hostname or "").lower()
        if host in ("localhost", "127.0.0.1", "::1"):
            server = self.server or os.environ.get("CUPS_SERVER", "")
            return not server or server.startswith("/") or _split_server(server)[0] in ("localhost", "127.0.0.1", "::1")
        return True

    def printer_finished(self, printer: str, needle: str) -> bool:
        """The printer's own job history has the job named with `needle` completed, now (asked while the
        job is in flight: a printer restarted after finishing a job forgets it, and CUPS's word then is
        no witness). False when it cannot be asked or has no such record."""
        uri = self._device_uris.get(printer, "")
        if not self._may_ask(uri):
            return False
        try:
            job = ipp.pick(ipp.completed_jobs(uri, timeout=min(3.0, self.device_timeout)) or [], needle)
        except ipp.DeviceUnreachable:
            return False
        return job is not None and _int(job.get("job-state")) == JobState.COMPLETED

    def printer_confirms(self, printer: str, needle: str, age: float) -> tuple[bool | None, str, int | None]:
        """Whether the printer agrees that the job named with `needle`, sent `age` seconds ago, came out:
        (True: its own job history has it completed | False: it has it otherwise, or has no record of it
        and was switched on again since the job was sent, or does not answer | None: it keeps no history
        that tells, so CUPS's word stands; why in words; the printer's job-impressions-completed)."""
        p = self.printer(printer)
        if p is None or not self._may_ask(p.device_uri):
            return None, "the printer keeps no history shopdesk can read", None
        try:
            jobs = ipp.completed_jobs(p.device_uri, timeout=self.device_timeout)
            if jobs is None:
                return None, "the printer keeps no job history", None
            job = ipp.pick(jobs, needle)
            if job is not None:
                if _int(job.get("job-state")) == JobState.COMPLETED:
                    return True, "the printer's job history has it", _int(job.get("job-impressions-completed"))
                return False, "the printer says it did not complete it", None
            restarted = self._restarted_since(p.device_uri, age, self.device_timeout)
        except ipp.DeviceUnreachable as exc:
            return False, f"the printer did not answer when asked ({exc})", None
        if restarted:
            return False, RESTARTED_WORDS, None
        return None, "the printer's job history does not go back to it", None

    @staticmethod
    def _restarted_since(uri: str, age: float, timeout: float) -> bool:
        """The printer was switched on less than `age` seconds ago (its printer-up-time says so)."""
        up = _int(ipp.printer_status(uri, timeout=timeout).get("printer-up-time"))
        return up is not None and up < age

    def device_job(self, uri: str, needle: str, age: float) -> tuple[str, int | None]:
        """What the network printer at `uri` — where a job was sent — says of the job named with `needle`,
        `age` seconds after it was sent, whatever CUPS now says of its queue:
        ("in-printer" | "completed" | "ended" (cancelled or aborted there) | "none" (no record, and not
        restarted since) | "restarted" (no record, switched off and on since) | "no-history" | "silent"
        (does not answer), the printer's job-impressions-completed)."""
        if not self._may_ask(uri):
            return "no-history", None
        try:
            job = ipp.find_job(uri, needle, timeout=min(3.0, self.device_timeout))
            if job is False:
                return "no-history", None
            if job is None:
                return ("restarted" if self._restarted_since(uri, age, min(3.0, self.device_timeout)) else "none"), None
        except ipp.DeviceUnreachable:
            return "silent", None
        state = int(job.get("job-state", 0) or 0)
        if state == JobState.COMPLETED:
            return "completed", _int(job.get("job-impressions-completed"))
        if state in (JobState.CANCELED, JobState.ABORTED):
            return "ended", None
        return "in-printer", None

    def _subscribe(self) -> None:
        self.events.subscribe()

    def ended(self, job_id: int) -> int | None:
        """The job-state CUPS announced when the job ended (completed / cancelled / aborted), or None."""
        return self.events.ended(job_id)

    def cancel(self, job_id: int) -> None:
        try:
            self._call(lambda c: c.cancelJob(job_id, purge_job=False))
        except (cups.IPPError, PrinterUnavailable) as exc:
            log.info("cancel of CUPS job %s: %s", job_id, exc)

    def find_job(self, needle: str, *, recent: int = 500) -> int | None:
        """A job among the `recent` newest whose name contains `needle` (the pipeline's per-attempt tag):
        after a crash, or a connection lost while submitting, this tells whether CUPS took the job."""
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


_AUTO_FORMAT = "application/octet-stream"  # CUPS types the document itself, as printFile lets it


def _refused(printer: str, exc: cups.IPPError) -> SubmitError:
    status, text = exc.args if len(exc.args) == 2 else (0, str(exc))
    if status == _NOT_FOUND:
        return SubmitError(f"Printer '{printer}' does not exist any more. Choose another printer.")
    if status == _NOT_ACCEPTING:
        return SubmitError(f"Printer '{printer}' is not accepting jobs. Enable it or choose another printer.")
    return SubmitError(f"Printer '{printer}' refused the job: {text}")


class HeldJob:
    """A job created held in CUPS with its document open (CupsBackend.open_held): `write` streams bytes
    into it, `finish` closes the document; the job stays held until released. One thread only (it owns
    the pycups connection the document is being sent on)."""

    def __init__(self, backend: CupsBackend, conn, printer: str, job_id: int, document: str) -> None:
        self._backend, self._conn, self.printer, self.job_id = backend, conn, printer, job_id
        self._document, self._open = document, False

    def _call(self, fn):
        try:
            return fn()
        except (cups.IPPError, cups.HTTPError, RuntimeError) as exc:
            self._backend._local.conn = None  # the connection is mid-request: never reused
            raise PrinterUnavailable(f"Lost contact with the print system (CUPS) while sending the job: {exc}") from exc

    def _begin(self) -> None:
        if not self._open:
            self._open = True
            self._call(lambda: self._conn.startDocument(self.printer, self.job_id, self._document, _AUTO_FORMAT, 1))

    def write(self, data: bytes) -> None:
        self._begin()
        if data:
            self._call(lambda: self._conn.writeRequestData(data, len(data)))

    def finish(self) -> None:
        self._begin()
        self._call(lambda: self._conn.finishDocument(self.printer))


class CupsJobEvents:
    """How each job ended, as CUPS announced it (job id → first final job-state): CUPS forgets every job of
    a printer that is deleted (a driverless queue that comes and goes, a reconfigured printer), finished
    ones too, and a job that completed just before must not count as failed. One server-wide subscription
    to job-completed events, pulled with Get-Notifications through the backend's `call`."""

    def __init__(self, call) -> None:
        self._call = call
        self._events_lock = threading.Lock()
        self._subscription: int | None = None
        self._subscribed_at = 0.0
        self._last_event = 0
        self._ended: dict[int, int] = {}

    def subscribe(self) -> None:
        """A server-wide subscription to job-completed events (pulled with Get-Notifications): made at the
        first job, renewed when half its lease has passed, made again if CUPS forgot it."""
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
