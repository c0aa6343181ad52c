"""The print path wired for tests: a real print pipeline against the private cupsd (the session's
`cupsd` fixture, tests/helpers/cupsd.py) and a real API server, reporting either through the real client
(ClientReporter + outbox + download cache) or through `HttpReporter`, a test-only JobReporter made of
plain HTTP calls that also records every call the pipeline makes."""

from __future__ import annotations

import contextlib
import hashlib
import subprocess
import uuid
from pathlib import Path

import pytest
import requests

from shopdesk.client.api import ShopClient
from shopdesk.client.errors import ApiError, ConflictError
from shopdesk.counter import CounterCore
from shopdesk.printing.cups import CupsBackend
from shopdesk.printing.hotfolder import HotFolderBackend
from shopdesk.printing.printers import PrinterSet


class HttpReporter:
    """The JobReporter protocol built from API.md alone, with `requests`: every report is sent at once
    and must be acknowledged, and `calls` lists what the pipeline asked, in order."""

    def __init__(self, url: str, username: str, password: str, cache: Path):
        self.url, self.cache = url, cache
        self.calls: list[tuple] = []
        self.sent: dict[int, tuple] = {}  # file id → (impressions, sheets) its confirm carried
        self.http = requests.Session()
        r = self.http.post(f"{url}/login", json={"username": username, "password": password}, timeout=10)
        r.raise_for_status()
        self.http.headers["Authorization"] = f"Bearer {r.json()['token']}"

    def _post(self, path: str, body: dict, key: str = "") -> None:
        r = self.http.post(self.url + path, json=body, headers={"Idempotency-Key": key or uuid.uuid4().hex},
                           timeout=10)
        if r.status_code == 409:
            raise ConflictError(r.json()["error"])
        if r.status_code != 200:
            raise ApiError(f"{path}: {r.status_code} {r.text}", r.status_code)

    def print_started(self, file_id: int, *, printer: str, counter: str, key: str) -> None:
        self.calls.append(("print_started", file_id, printer, counter))
        self._post(f"/queue/{file_id}/print-started", {"printer": printer, "counter": counter}, key=key)

    def is_transient(self, exc: BaseException) -> bool:
        return isinstance(exc, requests.ConnectionError)

    def print_failed(self, file_id: int, reason: str) -> None:
        self.calls.append(("print_failed", file_id, reason))
        self._post(f"/queue/{file_id}/print-failed", {"reason": reason})

    def confirm(self, file_id: int, *, impressions: int | None = None, sheets: int | None = None) -> None:
        self.calls.append(("confirm", file_id))
        self.sent[file_id] = (impressions, sheets)
        self._post(f"/queue/{file_id}/confirm", {k: v for k, v in (("impressions", impressions), ("sheets", sheets))
                                                 if v is not None})

    def fetch(self, file_id: int, sha256: str, progress=None, sink=None) -> Path:
        self.calls.append(("fetch", file_id))
        self.cache.mkdir(parents=True, exist_ok=True)
        path, digest, done = self.cache / f"{file_id}.bin", hashlib.sha256(), 0
        with self.http.get(f"{self.url}/queue/download/{file_id}", stream=True, timeout=30) as r:
            r.raise_for_status()
            total = int(r.headers.get("Content-Length") or 0)
            with open(path, "wb") as f:
                for chunk in r.iter_content(1 << 16):
                    f.write(chunk)
                    digest.update(chunk)
                    if sink is not None:
                        sink(chunk)
                    done += len(chunk)
                    if progress:
                        progress(done, total)
        if digest.hexdigest() != sha256:
            raise ValueError(f"the download of file {file_id} does not match its checksum")
        return path

    def names(self) -> list[str]:
        return [c[0] for c in self.calls]


