"""The print path end to end: real server, real cupsd, real files; every outcome reaches the server."""

from __future__ import annotations

import time

import pytest

from shopdesk.client.errors import ConflictError
from shopdesk.printing.backends import PrinterUnavailable
from shopdesk.printing.inflight import AlreadyInFlight
from shopdesk.printing.options import UnsupportedOption
from shopdesk.printing.pipeline import Result
from tests.helpers.cupsd import pdf_pages
from tests.helpers.pdfs import pdf_bytes

from .conftest import PrintRig


def _wait_for_output(path, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.stat().st_size > 0:
            return
        time.sleep(0.1)
    raise AssertionError(f"{path} was not written")


def test_a_three_page_duplex_job_of_two_copies_comes_out_as_eight_pages(rig, cupsd):
    out = cupsd.out / "Front.pdf"
    out.unlink(missing_ok=True)
    job = rig.job(pdf_bytes(3), copies=2, print_mode="double")
    stages = []
    result = rig.pipeline.print_job(job, "Front", progress=lambda s, w, f: stages.append(s))
    assert result.result is Result.PRINTED, result.message
    _wait_for_output(out)
    assert pdf_pages(out) == 8
    assert stages[:3] == ["starting", "downloading", "downloading"] and "sent" in stages
    attrs = rig.cups.job_attributes(result.cups_job_id)
    assert attrs["copies"] == 2 and attrs["sides"] == "two-sided-long-edge"
    assert attrs["media"] == "iso_a4_210x297mm" and attrs["print-color-mode"] == "monochrome"
    assert attrs["job-name"].startswith(f"{job['code']} Asha #")
    assert rig.moves(job) == [("print-started", None), ("confirm", None)]
    audit = rig.shop.get(f"/file/{job['code']}/audit").json()
    assert audit[0]["printer"] == "Front" and audit[0]["counter"] == "Counter 1"
    assert rig.inflight.all() == []


def test_colour_legal_with_page_ranges_reaches_cups(rig):
    job = rig.job(pdf_bytes(5), color_mode="color", paper_size="Legal")
    result = rig.pipeline.print_job(job, "Color", page_ranges="2-3")
    assert result.result is Result.PRINTED
    attrs = rig.cups.job_attributes(result.cups_job_id)
    assert attrs["print-color-mode"] == "color" and attrs["media"] == "na_legal_8.5x14in"
    assert attrs["page-ranges"] == (2, 3)


def test_unsupported_option_is_refused_before_anything_is_sent(rig):
    job = rig.job(pdf_bytes(1), paper_size="A3")
    with pytest.raises(UnsupportedOption, match="Use 'Wide'"):
        rig.pipeline.print_job(job, "Front")
    assert rig.moves(job) == []  # no print-started: the job is still free for any counter


def test_a_paused_printer_is_refused_before_anything_is_sent(rig):
    job = rig.job(pdf_bytes(1))
    with pytest.raises(PrinterUnavailable, match="Paused.*paused \\(Out of paper\\)"):
        rig.pipeline.print_job(job, "Paused")
    assert rig.moves(job) == []


def test_a_failing_device_reaches_the_server_as_print_failed_with_a_reason(rig):
    job = rig.job(pdf_bytes(2))
    result = rig.pipeline.print_job(job, "Broken")
    assert result.result is Result.FAILED
    moves = rig.moves(job)
    assert [m for m, _ in moves] == ["print-started", "print-failed"]
    assert "Broken" in moves[1][1] and moves[1][1] == result.message
    assert rig.shop.get(f"/file/{job['code']}").json()["status"] == "uploaded"  # back in the queue


class Crash(BaseException):
    """Stands for the counter dying at that moment."""


def _on_stage(stage_name, action):
    """A progress callback that runs `action` once, when the pipeline reaches `stage_name`."""
    done = []

    def progress(stage, words, fraction):
        if stage == stage_name and not done:
            done.append(stage)
            action()

    return progress


def test_a_printer_stopped_mid_job_fails_the_job_and_takes_it_back(rig, cupsd):
    cupsd.add_file_printer("Flaky")
    try:
        job = rig.job(pdf_bytes(1))
        # the door opens after the checks, while the file downloads: the job will wait in a stopped queue
        result = rig.pipeline.print_job(job, "Flaky", progress=_on_stage("downloading",
                                                                         lambda: cupsd.disable("Flaky", "Door open")))
        assert result.result is Result.FAILED
        assert result.message == "Printer 'Flaky' is paused (Door open); the job was taken back."
        assert rig.cups.view(result.cups_job_id, "Flaky").state == 7  # cancelled: it can never come out later
        assert [m for m, _ in rig.moves(job)] == ["print-started", "print-failed"]
    finally:
        cupsd.delete("Flaky")


def test_a_printer_deleted_mid_job_is_reported(rig, cupsd):
    cupsd.add_file_printer("Gone")
    job = rig.job(pdf_bytes(1))
    progress_steps = {"downloading": lambda: cupsd.disable("Gone", "about to vanish"),
                      "sent": lambda: cupsd.delete("Gone")}
    seen = set()

    def progress(stage, words, fraction):
        if stage in progress_steps and stage not in seen:
            seen.add(stage)
            progress_steps[stage]()

    result = rig.pipeline.print_job(job, "Gone", progress=progress)
    assert result.result is Result.FAILED
    assert "Gone" in result.message and ("removed" in result.message or "cancelled" in result.message)
    assert [m for m, _ in rig.moves(job)] == ["print-started", "print-failed"]


def test_a_second_counter_gets_conflict_and_nothing_is_printed(rig, shop, tmp_path, cupsd):
    job = rig.job(pdf_bytes(1))
    rig.client.print_started(job["file_id"], printer="Back", counter="Counter 2")
    with pytest.raises(ConflictError, match="already printing at Counter 2"):
        rig.pipeline.print_job(job, "Front")
    assert rig.inflight.all() == []


def test_the_same_job_twice_on_one_counter_is_refused(rig):
    job = rig.job(pdf_bytes(1))
    rig.inflight.claim(job, "Front", "cups")
    with pytest.raises(AlreadyInFlight, match="already being printed"):
        rig.pipeline.print_job(job, "Front")


def test_restart_resumes_watching_a_job_in_flight(shop, tmp_path, cupsd):
    cupsd.add_file_printer("Slow")
    try:
        first = PrintRig(shop, tmp_path)
        job = first.job(pdf_bytes(2))

        def stop_printer_then_crash(stage, words, fraction):
            if stage == "downloading" and fraction == 0.0:
                cupsd.disable("Slow", "warming up")  # the job will wait in CUPS
            if stage == "sent":
                raise Crash  # the counter dies right after CUPS took the job

        with pytest.raises(Crash):
            first.pipeline.print_job(job, "Slow", progress=stop_printer_then_crash)
        [row] = first.inflight.all()
        assert row.job_id is not None and row.stage == "submitted"
        first.close()
        cupsd.enable("Slow")
        again = PrintRig(shop, tmp_path)  # the app starts again with the same files
        [outcome] = again.pipeline.resume()
        assert outcome.result is Result.PRINTED and outcome.cups_job_id == row.job_id
        assert [m for m, _ in again.moves(job)] == ["print-started", "confirm"]
        assert again.inflight.all() == []
        again.close()
    finally:
        cupsd.delete("Slow")


def test_restart_before_cups_took_the_job_returns_it_to_the_queue(shop, tmp_path, cupsd):
    first = PrintRig(shop, tmp_path)
    job = first.job(pdf_bytes(1))

    def crash_while_downloading(stage, words, fraction):
        if stage == "downloading":
            raise Crash

    with pytest.raises(Crash):
        first.pipeline.print_job(job, "Front", progress=crash_while_downloading)
    first.close()
    again = PrintRig(shop, tmp_path)
    [outcome] = again.pipeline.resume()
    assert outcome.result is Result.FAILED and "before the job reached the printer" in outcome.message
    assert [m for m, _ in again.moves(job)] == ["print-started", "print-failed"]
    again.close()


def test_ask_mode_waits_for_the_shopkeeper(shop, tmp_path, cupsd):
    rig = PrintRig(shop, tmp_path, confirm_mode="ask")
    try:
        job = rig.job(pdf_bytes(1))
        result = rig.pipeline.print_job(job, "Front")
        assert result.result is Result.NEEDS_CONFIRMATION
        assert [m for m, _ in rig.moves(job)] == ["print-started"]
        assert [r.file_id for r in rig.pipeline.awaiting_confirmation()] == [job["file_id"]]
        rig.pipeline.settle(job["file_id"], printed=False, reason="pages came out blank")
        assert rig.moves(job)[-1] == ("print-failed", "pages came out blank")
    finally:
        rig.close()


def test_hot_folder_writes_the_file_and_a_ticket(rig, tmp_path):
    import json

    job = rig.job(pdf_bytes(2), copies=3, color_mode="color", paper_size="A3")
    result = rig.pipeline.print_job(job, "Hot folder")
    assert result.result is Result.PRINTED
    [ticket] = (tmp_path / "hot").glob("*.json")
    t = json.loads(ticket.read_text())
    assert (t["code"], t["copies"], t["color_mode"], t["paper_size"]) == (job["code"], 3, "color", "A3")
    assert (tmp_path / "hot" / t["file"]).read_bytes()[:5] == b"%PDF-"
    assert [m for m, _ in rig.moves(job)] == ["print-started", "confirm"]
