"""Driverless (IPP Everywhere) printers as a shop meets them: CUPS's emulator `ippeveprinter` behind
queues made with `lpadmin -m everywhere` (the `eve` fixture). What the emulator received (its kept
document and the job attributes its per-job command wrote down) is the witness that options arrived;
killing and restarting it is a printer switched off, or off and on again, mid-job."""

from __future__ import annotations

import threading
import time

import pytest

from shopdesk.printing.options import UnsupportedOption
from shopdesk.printing.pipeline import Result
from tests.helpers.cupsd import pdf_pages
from tests.helpers.pdfs import pdf_bytes
from tests.helpers.wait import wait_until

from .conftest import PrintRig


def _once_in_printer(printer, action) -> list[float]:
    """Runs `action` (from another thread) as soon as the emulator has the job; the list gets the time."""
    before, done = len(printer.received()), []

    def run():
        wait_until(lambda: len(printer.received()) > before, 60, interval=0.05, what="the job to reach the printer")
        action()
        done.append(time.monotonic())
        # A child started here gets its parent-death signal when this thread ends (setpriv --pdeathsig
        # follows the thread): stay while the restarted emulator lives (the fixture ends it)
        while printer.proc is not None and printer.proc.poll() is None:
            time.sleep(0.5)

    threading.Thread(target=run, daemon=True).start()
    return done


def test_options_arrive_at_a_colour_duplex_a3_printer(rig, eve):
    printer = eve.printers["EveColour"]
    before = len(printer.received())
    job = rig.job(pdf_bytes(3), copies=2, print_mode="double", color_mode="color", paper_size="A3")
    out = rig.pipeline.print_job(job, "EveColour")
    assert out.result is Result.PRINTED, out.message
    assert out.message == "Printed on 'EveColour'."
    got = printer.received()[before]
    assert "media-size={x-dimension=29700 y-dimension=42000}" in got["IPP_MEDIA_COL"]  # A3, in 1/100 mm
    assert got["IPP_SIDES"] == "two-sided-long-edge"
    assert got["IPP_PRINT_COLOR_MODE"] == "color"
    assert got["IPP_COPIES"] == "2"
    assert got["IPP_JOB_NAME"].startswith(f"{job['code']} Asha #")
    assert pdf_pages(got["DOCUMENT"]) == 3  # the document itself arrived (copies are the printer's work)
    assert out.impressions and out.sheets is not None
    assert rig.moves(job) == [("print-started", None), ("confirm", None)]


def test_options_arrive_at_a_mono_a4_printer(rig, eve):
    printer = eve.printers["EveMono"]
    before = len(printer.received())
    job = rig.job(pdf_bytes(2))
    out = rig.pipeline.print_job(job, "EveMono")
    assert out.result is Result.PRINTED, out.message
    got = printer.received()[before]
    assert "media-size={x-dimension=21000 y-dimension=29700}" in got["IPP_MEDIA_COL"]  # A4
    assert got["IPP_PRINT_COLOR_MODE"] == "monochrome"
    assert got["IPP_SIDES"] == "one-sided" and got.get("IPP_COPIES", "1") == "1"  # 1 is not sent: the default
    assert pdf_pages(got["DOCUMENT"]) == 2


@pytest.mark.parametrize("settings", [dict(color_mode="color"), dict(paper_size="A3"), dict(print_mode="double")])
def test_what_the_mono_printer_cannot_do_is_refused_naming_one_that_can(http_rig, eve, settings):
    printer = eve.printers["EveMono"]
    before = len(printer.received())
    job = http_rig.job(pdf_bytes(1), **settings)
    with pytest.raises(UnsupportedOption) as err:
        http_rig.pipeline.print_job(job, "EveMono")
    assert "EveColour" in str(err.value)
    assert http_rig.reporter.names() == []  # nothing reported, nothing sent
    assert len(printer.received()) == before


