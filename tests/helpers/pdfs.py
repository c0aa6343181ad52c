"""Test documents made on the spot: PDFs with a given number of pages, images."""

from __future__ import annotations

import io


def pdf_bytes(pages: int = 1, *, text: str = "shopdesk test", password: str | None = None,
              size: str = "A4") -> bytes:
    from fpdf import FPDF

    pdf = FPDF(format=size)
    for n in range(pages):
        pdf.add_page()
        pdf.set_font("Helvetica", size=14)
        pdf.cell(0, 10, f"{text} - page {n + 1} of {pages}")
    if password is not None:
        pdf.set_encryption(owner_password="owner-secret", user_password=password)
    return bytes(pdf.output())


def png_bytes(w: int = 64, h: int = 48) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (w, h), (200, 30, 30)).save(buf, "PNG")
    return buf.getvalue()


def jpeg_bytes(w: int = 64, h: int = 48) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (w, h), (30, 30, 200)).save(buf, "JPEG")
    return buf.getvalue()
