"""What a shop can print from its live counters' reports, and the words when it cannot."""

from __future__ import annotations

from shopdesk.domain.availability import (
    COLOUR_UNAVAILABLE,
    DUPLEX_UNAVAILABLE,
    PAUSED_WORDS,
    Availability,
)
from shopdesk.domain.printsettings import PrintSettings

MONO = {"name": "Mono", "ready": True, "color": False, "duplex": True, "paper_sizes": ["A4"]}
COLOUR = {"name": "Colour", "ready": True, "color": True, "duplex": False, "paper_sizes": ["A4", "A3"]}


def settings(**kw) -> PrintSettings:
    return PrintSettings.parse(kw)


def test_counters_that_never_reported_printers_take_everything():
    can = Availability.from_reports([None, None])
    assert not can.known and not can.paused and can.unavailable() == []
    assert can.refusal(settings(color_mode="color", print_mode="double", paper_size="Legal")) is None


def test_no_ready_printer_is_paused_and_refuses_everything():
    can = Availability.from_reports([[{**MONO, "ready": False}], []])
    assert can.paused and can.unavailable() == []
    assert can.refusal(settings()).startswith(PAUSED_WORDS)


def test_each_setting_no_ready_printer_can_do_is_said_and_printers_of_all_counters_count():
    can = Availability.from_reports([[MONO], [{**COLOUR, "ready": False}], None])
    assert can.unavailable() == [COLOUR_UNAVAILABLE, "A3 paper is unavailable right now",
                                 "Letter paper is unavailable right now", "Legal paper is unavailable right now"]
    assert can.refusal(settings(color_mode="color")).startswith(COLOUR_UNAVAILABLE)
    assert can.refusal(settings(print_mode="double")) is None
    both = Availability.from_reports([[MONO], [COLOUR]])
    assert both.refusal(settings(color_mode="color", paper_size="A3")) is None
    assert both.refusal(settings(color_mode="color", print_mode="double")) == (
        "Colour double-sided printing on A4 is unavailable right now; change a setting or try again later.")
    only_colour = Availability.from_reports([[COLOUR]])
    assert only_colour.refusal(settings(print_mode="double")).startswith(DUPLEX_UNAVAILABLE)