@pytest.mark.slow
def test_a_printer_switched_off_mid_job_is_reported_within_the_stuck_limit(shop, tmp_path, own_eve, cupsd):
    printer = own_eve("EveOff", job_seconds=60)
    rig = PrintRig(shop, tmp_path, stuck_limit=3.0)
    job = rig.job(pdf_bytes(1))
    seen: list[str] = []
    killed_at = _once_in_printer(printer, printer.kill)
    out = rig.pipeline.print_job(job, "EveOff", progress=lambda s, w, f: seen.append(w))
    took = time.monotonic() - killed_at[0]
    assert out.result is Result.FAILED
    words = "'EveOff' stopped answering (is it switched on and connected?)"
    assert out.message == f"{words} — the job was taken back."
    assert f"Waiting: {words}." in seen
    assert took < 3.0 + 30
    assert rig.moves(job) == [("print-started", None), ("print-failed", out.message)]
    state = rig.cups.job_attributes(out.cups_job_id)["job-state"]
    assert state in (7, 8)  # cancelled in CUPS: it cannot come out when the printer is back
    rig.close()


@pytest.mark.slow
@pytest.mark.parametrize("unconfirmed", ["fail", "ask"])
def test_a_printer_restarted_mid_job_is_never_confirmed(shop, tmp_path, own_eve, unconfirmed):
    printer = own_eve(f"EveRestart{unconfirmed}", job_seconds=4)
    rig = PrintRig(shop, tmp_path, stuck_limit=20.0, unconfirmed=unconfirmed)
    job = rig.job(pdf_bytes(1))
    restarted = _once_in_printer(printer, printer.restart)  # off and on again: it forgets the job
    out = rig.pipeline.print_job(job, printer.name)
    assert restarted
    assert "unknown — check the output tray" in out.message
    assert out.message.startswith(f"Printer '{printer.name}' did not confirm the job (")
    moves = rig.moves(job)
    assert ("confirm", None) not in moves
    if unconfirmed == "fail":  # the agent: reported failed with that reason
        assert out.result is Result.FAILED
        assert moves == [("print-started", None), ("print-failed", out.message)]
        assert rig.inflight.all() == []
    else:  # the window: "Did it print?"
        assert out.result is Result.NEEDS_CONFIRMATION and out.message.endswith("Did it print?")
        assert moves == [("print-started", None)]
        assert [r.file_id for r in rig.pipeline.awaiting_confirmation()] == [job["file_id"]]
    rig.close()


def _came_out(printer, job) -> int:
    return sum(name.startswith(job["code"] + " ") for name in printer.printed())


@pytest.mark.slow
def test_a_queue_removed_while_the_printer_has_the_job_counts_what_the_printer_printed(shop, tmp_path, own_eve,
                                                                                      cupsd):
    # The queue deleted (or its printer unplugged from CUPS) while the network printer already has the job:
    # the printer prints it anyway. Reporting it failed would put it back in the queue: a double print.
    printer = own_eve("EveGone", job_seconds=2)
    rig = PrintRig(shop, tmp_path, stuck_limit=3.0)
    job = rig.job(pdf_bytes(1))
    seen: list[str] = []
    removed = _once_in_printer(printer, lambda: cupsd.delete("EveGone"))
    out = rig.pipeline.print_job(job, "EveGone", progress=lambda s, w, f: seen.append(w))
    assert removed
    assert out.result is Result.PRINTED, out.message
    assert out.message == "Printed on 'EveGone'."
    assert "Printing at 'EveGone' (the job is in the printer itself)…" in seen
    assert _came_out(printer, job) == 1
    assert rig.moves(job) == [("print-started", None), ("confirm", None)]
    rig.close()


@pytest.mark.slow
def test_a_queue_paused_mid_job_does_not_send_it_twice(shop, tmp_path, own_eve, cupsd):
    # Pausing a queue (cupsdisable) while its job is in the printer puts the job back to "pending" in CUPS
    # and cancels the printer's copy; CUPS sends it again when the queue is resumed. Seen from shopdesk: CUPS
    # let go of a job the printer had; the printer's copy ended, CUPS's stands, and that one is confirmed.
    printer = own_eve("EvePause", job_seconds=2)
    rig = PrintRig(shop, tmp_path, stuck_limit=30.0)
    job = rig.job(pdf_bytes(1))

    def pause_and_resume():
        cupsd.disable("EvePause", "Paused by the shopkeeper")
        time.sleep(1.0)
        cupsd.enable("EvePause")

    paused = _once_in_printer(printer, pause_and_resume)
    out = rig.pipeline.print_job(job, "EvePause")
    assert paused
    assert out.result is Result.PRINTED, out.message
    time.sleep(2.5)  # a third copy, if anything sent one, would be out by now
    assert _came_out(printer, job) == 1
    assert rig.moves(job) == [("print-started", None), ("confirm", None)]
    rig.close()


