"""Printers, capabilities and health words from a real cupsd; options, routing, and the job outcome table."""

from __future__ import annotations

import pytest

from shopdesk.domain.printsettings import PaperSize, PrintMode
from shopdesk.printing.capabilities import health_words
from shopdesk.printing.options import (
    PrintRequest,
    UnsupportedOption,
    check_supported,
    ipp_options,
    validate_page_ranges,
)
from shopdesk.printing.outcomes import (
    ABORTED,
    CANCELED,
    COMPLETED,
    HELD,
    PENDING,
    PROCESSING,
    STOPPED,
    JobView,
    Outcome,
    classify,
    judge,
    timeout_words,
)
from shopdesk.printing.routing import choose_printer
from shopdesk.settings import RoutingRule


def _req(**settings) -> PrintRequest:
    job = {"file_id": 1, "code": "aB3xY9", "sha256": "0" * 64, "num_pages": 3, "copies": 1, "print_mode": "single",
           "color_mode": "bw", "paper_size": "A4", "original_name": "x.pdf", **settings}
    return PrintRequest.from_job(job, customer="Asha <script>")


def test_printers_are_listed_with_capabilities_and_health(rig):
    printers = {p.name: p for p in rig.cups.printers()}
    assert {"Front", "Color", "Wide", "Broken", "Paused"} <= set(printers)
    front = printers["Front"]
    assert front.ok and front.health[1] == "ready"
    assert PaperSize.A4 in front.media and PaperSize.A3 not in front.media
    assert PrintMode.DOUBLE in front.sides and front.max_copies >= 99
    assert PaperSize.A3 in printers["Wide"].media
    paused = printers["Paused"]
    assert not paused.ok and paused.health[1] == "paused (Out of paper)"


@pytest.mark.parametrize("state,reasons,words", [
    (3, ["media-empty-error"], "out of paper"),
    (3, ["door-open-error", "toner-low-warning"], "not ready: door open"),
    (5, ["offline-report"], "offline"),
    (3, ["toner-low-warning"], "ready — low on toner"),
    (4, ["none"], "printing"),
])
def test_health_in_words(state, reasons, words):
    assert health_words(state, reasons)[1] == words


def test_ipp_options_carry_every_setting():
    req = _req(copies=2, print_mode="double", color_mode="color", paper_size="Legal")
    req = PrintRequest(**{**req.__dict__, "page_ranges": validate_page_ranges("1-2, 3", 3)})
    assert ipp_options(req) == {
        "copies": "2", "sides": "two-sided-long-edge", "media": "na_legal_8.5x14in", "print-color-mode": "color",
        "multiple-document-handling": "separate-documents-collated-copies", "fit-to-page": "true",
        "page-ranges": "1-2,3"}
    assert req.job_name == "aB3xY9 Asha script"
    with pytest.raises(UnsupportedOption):
        validate_page_ranges("2-9", 3)
    with pytest.raises(UnsupportedOption):
        validate_page_ranges("one", 3)


def test_an_option_the_printer_cannot_do_names_the_printers_that_can(rig):
    printers = rig.cups.printers()
    front = next(p for p in printers if p.name == "Front")
    with pytest.raises(UnsupportedOption, match="Printer 'Front' cannot print A3 paper. Use 'Wide' instead."):
        check_supported(_req(paper_size="A3"), front, printers)
    check_supported(_req(paper_size="A4", color_mode="color"), front, printers)


def test_routing_rules_then_default_then_a_capable_printer(rig):
    printers = rig.cups.printers()
    rules = [RoutingRule(printer="Color", color_mode="color"), RoutingRule(printer="Wide", paper_size="A3")]
    assert choose_printer(_req(color_mode="color"), printers, rules, default="Front") == "Color"
    assert choose_printer(_req(paper_size="A3"), printers, rules, default="Front") == "Wide"
    assert choose_printer(_req(), printers, rules, default="Front") == "Front"
    assert choose_printer(_req(paper_size="A3"), printers, [], default="Front") == "Wide"


def test_printer_list_follows_cups_live(rig, printer, cupsd):
    name = printer("file", "Newcomer")
    assert rig.cups.printer(name).health == (True, "ready")
    cupsd.disable(name, "Door open")
    assert rig.cups.printer(name).health == (False, "paused (Door open)")
    cupsd.enable(name)
    assert rig.cups.printer(name).ok
    cupsd.delete(name)
    assert rig.cups.printer(name) is None and name not in {p.name for p in rig.cups.printers()}


