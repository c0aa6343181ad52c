"""Claim tickets and cover sheets: rendered with pdftoppm and their QR code read back by our decoder."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import cv2
import pytest

from shopdesk.scanning.decode import FrameDecoder, decode_image
from shopdesk.scanning.tickets import make_poster_pdf, make_ticket_pdf

pytestmark = pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils is not installed")

JOB = {"file_id": 12, "order_id": 5, "code": "aB3xY9", "original_name": "thesis.pdf",
       "content_type": "application/pdf", "size_bytes": 48213, "sha256": "0" * 64, "num_pages": 3,
       "copies": 2, "print_mode": "double", "color_mode": "bw", "paper_size": "A4", "comment": "Staple, please",
       "cost": 6.00, "status": "uploaded", "printer": None, "counter": None, "attempts": 0,
       "last_failure": None, "created_at": "2026-11-22T10:30:00Z", "updated_at": "2026-11-22T10:30:00Z"}


def render_page(pdf, tmp_path, dpi):
    subprocess.run(["pdftoppm", "-r", str(dpi), "-png", "-singlefile", str(pdf), str(tmp_path / "page")], check=True)
    return cv2.imread(str(tmp_path / "page.png"))


def pdf_text(pdf):
    return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout


@pytest.mark.parametrize("kind,size_mm", [("ticket", (105, 148)), ("cover", (210, 297))])
def test_the_ticket_qr_code_reads_back_as_the_job_code(tmp_path, kind, size_mm):
    pdf = make_ticket_pdf(JOB, tmp_path / f"{kind}.pdf", "Kiran Rao", kind=kind)
    page = render_page(pdf, tmp_path, 100)
    h, w = page.shape[:2]
    assert abs(w / h - size_mm[0] / size_mm[1]) < 0.01
    [found] = decode_image(page)
    assert found.text == "aB3xY9" and found.code == "aB3xY9"
    # and through the camera path, as a photo of the printed sheet would go
    assert [d.code for d in FrameDecoder().decode(page)] == ["aB3xY9"]
    text = pdf_text(pdf)
    for expected in ("aB3xY9", "Kiran Rao", "thesis.pdf", "2 × double-sided, b/w, A4", "3 pages; 4 sheets",
                     "6.00", "Staple, please", "2026-11-22 10:30"):
        assert expected in text, (expected, text)


def test_a_url_in_the_qr_code_still_opens_the_job(tmp_path):
    pdf = make_ticket_pdf(JOB | {"code": "Zz9999"}, tmp_path / "t.pdf", qr_text="https://print.example.shop/j/Zz9999")
    [found] = decode_image(render_page(pdf, tmp_path, 100))
    assert found.text.endswith("/Zz9999") and found.code == "Zz9999"


def test_names_outside_latin1_print(tmp_path):
    pdf = make_ticket_pdf(JOB, tmp_path / "t.pdf", "Zoë Łukasiewicz-Ødegård")
    assert "Zoë Łukasiewicz-Ødegård" in pdf_text(pdf)


def test_the_customer_name_defaults_to_the_jobs_own(tmp_path):
    pdf = make_ticket_pdf(JOB | {"customer_name": "Asha"}, tmp_path / "t.pdf")
    assert "Asha" in pdf_text(pdf)


def test_a_long_comment_stays_on_one_page(tmp_path):
    pdf = make_ticket_pdf(JOB | {"comment": "word " * 190}, tmp_path / "t.pdf")
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    pages = [line.split()[1] for line in info.splitlines() if line.startswith("Pages:")]
    assert pages == ["1"]
    assert "…" in pdf_text(pdf)  # cut, and visibly so


def test_a_job_without_a_valid_code_is_refused(tmp_path):
    with pytest.raises(ValueError, match="no valid code"):
        make_ticket_pdf(JOB | {"code": "bad"}, tmp_path / "t.pdf")
    with pytest.raises(ValueError, match="kind must be"):
        make_ticket_pdf(JOB, tmp_path / "t.pdf", kind="poster")
    assert not (tmp_path / "t.pdf").exists()


SHOP = {"shop_id": 7, "name": "Corner Copy & Print", "is_open": True,
        "prices": [{"color_mode": c, "paper_size": p, "price": v} for c, p, v in
                   (("bw", "A4", 1.5), ("bw", "A3", 3.0), ("color", "A4", 12.0), ("color", "A3", 24.0),
                    ("bw", "Letter", 1.5), ("color", "Letter", 12.0), ("bw", "Legal", 1.5), ("color", "Legal", 12.0))]}


def test_the_poster_qr_code_opens_the_shop_page_and_shows_url_and_prices(tmp_path):
    url = "http://192.168.1.20:8765/s/7"
    pdf = make_poster_pdf(SHOP, url, tmp_path / "poster.pdf")
    page = render_page(pdf, tmp_path, 100)
    h, w = page.shape[:2]
    assert abs(w / h - 210 / 297) < 0.01
    [found] = decode_image(page)
    assert found.text == url and found.code is None  # a shop's page is not a job: the counter ignores it
    if os.environ.get("SHOPDESK_SCREENSHOT_DIR"):  # scripts/screenshots.sh: the poster as it prints
        subprocess.run(["pdftoppm", "-r", "60", "-png", "-singlefile", str(pdf),
                        str(Path(os.environ["SHOPDESK_SCREENSHOT_DIR"]) / "frontdoor-poster")], check=True)
    text = pdf_text(pdf)
    for expected in ("Corner Copy & Print", "Send your files here", "192.168.1.20:8765/s/7", "Black & white",
                     "1.50", "24.00", "Letter"):
        assert expected in text, (expected, text)


def test_a_long_shop_name_and_url_shrink_to_fit_the_poster(tmp_path):
    shop = SHOP | {"name": "The Very Long Name Of A Copy Shop Near The University Gate"}
    url = "https://print.some-long-domain-name.example.shop/s/123456"
    pdf = make_poster_pdf(shop, url, tmp_path / "poster.pdf")
    text = pdf_text(pdf)
    assert shop["name"] in " ".join(text.split()) and url.split("://")[1] in text
