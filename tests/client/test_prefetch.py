"""The prefetcher against a real server: waiting jobs' files land in the verified cache before Print,
newest first within its bounds, wait while a print is sent, and go when their job leaves the queue."""

from __future__ import annotations

import hashlib

import pytest

from shopdesk.client.api import ShopClient
from shopdesk.client.downloads import DownloadCache
from shopdesk.client.prefetch import Prefetcher
from tests.helpers.pdfs import pdf_bytes
from tests.helpers.wait import wait_until


@pytest.fixture
def staff(shop):
    c = ShopClient(shop.url)
    c.login(*shop.staff)
    return c


def _jobs(orders):
    return {j["code"]: j for o in orders for j in o["files"]}


def test_waiting_files_are_fetched_newest_first_within_the_count_bound(shop, staff, tmp_path):
    files = [pdf_bytes(n, text="prefetch count") for n in (1, 2, 3)]
    codes = [shop.upload(data, name=f"f{n}.pdf")["files"][0]["code"] for n, data in enumerate(files)]
    cache = DownloadCache(tmp_path / "cache", staff)
    left = cache.path_for("e" * 64)  # the file of a job printed while this counter was closed
    left.write_bytes(b"an earlier customer's file")
    pf = Prefetcher(cache, max_bytes=10 * 2**20, max_files=2)
    pf.start()
    try:
        orders, _ = staff.queue()
        pf.update(orders)
        assert pf.wait_idle(10)
        assert not left.exists()
        jobs = _jobs(orders)
        # the two newest are there, whole and verified; the oldest is left to the print
        for code, data in zip(codes[1:], files[1:], strict=True):
            path = cache.path_for(jobs[code]["sha256"])
            assert path.read_bytes() == data and hashlib.sha256(data).hexdigest() == jobs[code]["sha256"]
        assert not cache.path_for(jobs[codes[0]]["sha256"]).exists()
        assert pf.fetched == 2
        assert not list((tmp_path / "cache").glob("*.part"))
    finally:
        pf.stop()


def test_the_size_bound_and_the_switch_off(shop, staff, tmp_path):
    big, small = pdf_bytes(40, text="prefetch size"), pdf_bytes(1, text="prefetch size")
    shop.upload(small, name="small.pdf")
    shop.upload(big, name="big.pdf")  # the newest, and alone over the bound: nothing older is taken after it
    cache = DownloadCache(tmp_path / "cache", staff)
    pf = Prefetcher(cache, max_bytes=len(big) - 1, max_files=10)
    off = Prefetcher(DownloadCache(tmp_path / "off", staff), max_bytes=0, max_files=10)
    pf.start(), off.start()
    try:
        orders, _ = staff.queue()
        pf.update(orders), off.update(orders)
        assert pf.wait_idle(10) and off.wait_idle(10)
        assert pf.fetched == 0 and off.fetched == 0
        assert list((tmp_path / "cache").iterdir()) == [] and list((tmp_path / "off").iterdir()) == []
    finally:
        pf.stop(), off.stop()


def test_nothing_is_fetched_while_a_print_is_sent_and_files_go_when_their_job_leaves(shop, staff, tmp_path):
    a = shop.upload(pdf_bytes(1, text="leaves"), name="a.pdf")["files"][0]
    b = shop.upload(pdf_bytes(2, text="stays"), name="b.pdf")["files"][0]
    cache = DownloadCache(tmp_path / "cache", staff)
    in_use: list[str] = []
    pf = Prefetcher(cache, max_bytes=10 * 2**20, max_files=10, in_use=lambda: in_use)
    pf.start()
    try:
        orders, _ = staff.queue()
        jobs = _jobs(orders)
        end = pf.begin_sending("f" * 64)  # another file is being sent to a printer
        pf.update(orders)
        assert pf.wait_idle(10)
        assert pf.fetched == 0 and list((tmp_path / "cache").iterdir()) == []
        end()
        wait_until(lambda: pf.fetched == 2, what="both files fetched once the print was sent")
        end()  # a second call changes nothing
        a_path, b_path = (cache.path_for(jobs[x["code"]]["sha256"]) for x in (a, b))
        assert a_path.exists() and b_path.exists()

        staff.cancel(a["file_id"], "customer left")
        in_use.append(jobs[b["code"]]["sha256"])  # a print of ours still needs b's file
        orders, _ = staff.queue()
        staff.cancel(b["file_id"], "customer left too")
        pf.update(orders)
        assert pf.wait_idle(10)
        assert not a_path.exists() and b_path.exists() and pf.dropped == 1
        pf.update(staff.queue()[0])
        assert pf.wait_idle(10)
        assert b_path.exists(), "a file a print still needs is kept"
        in_use.clear()
        pf.update(staff.queue()[0])
        assert pf.wait_idle(10)
        assert not b_path.exists() and pf.dropped == 2
    finally:
        pf.stop()
