"""Printers, capabilities and health words from a real cupsd; options and routing."""

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
    (3, ["door-open-error", "toner-low-warning"], "a door is open"),
    (5, ["offline-report"], "offline"),
    (3, ["toner-low-warning"], "ready — toner is low"),
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
