"""Files are there before the click: a waiting job's file is prefetched by the counter core, so Print
costs print-started + submit (no download), and the prefetch waits while a print is being sent."""

from __future__ import annotations

import pytest

from shopdesk.printing.pipeline import Result
from tests.helpers.pdfs import pdf_bytes
from tests.helpers.wait import wait_until


def test_a_prefetched_job_prints_without_downloading(rig, shop, tmp_path):
    data = pdf_bytes(2, text="prefetched")
    job = rig.job(data)
    rig.core.start()
    jobs = dict(rig.core.waiting_jobs()[0][1].items())  # the queue read also hands it to the prefetcher
    assert jobs["file_id"] == job["file_id"]
    cached = rig.cache.path_for(job["sha256"])
    wait_until(cached.exists, what="the waiting job's file prefetched")
    # the server's copy is damaged from now on: a download at Print would fail its checksum
    stored = shop.server.data_dir / "files" / job["sha256"][:2] / job["sha256"]
    stored.write_bytes(data[:-10] + b"corrupted!")
    seen = []
    outcome = rig.core.print_job(job, "Hot folder", progress=lambda stage, words, f: seen.append(stage))
    assert outcome.result is Result.PRINTED, outcome.message
    [out] = [p for p in (tmp_path / "hot").iterdir() if p.suffix != ".json"]
    assert out.read_bytes() == data
    assert "sent" in seen
    # printed and confirmed: the job has left the queue, and its file leaves the counter's disk
    rig.outbox.deliver()
    rig.core.waiting_jobs()
    wait_until(lambda: not cached.exists(), what="the printed job's file dropped from the cache")


def test_prefetching_waits_while_a_print_is_sent(rig, tmp_path):
    first, second = rig.job(pdf_bytes(1, text="one")), rig.job(pdf_bytes(3, text="two"))
    rig.core.start()
    gate = rig.core.prefetch.begin_sending(first["sha256"])  # as CounterCore.print_job does until "sent"
    rig.core.waiting_jobs()
    assert rig.core.prefetch.wait_idle(10)
    assert not rig.cache.path_for(second["sha256"]).exists()
    gate()
    wait_until(lambda: all(rig.cache.path_for(j["sha256"]).exists() for j in (first, second)),
               what="prefetch resumed once the print was sent")


def test_a_new_jobs_file_is_fetched_while_print_started_is_on_the_wire(rig, shop, tmp_path):
    """Print of a job not prefetched: the download starts with print-started, not after it — shown by a
    start another counter wins: nothing is printed, yet the file (a read only) has come."""
    from shopdesk.client.api import ShopClient
    from shopdesk.client.errors import ConflictError

    job = rig.job(pdf_bytes(2, text="raced"))
    other = ShopClient(shop.url)
    other.login(*shop.staff2)
    other.print_started(job["file_id"], printer="Front", counter="Counter 2", idempotency_key="other-counter-1")
    with pytest.raises(ConflictError):
        rig.core.print_job(job, "Hot folder")
    wait_until(rig.cache.path_for(job["sha256"]).exists, what="the file fetched alongside print-started")
    assert not (tmp_path / "hot").exists() or not list((tmp_path / "hot").iterdir())
