"""Pure rules: the state machine, settings validation, pricing, codes and money."""

from __future__ import annotations

from decimal import Decimal

import pytest

from shopdesk.domain.codes import extract_job_code, is_job_code, new_job_code, status_url
from shopdesk.domain.jobs import (
    TRANSITIONS,
    IllegalMove,
    JobStatus,
    Move,
    NothingToCancel,
    NotYourPrint,
    OrderPrinting,
    check_cancel_order,
    check_move,
)
from shopdesk.domain.money import format_amount, share, to_cents, to_decimal
from shopdesk.domain.pricing import PriceTable
from shopdesk.domain.printsettings import ColorMode, InvalidSettings, PaperSize, PrintMode, PrintSettings


def test_only_the_documented_moves_are_legal():
    legal = {(m, s) for m, t in TRANSITIONS.items() for s in t.sources}
    assert legal == {
        (Move.PRINT_STARTED, JobStatus.UPLOADED), (Move.PRINT_FAILED, JobStatus.PRINTING),
        (Move.CONFIRM, JobStatus.PRINTING), (Move.CONFIRM, JobStatus.UPLOADED),
        (Move.CANCEL, JobStatus.UPLOADED), (Move.WITHDRAW, JobStatus.UPLOADED), (Move.REQUEUE, JobStatus.PRINTING),
    }
    for m in Move:
        for s in JobStatus:
            if (m, s) in legal:
                assert check_move(m, s) is TRANSITIONS[m].target
            else:
                with pytest.raises(IllegalMove):
                    check_move(m, s)


def test_illegal_move_message_names_the_current_state():
    with pytest.raises(IllegalMove, match="already printing at Counter 2"):
        check_move(Move.PRINT_STARTED, JobStatus.PRINTING, "Counter 2")
    with pytest.raises(IllegalMove, match="already printed"):
        check_move(Move.CANCEL, JobStatus.DOWNLOADED)


def test_a_failed_print_is_refused_from_a_counter_that_does_not_hold_the_job():
    assert check_move(Move.PRINT_FAILED, JobStatus.PRINTING, holder="Counter 1", reporter="Counter 1") is JobStatus.UPLOADED
    assert check_move(Move.PRINT_FAILED, JobStatus.PRINTING, holder="Counter 1") is JobStatus.UPLOADED  # unsaid
    with pytest.raises(NotYourPrint, match="printing at Counter 2 now, not at Counter 1"):
        check_move(Move.PRINT_FAILED, JobStatus.PRINTING, holder="Counter 2", reporter="Counter 1")


def test_an_order_is_cancelled_file_by_waiting_file_never_while_one_prints():
    from types import SimpleNamespace as F

    waiting, printed = F(status="uploaded", code="AAA111", counter=None), F(status="downloaded", code="BBB222", counter=None)
    assert check_cancel_order([waiting, printed]) == [waiting]
    with pytest.raises(OrderPrinting, match=r"while a file is printing \(CCC333 at Counter 2\)"):
        check_cancel_order([waiting, F(status="printing", code="CCC333", counter="Counter 2")])
    with pytest.raises(NothingToCancel, match="already cancelled, printed"):
        check_cancel_order([printed, F(status="cancelled", code="DDD444", counter=None)])


def test_each_status_has_its_words_in_one_table():
    assert [(s.label, s.title, s.final_words) for s in JobStatus][2] == ("printed", "Printed", "was already printed")
    assert all(s.label and s.title and s.final_words for s in JobStatus)


def test_settings_parse_and_collect_every_problem():
    s = PrintSettings.parse({"copies": "3", "print_mode": "Double", "color_mode": "COLOR", "paper_size": "letter"})
    assert (s.copies, s.print_mode, s.color_mode, s.paper_size) == (3, PrintMode.DOUBLE, ColorMode.COLOR, PaperSize.LETTER)
    assert PrintSettings.parse({}) == PrintSettings()
    with pytest.raises(InvalidSettings) as e:
        PrintSettings.parse({"copies": "1.5", "paper_size": "B5", "comment": "x" * 2000})
    assert len(e.value.problems) == 3 and str(e.value).count("; ") == 2
    with pytest.raises(InvalidSettings):
        PrintSettings.parse({"copies": True})


def test_price_table_and_money_are_exact():
    t = PriceTable()
    assert t.cost(pages=3, copies=2, color=ColorMode.BW, paper=PaperSize.A4) == 600
    assert t.cost(pages=1, copies=1, color=ColorMode.COLOR, paper=PaperSize.A3) == 2000
    assert to_decimal(2550) == Decimal("25.50") and format_amount(5) == "0.05"
    assert to_cents("25.5") == 2550 and to_cents(Decimal("0.10")) == 10
    with pytest.raises(ValueError):
        to_cents("1.005")
    with pytest.raises(ValueError):
        to_cents("NaN")
    assert share(300, 1250) == 38 and share(1000, 0) == 0 and share(999, 10000) == 999


def test_codes_are_random_and_recognised_in_urls():
    codes = {new_job_code() for _ in range(2000)}
    assert len(codes) == 2000 and all(is_job_code(c) for c in codes)
    assert extract_job_code("aB3xY9") == "aB3xY9"
    assert extract_job_code("https://shop.example/j/aB3xY9") == "aB3xY9"
    assert extract_job_code("http://192.168.1.20:8765/j/aB3xY9") == "aB3xY9"
    assert extract_job_code("HTTPS://Shop.Example/j/aB3xY9") == "aB3xY9"
    assert extract_job_code(" aB3xY9\n") == "aB3xY9"
    assert extract_job_code("aB3xY9Z") is None and extract_job_code("hello world") is None


@pytest.mark.parametrize("text", [
    "http://example.com/keitai/",  # a last segment that happens to have 6 letters
    "http://example.com/keitai",
    "https://shop.example/status?code=aB3xY9",
    "https://shop.example/x/j/aB3xY9",
    "https://shop.example/j/aB3xY9/",
    "https://shop.example/j/aB3xY9?x=1",
    "https://shop.example/j/aB3xY9?",
    "https://shop.example/j/aB3xY9#top",
    "https://shop.example/j/aB3xY9Z",
    "https://shop.example/j/aB3x-9",
    "https://shop.example/J/aB3xY9",
    "ftp://shop.example/j/aB3xY9",
    "javascript:alert(1)//j/aB3xY9",
    "http:///j/aB3xY9",
    "/j/aB3xY9",
    "j/aB3xY9",
    "https://shop.example:99999/j/aB3xY9",
    "https://shop.example:port/j/aB3xY9",
    "https://shop.example/j/aB3xY9 https://x/j/Zz9999",
    "WIFI:S:keitai;T:WPA;P:abcdef;;",
    "aB3xY",
    "",
])
def test_scanner_takes_only_a_bare_code_or_a_status_page_url(text):
    assert extract_job_code(text) is None


def test_status_url_is_what_the_scanner_reads_back():
    assert status_url("http://10.0.0.5:8765/", "aB3xY9") == "http://10.0.0.5:8765/j/aB3xY9"
    assert extract_job_code(status_url("https://print.example", "aB3xY9")) == "aB3xY9"