# The one table from CUPS job states and reasons to what the shop is told.
@pytest.mark.parametrize("view,outcome,words", [
    (JobView(COMPLETED), Outcome.PRINTED, "Printed on 'Front'."),
    (JobView(PROCESSING), Outcome.RUNNING, "Printing…"),
    # in the printer, which cannot go on: waiting (up to the stuck limit), with the reason
    (JobView(PROCESSING, printer_state=4, printer_reasons=("media-empty-error",)), Outcome.RUNNING,
     "Waiting: Printer 'Front' is out of paper."),
    (JobView(PROCESSING, printer_state=4, printer_reasons=("media-jam-warning",), printer_message="Printing."),
     Outcome.RUNNING, "Waiting: Printer 'Front' is jammed."),
    (JobView(PROCESSING, printer_state=4, printer_reasons=("media-empty-report",)), Outcome.RUNNING, "Printing…"),
    (JobView(PROCESSING, printer_state=4, printer_reasons=("offline-report",)), Outcome.RUNNING,
     "Waiting: 'Front' stopped answering (is it switched on and connected?)."),
    (JobView(PROCESSING, printer_state=4, device_answers=False), Outcome.RUNNING,
     "Waiting: 'Front' stopped answering (is it switched on and connected?)."),
    (JobView(PENDING), Outcome.RUNNING, "Waiting for the printer…"),
    (JobView(ABORTED, ("aborted-by-system",), "The printer did not answer"), Outcome.FAILED,
     "Printer 'Front' gave up on the job: The printer did not answer."),
    (JobView(ABORTED, ("document-unprintable-error",)), Outcome.FAILED,
     "Printer 'Front' gave up on the job: the file cannot be printed."),
    (JobView(ABORTED, printer_state=5, printer_reasons=("offline-error",)), Outcome.FAILED,
     "Printer 'Front' gave up on the job: offline."),
    (JobView(CANCELED, ("job-canceled-at-device",)), Outcome.FAILED,
     "The job was cancelled on 'Front': cancelled at the printer."),
    (JobView(CANCELED, ("processing-to-stop-point",)), Outcome.FAILED, "The job was cancelled on 'Front'."),
    (JobView(PROCESSING, printer_exists=False), Outcome.FAILED, "Printer 'Front' was removed while the job was in it."),
])
def test_job_outcome_table(view, outcome, words):
    assert judge(view, "Front") == (outcome, words)


@pytest.mark.parametrize("view,waiting,failed", [
    (JobView(PENDING, ("printer-stopped",), printer_state=5, printer_reasons=("paused",), printer_message="Door open"),
     "Waiting: printer 'Front' is paused (Door open)", "Printer 'Front' is paused (Door open); the job was taken back."),
    (JobView(HELD, ("job-hold-until-specified",)),
     "Waiting: the job is held on 'Front' (held until released)",
     "The job is held on 'Front' (held until released); the job was taken back."),
    (JobView(STOPPED, ("job-printing",)),
     "Waiting: the print system stopped the job on 'Front'",
     "The print system stopped the job on 'Front'; the job was taken back."),
    # a network printer gone silent mid-job: CUPS says "Printing." for ever, the device does not answer
    (JobView(PROCESSING, printer_state=4, printer_reasons=("cups-waiting-for-job-completed",),
             printer_message="Printing.", device_answers=False),
     "Waiting: 'Front' stopped answering (is it switched on and connected?).",
     "'Front' stopped answering (is it switched on and connected?) — the job was taken back."),
    (JobView(PROCESSING, printer_state=4, printer_reasons=("connecting-to-device", "timed-out-error")),
     "Waiting: 'Front' stopped answering (is it switched on and connected?).",
     "'Front' stopped answering (is it switched on and connected?) — the job was taken back."),
    (JobView(PROCESSING, printer_state=4, printer_reasons=("media-empty-error", "cover-open-error"),
             printer_message="Load paper in tray 1", device_answers=True),
     "Waiting: Printer 'Front' is out of paper, not ready: cover open (Load paper in tray 1).",
     "Printer 'Front' is out of paper, not ready: cover open (Load paper in tray 1) — the job was taken back."),
    (JobView(PROCESSING, printer_state=4, printer_reasons=("toner-empty-error",)),
     "Waiting: Printer 'Front' is out of toner.", "Printer 'Front' is out of toner — the job was taken back."),
])
def test_a_stuck_job_waits_then_fails_once_stuck_too_long(view, waiting, failed):
    assert classify(view) is Outcome.STUCK
    assert judge(view, "Front", stuck_for=1, stuck_limit=30) == (Outcome.RUNNING, waiting)
    assert judge(view, "Front", stuck_for=30, stuck_limit=30) == (Outcome.FAILED, failed)


def test_timeout_words_say_what_the_printer_says():
    assert timeout_words(JobView(PROCESSING), "Front", 190.7) == "Printer 'Front' did not finish the job in time (190 s)."
    busy = JobView(PROCESSING, printer_state=4, printer_reasons=("media-jam-error",), printer_message="Jam in tray 2")
    assert timeout_words(busy, "Front", 60) == ("Printer 'Front' did not finish the job in time (60 s); "
                                                "it says: jammed (Jam in tray 2).")
