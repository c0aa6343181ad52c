"""A private cupsd with virtual printers, and a real print path (client + outbox + cache) to a real
server for each test."""

from __future__ import annotations

import os

import pytest

from shopdesk.client.api import ShopClient
from shopdesk.client.downloads import DownloadCache
from shopdesk.client.outbox import Outbox
from shopdesk.client.reporter import ClientReporter
from shopdesk.printing.backends import CupsBackend, HotFolderBackend, PrinterSet
from shopdesk.printing.inflight import InFlight
from shopdesk.printing.pipeline import PrintPipeline
from tests.helpers.cupsd import PrivateCupsd


@pytest.fixture(scope="session")
def cupsd():
    daemon = PrivateCupsd().start()
    old = os.environ.get("CUPS_SERVER")
    os.environ["CUPS_SERVER"] = daemon.server
    daemon.add_file_printer("Front")
    daemon.add_file_printer("Color", color=True)
    daemon.lpadmin("-p", "Wide", "-E", "-v", f"file://{daemon.out}/wide.out", "-m", "lsb/usr/cups-pdf/CUPS-PDF_opt.ppd")
    daemon.add_failing_printer("Broken")
    daemon.add_file_printer("Paused")
    daemon.disable("Paused", "Out of paper")
    yield daemon
    daemon.stop()
    if old is None:
        os.environ.pop("CUPS_SERVER", None)
    else:
        os.environ["CUPS_SERVER"] = old


class PrintRig:
    """Everything a counter has, wired for one test."""

    def __init__(self, shop, tmp_path, confirm_mode="auto", **pipeline_kw):
        self.shop = shop
        self.client = ShopClient(shop.url)
        self.client.login(*shop.staff)
        self.outbox = Outbox(tmp_path / "outbox.db", self.client)
        self.cache = DownloadCache(tmp_path / "cache", self.client)
        self.reporter = ClientReporter(self.client, self.outbox, self.cache, counter="Counter 1")
        self.cups = CupsBackend()
        self.hot = HotFolderBackend(tmp_path / "hot")
        self.printers = PrinterSet([self.cups, self.hot])
        self.inflight = InFlight(tmp_path / "inflight.db")
        kw = {"poll_seconds": 0.1, "stuck_limit": 3.0, **pipeline_kw}
        self.pipeline = PrintPipeline(self.reporter, self.printers, self.inflight, counter="Counter 1",
                                      confirm_mode=confirm_mode, **kw)

    def job(self, data: bytes, name="doc.pdf", **settings) -> dict:
        up = self.shop.upload(data, name=name, customer_name="Asha", **settings)
        return self.shop.get(f"/file/{up['files'][0]['code']}").json()

    def moves(self, job) -> list[tuple[str, str | None]]:
        self.outbox.deliver()
        return [(a["move"], a["reason"]) for a in self.shop.get(f"/file/{job['code']}/audit").json()]

    def close(self):
        self.outbox.close()
        self.inflight.close()


@pytest.fixture
def rig(shop, tmp_path, cupsd):
    r = PrintRig(shop, tmp_path)
    yield r
    r.close()