@pytest.mark.slow
def test_a_printer_off_for_a_while_then_on_mid_job_is_never_confirmed_nor_sent_again(shop, tmp_path, own_eve):
    # Off long enough for CUPS's backend to give up on it (CUPS then holds or requeues its copy), then on
    # again with no memory of the job: it may have printed. Not confirmed, and CUPS's copy not sent again.
    printer = own_eve("EveOffOn", job_seconds=3)
    rig = PrintRig(shop, tmp_path, stuck_limit=20.0)
    job = rig.job(pdf_bytes(1))

    def off_then_on():
        printer.kill()
        time.sleep(4)
        printer.start()

    done = _once_in_printer(printer, off_then_on)
    out = rig.pipeline.print_job(job, printer.name)
    assert done
    assert "unknown — check the output tray" in out.message, out.message
    assert ("confirm", None) not in rig.moves(job)
    time.sleep(4)  # CUPS's copy, had it been left, would have been sent again by now
    assert _came_out(printer, job) == 0
    assert rig.cups.job_attributes(out.cups_job_id)["job-state"] in (7, 8, 9)
    rig.close()


@pytest.mark.slow
def test_paper_out_keeps_the_job_waiting_with_the_reason_then_gives_it_back(shop, tmp_path, own_eve):
    printer = own_eve("EvePaper", job_seconds=60)
    printer.set_state("STATE: +media-empty-error")  # the emulator's job command says so, as a device does
    rig = PrintRig(shop, tmp_path, stuck_limit=3.0)
    job = rig.job(pdf_bytes(1))
    seen: list[str] = []
    out = rig.pipeline.print_job(job, "EvePaper", progress=lambda s, w, f: seen.append(w))
    assert out.result is Result.FAILED
    assert out.message == "Printer 'EvePaper' is out of paper — the job was taken back."
    assert "Waiting: Printer 'EvePaper' is out of paper." in seen
    assert rig.moves(job)[-1] == ("print-failed", out.message)
    rig.close()


def test_file_printers_keep_confirming_from_cups(rig):
    """A CUPS file printer keeps no job history to ask: CUPS's word stands, as before."""
    job = rig.job(pdf_bytes(1))
    out = rig.pipeline.print_job(job, "Front")
    assert out.result is Result.PRINTED
    assert out.impressions == 1


def test_driverless_queues_show_what_the_printer_can_do(rig, eve):
    colour, mono = rig.cups.printer("EveColour"), rig.cups.printer("EveMono")
    assert {m.value for m in colour.media} == {"A4", "A3"} and {c.value for c in colour.colors} == {"bw", "color"}
    assert {s.value for s in colour.sides} == {"single", "double"}
    assert {m.value for m in mono.media} == {"A4"} and {c.value for c in mono.colors} == {"bw"}
    assert {s.value for s in mono.sides} == {"single"}
    assert colour.device_uri.startswith("ipp://localhost:")


def _listening(port: int) -> list[str]:
    """The addresses listening on `port` (hex, as /proc/net/tcp{,6} write them)."""
    out = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            for line in f.readlines()[1:]:
                local, state = line.split()[1], line.split()[3]
                address, hex_port = local.rsplit(":", 1)
                if state == "0A" and int(hex_port, 16) == port:
                    out.append(address)
    return out


def test_the_emulated_printers_listen_on_loopback_only(eve):
    wait_until(eve.printers["EveColour"].answers, 5, what="the emulator to answer")
    listeners = _listening(eve.printers["EveColour"].port)
    loopback = ("0100007F", "00000000000000000000000001000000")  # 127.0.0.1, ::1
    assert listeners and all(a in loopback for a in listeners), listeners


def test_a_job_missing_from_the_history_of_a_printer_not_restarted_since_leaves_cups_word(rig, eve):
    """Printers keep short histories (or none): missing alone is not proof; missing from a printer that was
    switched on again after the job was sent is."""
    agrees, why, _ = rig.cups.printer_confirms("EveMono", "#not-a-job", age=0.0)
    assert (agrees, why) == (None, "the printer's job history does not go back to it")
    agrees, why, _ = rig.cups.printer_confirms("EveMono", "#not-a-job", age=10 ** 9)
    assert (agrees, why) == (False, "the printer was restarted while the job was in it and has no record of it")
    agrees, why, _ = rig.cups.printer_confirms("Front", "#not-a-job", age=10 ** 9)  # a file printer: no history
    assert agrees is None
