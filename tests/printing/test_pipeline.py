"""The print path end to end: real server, real cupsd, real files; every outcome reaches the server."""

from __future__ import annotations

import threading
import time

import pytest

from shopdesk.client.errors import ConflictError, OfflineError
from shopdesk.printing.backend import PrinterUnavailable
from shopdesk.printing.cups import CupsBackend
from shopdesk.printing.inflight import AlreadyInFlight
from shopdesk.printing.options import UnsupportedOption
from shopdesk.printing.pipeline import Result
from shopdesk.printing.printers import PrinterSet
from shopdesk.printing.states import JobState
from tests.helpers.cupsd import PrivateCupsd, pdf_pages
from tests.helpers.pdfs import pdf_bytes

from .conftest import PrintRig


def _wait_for_output(path, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.stat().st_size > 0:
            return
        time.sleep(0.1)
    raise AssertionError(f"{path} was not written")


def cups_states(needle: str) -> dict[int, int]:
    """job id → job-state of every CUPS job whose name contains `needle` (a job code, a tag)."""
    import cups

    c = cups.Connection()
    jobs = c.getJobs(which_jobs="all", my_jobs=False, requested_attributes=["job-id", "job-name", "job-state"])
    return {jid: int(a["job-state"]) for jid, a in jobs.items() if needle in (a.get("job-name") or "")}


def _stages(seen: list[str]) -> list[str]:
    return [s for i, s in enumerate(seen) if i == 0 or seen[i - 1] != s]


def test_a_three_page_duplex_job_of_two_copies_comes_out_as_eight_pages(rig, cupsd):
    out = cupsd.out / "Front.pdf"
    out.unlink(missing_ok=True)
    job = rig.job(pdf_bytes(3), copies=2, print_mode="double")
    seen = []
    result = rig.pipeline.print_job(job, "Front", progress=lambda s, w, f: seen.append(s))
    assert result.result is Result.PRINTED, result.message
    assert result.message == "Printed on 'Front'."
    _wait_for_output(out)
    assert pdf_pages(out) == 8  # duplex pads each 3-page copy to 2 sheets: 2 × 4 sides
    stages = _stages(seen)
    assert stages[:3] == ["starting", "downloading", "sent"] and stages[-1] == "done"
    assert set(stages) <= {"starting", "downloading", "sent", "printing", "done"}
    attrs = rig.cups.job_attributes(result.cups_job_id)
    assert attrs["copies"] == 2 and attrs["sides"] == "two-sided-long-edge"
    assert attrs["media"] == "iso_a4_210x297mm" and attrs["print-color-mode"] == "monochrome"
    assert attrs["multiple-document-handling"] == "separate-documents-collated-copies"
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


def test_unsupported_option_is_refused_before_anything_is_sent(http_rig):
    job = http_rig.job(pdf_bytes(1), paper_size="A3")
    with pytest.raises(UnsupportedOption, match="Printer 'Front' cannot print A3 paper. Use 'Wide' or 'Hot folder' instead."):
        http_rig.pipeline.print_job(job, "Front")
    assert http_rig.reporter.calls == []  # no print-started: the job is still free for any counter
    assert http_rig.moves(job) == [] and http_rig.status(job) == "uploaded"


def test_a_paused_printer_is_refused_before_anything_is_sent(http_rig):
    job = http_rig.job(pdf_bytes(1))
    with pytest.raises(PrinterUnavailable, match=r"Printer 'Paused' is paused \(Out of paper\)\. Fix it"):
        http_rig.pipeline.print_job(job, "Paused")
    assert http_rig.reporter.calls == [] and http_rig.moves(job) == []


# --- every failure reaches the server as print-failed, with the reason in words ---------------------

def _fails_with(rig, job, printer, message, **print_kw):
    result = rig.pipeline.print_job(job, printer, **print_kw)
    assert result.result is Result.FAILED
    assert result.message == message
    assert rig.reporter.names() == ["print_started", "fetch", "print_failed"]
    assert rig.moves(job) == [("print-started", None), ("print-failed", message)]
    assert rig.status(job) == "uploaded"  # back in the queue for another try
    assert rig.inflight.all() == []
    return result


def test_a_device_that_fails_aborts_the_job_and_the_server_hears_why(http_rig):
    job = http_rig.job(pdf_bytes(2))
    _fails_with(http_rig, job, "Broken", "Printer 'Broken' gave up on the job: The printer did not answer.")


@pytest.mark.parametrize("kind,words", [
    ("out-of-paper", "is out of paper (Load paper in tray 1), paused"),
    ("door-open", "is not ready: door open (Close the front door), paused"),
])
def test_a_printer_that_stops_with_a_problem_fails_the_job_and_cancels_it(http_rig, printer, kind, words):
    name = printer(kind, "Trouble")
    job = http_rig.job(pdf_bytes(1))
    result = _fails_with(http_rig, job, name, f"Printer 'Trouble' {words}; the job was taken back.")
    assert http_rig.cups.view(result.cups_job_id, name).state == 7  # cancelled: it cannot come out later


def test_a_job_the_device_refuses_is_reported_as_cancelled(http_rig, printer):
    name = printer("refuse", "Picky")
    job = http_rig.job(pdf_bytes(1))
    _fails_with(http_rig, job, name, "The job was cancelled on 'Picky': Job refused by the device.")


def _on_stages(actions: dict):
    """A progress callback that runs each action once, when the pipeline first reaches its stage."""
    ran = set()

    def progress(stage, words, fraction):
        if stage in actions and stage not in ran:
            ran.add(stage)
            actions[stage]()

    return progress


def test_a_job_cancelled_in_cups_by_someone_else_is_reported(http_rig, printer, cupsd):
    name = printer("file", "Shared")
    job = http_rig.job(pdf_bytes(1))
    http_rig.pipeline.stuck_limit = 60  # the cancel, not the stuck rule, must end it
    progress = _on_stages({"downloading": lambda: cupsd.disable(name, "warming up"),
                           "sent": lambda: cupsd.cancel(http_rig.inflight.get(job["file_id"]).job_id)})
    _fails_with(http_rig, job, name, "The job was cancelled on 'Shared'.", progress=progress)


def test_a_printer_deleted_mid_job_is_reported(http_rig, printer, cupsd):
    name = printer("file", "Gone")
    job = http_rig.job(pdf_bytes(1))
    progress = _on_stages({"downloading": lambda: cupsd.disable(name, "about to vanish"),
                           "sent": lambda: cupsd.delete(name)})
    _fails_with(http_rig, job, name, "Printer 'Gone' was removed while the job was in it.", progress=progress)


def test_a_printer_stopped_mid_job_fails_the_job_and_takes_it_back(rig, cupsd, printer):
    name = printer("file", "Flaky")
    job = rig.job(pdf_bytes(1))
    # the shopkeeper pauses the queue after the checks, while the file downloads: the job waits in CUPS
    result = rig.pipeline.print_job(job, name,
                                    progress=_on_stages({"downloading": lambda: cupsd.disable(name, "Door open")}))
    assert result.result is Result.FAILED
    assert result.message == "Printer 'Flaky' is paused (Door open); the job was taken back."
    assert rig.cups.view(result.cups_job_id, name).state == 7  # cancelled: it can never come out later
    assert rig.moves(job) == [("print-started", None), ("print-failed", result.message)]


def test_a_job_that_never_finishes_times_out_in_proportion_to_its_pages(http_rig, printer, cupsd):
    name = printer("file", "Slowpoke")
    p = http_rig.pipeline
    assert (p.time_allowed(1), p.time_allowed(10)) == (p.timeout_base + p.timeout_per_sheet,
                                                       p.timeout_base + 10 * p.timeout_per_sheet)
    p.timeout_base, p.timeout_per_sheet, p.stuck_limit = 1.0, 0.5, 60.0
    job = http_rig.job(pdf_bytes(2))  # 2 sheets → 1 + 2 × 0.5 = 2 s
    _fails_with(http_rig, job, name,  # "(2 s)": the allowance of its 2 sheets, not the default 180 s
                "Printer 'Slowpoke' did not finish the job in time (2 s); it says: paused (Warming up).",
                progress=_on_stages({"downloading": lambda: cupsd.disable(name, "Warming up")}))


def test_a_download_that_does_not_match_its_checksum_is_not_printed(http_rig):
    job = http_rig.job(pdf_bytes(1))
    result = _fails_with(http_rig, {**job, "sha256": "0" * 64}, "Front",
                         f"Could not download the file: the download of file {job['file_id']} does not match "
                         "its checksum")
    assert result.cups_job_id is None


def test_cups_going_away_before_the_job_is_sent_is_reported(http_rig):
    solo = PrivateCupsd().start()
    try:
        solo.add_file_printer("Solo")
        http_rig.printers = http_rig.pipeline.printers = PrinterSet([CupsBackend(server=solo.server)])
        job = http_rig.job(pdf_bytes(1))
        result = http_rig.pipeline.print_job(job, "Solo", progress=_on_stages({"downloading": solo.stop}))
        assert result.result is Result.FAILED
        assert result.message == (f"The job could not be sent to 'Solo': Cannot reach the print system (CUPS at "
                                  f"{solo.server}). Check that it is running, then press Retry.")
        assert http_rig.moves(job) == [("print-started", None), ("print-failed", result.message)]
    finally:
        solo.stop()


# --- who gets to print ------------------------------------------------------------------------------

def test_a_second_counter_gets_conflict_and_nothing_is_printed(http_rig):
    job = http_rig.job(pdf_bytes(1))
    http_rig.client.print_started(job["file_id"], printer="Back", counter="Counter 2")
    with pytest.raises(ConflictError, match="already printing at Counter 2"):
        http_rig.pipeline.print_job(job, "Front")
    # The file may have been fetched (a read) and sent held to CUPS while print-started was on the wire:
    # nothing was reported, and whatever reached CUPS was cancelled while still held — never printed.
    assert [n for n in http_rig.reporter.names() if n != "fetch"] == ["print_started"]
    assert http_rig.inflight.all() == []
    assert set(cups_states(job["code"]).values()) <= {JobState.CANCELED}


def test_the_same_job_twice_on_one_counter_is_refused(http_rig):
    job = http_rig.job(pdf_bytes(1))
    http_rig.inflight.claim(job, "Front", "cups")
    with pytest.raises(AlreadyInFlight, match=f"Job {job['code']} is already being printed on this counter"):
        http_rig.pipeline.print_job(job, "Front")
    assert http_rig.reporter.calls == []


def test_two_printers_print_at_once_from_two_threads(rig):
    """One pycups connection per thread: jobs on two printers from two worker threads both complete."""
    jobs = [(rig.job(pdf_bytes(1)), "Front"), (rig.job(pdf_bytes(2), color_mode="color"), "Color")]
    results = {}

    def work(job, name):
        results[name] = rig.pipeline.print_job(job, name)

    threads = [threading.Thread(target=work, args=jp) for jp in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert {n: r.result for n, r in results.items()} == {"Front": Result.PRINTED, "Color": Result.PRINTED}
    assert results["Front"].cups_job_id != results["Color"].cups_job_id


# --- crashes and restarts ---------------------------------------------------------------------------

class Crash(BaseException):
    """Stands for the counter dying at that moment."""


def test_restart_resumes_watching_a_job_in_flight(shop, tmp_path, cupsd, printer):
    name = printer("file", "Slow")
    first = PrintRig(shop, tmp_path)
    job = first.job(pdf_bytes(2))

    def stop_printer_then_crash(stage, words, fraction):
        if stage == "downloading" and fraction == 0.0:
            cupsd.disable(name, "warming up")  # the job will wait in CUPS
        if stage == "sent":
            raise Crash  # the counter dies right after CUPS took the job

    with pytest.raises(Crash):
        first.pipeline.print_job(job, name, progress=stop_printer_then_crash)
    [row] = first.inflight.all()
    assert row.job_id is not None and row.stage == "submitted"
    first.close()
    cupsd.enable(name)
    again = PrintRig(shop, tmp_path)  # the app starts again with the same files
    [outcome] = again.pipeline.resume()
    assert outcome.result is Result.PRINTED and outcome.cups_job_id == row.job_id
    assert [m for m, _ in again.moves(job)] == ["print-started", "confirm"]
    assert again.inflight.all() == []
    assert pdf_pages(cupsd.out / "Slow.pdf") == 2
    again.close()


def test_restart_finds_a_job_cups_took_just_before_the_crash(shop, tmp_path, cupsd):
    """The crash came after the held job was released in CUPS but before its id was saved: the tag in the
    job name finds it, and it is not held, so it is watched to its end."""
    first = PrintRig(shop, tmp_path)
    job = first.job(pdf_bytes(1))
    real_release = first.cups.release

    def release_then_crash(job_id):
        real_release(job_id)
        raise Crash

    first.cups.release = release_then_crash
    with pytest.raises(Crash):
        first.pipeline.print_job(job, "Front")
    [row] = first.inflight.all()
    assert row.job_id is None and row.stage == "starting"
    first.close()
    again = PrintRig(shop, tmp_path)
    [outcome] = again.pipeline.resume()
    assert outcome.result is Result.PRINTED and outcome.cups_job_id is not None
    assert [m for m, _ in again.moves(job)] == ["print-started", "confirm"]
    again.close()


# A counter process that stops for good while its job is held in CUPS: print-started acknowledged, the file
# streamed in and verified, the release not yet sent. It prints "HELD <cups job id>" and waits to be killed.
HELD_CHILD = """
import sys, time
from pathlib import Path
from shopdesk.client.api import ShopClient
from shopdesk.counter import CounterCore
from shopdesk.printing.cups import CupsBackend
from shopdesk.printing.printers import PrinterSet

url, user, password, code, data = sys.argv[1:6]
client = ShopClient(url)
client.login(user, password)
cups_backend = CupsBackend()

def release(job_id):
    print("HELD", job_id, flush=True)
    time.sleep(600)

cups_backend.release = release
core = CounterCore(client, PrinterSet([cups_backend]), Path(data), counter="Counter 1")
core.print_job(client.job_by_code(code), "Front")
"""


def test_a_counter_killed_while_its_job_is_held_in_cups_never_prints_it(shop, tmp_path, cupsd):
    """Kill -9 between the held submission and its release: the job waits held in the real cupsd, where it
    can never print by itself. The next start finds it by its tag (the in-flight row was on disk before
    the job existed in CUPS), cancels it and gives the job back to the queue; printed again, it prints
    once."""
    import os
    import signal
    import subprocess
    import sys

    from tests.helpers.server import ROOT

    up = shop.upload(pdf_bytes(2, text="held then killed"), name="doc.pdf")
    job = shop.get(f"/file/{up['files'][0]['code']}").json()
    child = subprocess.Popen([sys.executable, "-c", HELD_CHILD, shop.url, *shop.staff, job["code"], str(tmp_path)],
                             cwd=ROOT, stdout=subprocess.PIPE, text=True, env=os.environ.copy())
    try:
        line = child.stdout.readline().split()
        assert line[:1] == ["HELD"], line
        held_id = int(line[1])
        assert cups_states(job["code"]) == {held_id: JobState.HELD}
        assert shop.get(f"/file/{job['code']}").json()["status"] == "printing"
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)
    time.sleep(1.0)  # held means held: nothing moves in CUPS while nobody releases it
    assert cups_states(job["code"]) == {held_id: JobState.HELD}

    again = PrintRig(shop, tmp_path)
    try:
        [outcome] = again.pipeline.resume()
        assert outcome.result is Result.FAILED
        assert outcome.message == "The counter stopped before the job reached the printer; it is back in the queue."
        assert cups_states(job["code"]) == {held_id: JobState.CANCELED}
        assert again.moves(job) == [("print-started", None), ("print-failed", outcome.message)]
        assert again.inflight.all() == []
        job = shop.get(f"/file/{job['code']}").json()
        assert again.pipeline.print_job(job, "Front").result is Result.PRINTED
        states = cups_states(job["code"])
        assert sorted(states.values()) == [JobState.CANCELED, JobState.COMPLETED]  # printed once
    finally:
        again.close()


def test_a_streamed_file_that_fails_its_checksum_is_cancelled_while_held(rig, shop):
    """The file is streamed into the held CUPS job as it downloads; the server's copy is damaged, so the
    SHA-256 does not match at the end: the job is cancelled without ever being released."""
    data = pdf_bytes(3, text="damaged on the way")
    job = rig.job(data)
    stored = shop.server.data_dir / "files" / job["sha256"][:2] / job["sha256"]
    stored.write_bytes(data[:-10] + b"corrupted!")
    result = rig.pipeline.print_job(job, "Front")
    assert result.result is Result.FAILED and result.message.startswith("Could not download the file:")
    assert "checksum" in result.message
    [state] = cups_states(job["code"]).values()
    assert state == JobState.CANCELED
    assert [m for m, _ in rig.moves(job)] == ["print-started", "print-failed"]
    assert not rig.cache.path_for(job["sha256"]).exists()


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
    assert outcome.result is Result.FAILED
    assert outcome.message == "The counter stopped before the job reached the printer; it is back in the queue."
    assert again.moves(job) == [("print-started", None), ("print-failed", outcome.message)]
    again.close()


# --- the shopkeeper confirms; the hot folder ---------------------------------------------------------

def test_ask_mode_waits_for_the_shopkeeper_even_across_a_restart(shop, tmp_path, cupsd):
    rig = PrintRig(shop, tmp_path, confirm_mode="ask")
    job = rig.job(pdf_bytes(1))
    seen = []
    result = rig.pipeline.print_job(job, "Front", progress=lambda s, w, f: seen.append(s))
    assert result.result is Result.NEEDS_CONFIRMATION and seen[-1] == "waiting-confirm"
    assert result.message == "Printed on 'Front'. Did it come out right?"
    assert [m for m, _ in rig.moves(job)] == ["print-started"]
    rig.close()
    rig = PrintRig(shop, tmp_path, confirm_mode="ask")
    assert rig.pipeline.resume() == []  # nothing to watch: it waits for the shopkeeper's answer
    assert [r.file_id for r in rig.pipeline.awaiting_confirmation()] == [job["file_id"]]
    rig.pipeline.settle(job["file_id"], printed=False, reason="pages came out blank")
    assert rig.moves(job)[-1] == ("print-failed", "pages came out blank")
    assert rig.pipeline.awaiting_confirmation() == []
    rig.close()


def test_ask_mode_confirmed_by_the_shopkeeper(http_rig):
    http_rig.pipeline.confirm_mode = "ask"
    job = http_rig.job(pdf_bytes(1))
    assert http_rig.pipeline.print_job(job, "Front").result is Result.NEEDS_CONFIRMATION
    http_rig.pipeline.settle(job["file_id"], printed=True)
    assert http_rig.reporter.names() == ["print_started", "fetch", "confirm"]
    assert http_rig.status(job) == "downloaded"


def test_hot_folder_writes_the_file_and_a_ticket(rig, tmp_path):
    import json

    data = pdf_bytes(2)
    job = rig.job(data, copies=3, color_mode="color", paper_size="A3")
    result = rig.pipeline.print_job(job, "Hot folder")
    assert result.result is Result.PRINTED
    [ticket] = (tmp_path / "hot").glob("*.json")
    t = json.loads(ticket.read_text())
    assert (t["code"], t["copies"], t["color_mode"], t["paper_size"]) == (job["code"], 3, "color", "A3")
    assert t["ipp"]["media"] == "iso_a3_297x420mm" and t["customer"] == "Asha"
    assert (tmp_path / "hot" / t["file"]).read_bytes() == data
    assert [m for m, _ in rig.moves(job)] == ["print-started", "confirm"]


# --- a start whose answer was lost -------------------------------------------------------------------

def completed_jobs(cupsd) -> int:
    import cups

    return len(cups.Connection().getJobs(which_jobs="completed", my_jobs=False))


@pytest.fixture
def lossy(shop, tmp_path, cupsd):
    """A rig that reaches the server through a proxy that can lose the server's answers."""
    from tests.helpers.proxy import FaultProxy

    proxy = FaultProxy(shop.server.port).start()
    rig = PrintRig(shop, tmp_path, url=proxy.url)
    yield rig, proxy
    rig.close()
    proxy.close()


def test_a_start_whose_answer_was_lost_is_settled_not_left_printing(lossy, cupsd):
    """The server took print-started but the answer never came back: the job shows "printing" at this
    counter while nothing prints. resolve_starts() makes sure the start is ours, then returns the job
    to the queue; it prints normally afterwards, once."""
    from shopdesk.printing.pipeline import LOST_START_WORDS, UNKNOWN_START

    rig, proxy = lossy
    job = rig.job(pdf_bytes(2))
    proxy.lose_replies(60)
    with pytest.raises(OfflineError):
        rig.pipeline.print_job(job, "Front")
    assert proxy.counts["replies lost"] >= 1
    assert rig.status(job) == "printing"  # the server did it
    [row] = rig.inflight.all()
    assert row.stage == UNKNOWN_START
    assert rig.pipeline.resolve_starts() == []  # still unreachable: kept for later
    proxy.heal()
    [outcome] = rig.pipeline.resolve_starts()
    assert outcome.result is Result.FAILED and outcome.message == LOST_START_WORDS
    assert rig.inflight.all() == []
    assert rig.moves(job) == [("print-started", None), ("print-failed", LOST_START_WORDS)]
    assert rig.status(job) == "uploaded"
    before = completed_jobs(cupsd)
    job = rig.shop.get(f"/file/{job['code']}").json()
    assert rig.pipeline.print_job(job, "Front").result is Result.PRINTED
    assert completed_jobs(cupsd) == before + 1


def test_print_again_soon_after_a_lost_answer_sends_the_same_start(lossy):
    rig, proxy = lossy
    job = rig.job(pdf_bytes(1))
    proxy.lose_replies(60)
    with pytest.raises(OfflineError):
        rig.pipeline.print_job(job, "Front")
    proxy.heal()
    assert rig.pipeline.print_job(job, "Front").result is Result.PRINTED
    assert [m for m, _ in rig.moves(job)] == ["print-started", "confirm"]  # one start, answered twice


def test_a_lost_start_after_the_reuse_window_is_settled_before_a_new_one(shop, tmp_path, cupsd):
    from tests.helpers.proxy import FaultProxy

    proxy = FaultProxy(shop.server.port).start()
    rig = PrintRig(shop, tmp_path, url=proxy.url, start_reuse_seconds=0)
    try:
        job = rig.job(pdf_bytes(1))
        proxy.lose_replies(60)
        with pytest.raises(OfflineError):
            rig.pipeline.print_job(job, "Front")
        proxy.heal()
        rig.outbox.start()
        assert rig.pipeline.print_job(job, "Front").result is Result.PRINTED
        assert [m for m, _ in rig.moves(job)] == ["print-started", "print-failed", "print-started", "confirm"]
    finally:
        rig.close()
        proxy.close()


def test_a_job_that_completed_just_before_its_printer_was_deleted_counts_as_printed(rig, cupsd, printer):
    """CUPS forgets every job of a deleted printer, finished ones too (driverless queues come and go).
    The soak found the pipeline then reported a printed job as failed, and it was printed again."""
    import cups

    name = printer("file", "Fleeting")
    job = rig.job(pdf_bytes(1))

    def delete_printer_once_done(stage, words, fraction):
        if stage != "sent":
            return
        job_id = int(words.split()[2])  # "CUPS job N on Fleeting"
        deadline = time.monotonic() + 20
        while cups.Connection().getJobAttributes(job_id)["job-state"] != 9 and time.monotonic() < deadline:
            time.sleep(0.05)
        cupsd.delete(name)  # before the pipeline's first look

    outcome = rig.pipeline.print_job(job, name, progress=delete_printer_once_done)
    assert outcome.result is Result.PRINTED, outcome.message
    assert [m for m, _ in rig.moves(job)] == ["print-started", "confirm"]


def test_a_job_deleted_with_its_printer_before_it_printed_still_counts_as_failed(rig, cupsd, printer):
    name = printer("door-open", "Gone")  # the job cannot come out
    job = rig.job(pdf_bytes(1))

    def delete_printer(stage, words, fraction):
        if stage == "sent":
            cupsd.delete(name)

    outcome = rig.pipeline.print_job(job, name, progress=delete_printer)
    assert outcome.result is Result.FAILED
    assert outcome.message == f"Printer '{name}' was removed while the job was in it."


def test_the_job_events_subscription_is_renewed_not_lost_on_a_long_day(rig, cupsd):
    """The subscription that tells how vanished jobs ended has a 24 h lease: a counter that runs for
    days renews it (same subscription, its queued events kept) instead of losing it silently."""
    import cups

    assert rig.pipeline.print_job(rig.job(pdf_bytes(1)), "Front").result is Result.PRINTED
    first = rig.cups.events._subscription
    assert first is not None
    cups.Connection().renewSubscription(first, 60)  # as if its lease were nearly over …
    rig.cups.events._subscribed_at -= 13 * 3600  # … half a lease and more after it was made
    assert rig.pipeline.print_job(rig.job(pdf_bytes(1)), "Front").result is Result.PRINTED
    assert rig.cups.events._subscription == first
    [sub] = [s for s in cups.Connection().getSubscriptions("ipp://localhost/")
             if s["notify-subscription-id"] == first]
    assert sub["notify-lease-duration"] == 24 * 3600


def test_resume_adopts_only_the_jobs_this_counter_started(shop, tmp_path, cupsd):
    """Two counters once shared a data dir: one must not resume (and report) the other's job."""
    rig = PrintRig(shop, tmp_path)
    theirs, mine = rig.job(pdf_bytes(1)), rig.job(pdf_bytes(1))
    rig.inflight.claim(theirs, "Front", "cups", "Counter 2")
    rig.inflight.claim(mine, "Front", "cups", "Counter 1")
    [outcome] = rig.pipeline.resume()  # mine never reached CUPS: settled as a lost start
    assert outcome.file_id == mine["file_id"]
    assert [r.file_id for r in rig.inflight.all()] == [theirs["file_id"]]  # left alone, not reported
    assert rig.moves(theirs) == []
    rig.close()