class PrintRig:
    """Everything a counter has, wired for one test. `reporter="client"` is the product's own wiring;
    `reporter="http"` the recording HttpReporter."""

    def __init__(self, shop, tmp_path, confirm_mode="auto", reporter="client", url=None, **pipeline_kw):
        self.shop = shop
        self.client = ShopClient(url or shop.url, retries=2)
        self.client.login(*shop.staff)
        reporter = HttpReporter(shop.url, *shop.staff, cache=tmp_path / "http-cache") if reporter == "http" else None
        self.cups = CupsBackend()
        self.hot = HotFolderBackend(tmp_path / "hot", takes="A4 A3 Letter Legal colour duplex")
        self.printers = PrinterSet([self.cups, self.hot])
        kw = {"poll_seconds": 0.1, "stuck_limit": 2.0, **pipeline_kw}
        self.core = CounterCore(self.client, self.printers, tmp_path, counter="Counter 1", confirm_mode=confirm_mode,
                                reporter=reporter, **kw)
        self.outbox, self.cache, self.inflight = self.core.outbox, self.core.cache, self.core.inflight
        self.reporter, self.pipeline = self.core.reporter, self.core.pipeline

    def job(self, data: bytes, name="doc.pdf", **settings) -> dict:
        up = self.shop.upload(data, name=name, customer_name="Asha", **settings)
        return self.shop.get(f"/file/{up['files'][0]['code']}").json()

    def moves(self, job) -> list[tuple[str, str | None]]:
        """What the server's audit trail says happened to the job (after the outbox has delivered)."""
        self.outbox.deliver()
        return [(a["move"], a["reason"]) for a in self.shop.get(f"/file/{job['code']}/audit").json()]

    def status(self, job) -> str:
        return self.shop.get(f"/file/{job['code']}").json()["status"]

    def close(self):
        self.core.close()


@pytest.fixture
def rig(shop, tmp_path, cupsd):
    r = PrintRig(shop, tmp_path)
    yield r
    r.close()


@pytest.fixture
def http_rig(shop, tmp_path, cupsd):
    """A rig whose reporter is the recording HttpReporter."""
    r = PrintRig(shop, tmp_path, reporter="http")
    yield r
    r.close()


@pytest.fixture
def printer(cupsd):
    """A printer made for one test and deleted after it: `printer(kind, name)` with kind "file" or one of
    tests.helpers.cupsd.FAILURES."""
    made = []

    def make(kind: str, name: str) -> str:
        if kind == "file":
            cupsd.add_file_printer(name)
        else:
            cupsd.add_failing_printer(name, kind)
        made.append(name)
        return name

    yield make
    for name in made:
        with contextlib.suppress(subprocess.CalledProcessError):  # the test may have deleted it itself
            cupsd.delete(name)


@pytest.fixture(scope="module")
def eve(cupsd):
    """Driverless printers (ippeveprinter, tests/helpers/ippeve.py) in the session's cupsd, made with
    `lpadmin -m everywhere`: EveColour (colour, duplex, A4 and A3) and EveMono (black & white, A4), shared
    by a module's tests (not the session's: other tests' printer lists and "Use …" advice stay as they
    expect). Tests that switch a printer off make their own with `own_eve(...)`."""
    from tests.helpers.ippeve import IppEvePrinters, available

    why = available()
    if why:
        raise RuntimeError(why)
    printers = IppEvePrinters(cupsd).start()
    try:
        printers.add("EveColour", colour=True, duplex=True, media=("iso_a4_210x297mm", "iso_a3_297x420mm"))
        printers.add("EveMono", colour=False, duplex=False)
        yield printers
    finally:
        for name in list(printers.printers):
            with contextlib.suppress(subprocess.CalledProcessError):
                cupsd.delete(name)
        printers.stop()


@pytest.fixture
def own_eve(eve):
    """`own_eve(name, job_seconds)`: a driverless colour duplex A4 printer for one test (it may be killed)."""
    made = []

    def make(name: str, job_seconds: float = 0.0):
        made.append(name)
        return eve.add(name, colour=True, duplex=True, job_seconds=job_seconds)

    yield make
    for name in made:
        with contextlib.suppress(subprocess.CalledProcessError, KeyError):
            eve.remove(name)
