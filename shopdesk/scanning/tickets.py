"""Claim tickets and cover sheets: a PDF per job with its QR code (drawn as vector squares, crisp on any
printer), the code in large type, the customer, the file, its settings and pages — so a job can be
opened at the counter by scanning the paper, and a printed stack can be told apart by its cover.

  ticket  A6, handed to the customer (or stapled to the printout) to claim the job
  cover   A4, printed before the job as its first sheet
  poster  A4, on the shop's wall: the QR code of the shop's upload page (`make_poster_pdf`)
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

import qrcode
import qrcode.constants
from fpdf import FPDF

from shopdesk.domain.codes import is_job_code
from shopdesk.domain.money import format_amount, to_cents
from shopdesk.domain.printsettings import PrintSettings, sheets

KINDS = ("ticket", "cover")

# DejaVu (fonts-dejavu-core, a runtime package) prints any customer's name; without it the PDF core
# fonts cover Latin-1 only, and other characters become '?'.
_FONT_DIRS = ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/dejavu", "/usr/share/fonts/TTF")


def _find_font(name: str) -> Path | None:
    for d in _FONT_DIRS:
        p = Path(d) / name
        if p.exists():
            return p
    return None


class _Fonts:
    def __init__(self, pdf: FPDF):
        self.pdf = pdf
        sans, bold, mono = (_find_font(n) for n in ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSansMono-Bold.ttf"))
        self.unicode = bool(sans and bold and mono)
        if self.unicode:
            pdf.add_font("Sans", "", str(sans))
            pdf.add_font("Sans", "B", str(bold))
            pdf.add_font("Mono", "B", str(mono))
            self.sans, self.mono = "Sans", "Mono"
        else:
            self.sans, self.mono = "Helvetica", "Courier"

    def text(self, s: str) -> str:
        return s if self.unicode else s.encode("latin-1", "replace").decode("latin-1")


def _draw_qr(pdf: FPDF, text: str, x: float, y: float, side: float) -> None:
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=0)
    qr.add_data(text)
    qr.make(fit=True)
    matrix = qr.get_matrix()
    n = len(matrix)
    m = side / n
    pdf.set_fill_color(0, 0, 0)
    for r, row in enumerate(matrix):
        c = 0
        while c < n:  # one rectangle per horizontal run of dark modules
            if row[c]:
                start = c
                while c < n and row[c]:
                    c += 1
                pdf.rect(x + start * m, y + r * m, (c - start) * m, m, style="F")
            else:
                c += 1


def _pages_line(job: Mapping) -> str:
    pages = job.get("num_pages")
    if not pages:
        return "pages: not counted"
    pages = int(pages)
    word = "page" if pages == 1 else "pages"
    return f"{pages} {word}; {sheets(pages, int(job.get('copies') or 1), job.get('print_mode') or '')} sheets in all"


def _when(value: str | None) -> str:
    if not value:
        return ""
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).strftime("%Y-%m-%d %H:%M UTC")
    except ValueError:
        return value


def make_ticket_pdf(job: Mapping, path: str | Path, customer_name: str | None = None, *, kind: str = "ticket",
                    qr_text: str | None = None, shop_name: str | None = None) -> Path:
    """Writes the claim ticket (A6) or cover sheet (A4) of `job` (the server's job JSON) to `path`.

    The QR code carries the bare code unless `qr_text` is given (e.g. a URL ending in the code — the
    scanner accepts both). `customer_name` defaults to the job's own `customer_name` if it has one."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}")
    code = str(job.get("code") or "")
    if not is_job_code(code):
        raise ValueError(f"This job has no valid code ({code!r}) — reload the queue and try again.")
    settings = PrintSettings.parse(job)
    customer = customer_name if customer_name is not None else str(job.get("customer_name") or "")
    path = Path(path)

    big = kind == "cover"
    pdf = FPDF(format="A4" if big else (105, 148))  # A6 is not among fpdf2's names
    pdf.set_auto_page_break(False)
    pdf.set_margins(10 if big else 7, 10 if big else 7)
    pdf.add_page()
    f = _Fonts(pdf)
    w = pdf.w - pdf.l_margin - pdf.r_margin

    title = "Cover sheet" if big else "Claim ticket"
    if shop_name:
        title = f"{shop_name} — {title}"
    pdf.set_font(f.sans, "B", 20 if big else 11)
    pdf.cell(w, 10 if big else 6, f.text(title), align="C", new_x="LMARGIN", new_y="NEXT")

    side = 90 if big else 52
    top = pdf.get_y() + (8 if big else 4)  # room for the quiet zone below the title
    _draw_qr(pdf, qr_text or code, pdf.l_margin + (w - side) / 2, top, side)
    pdf.set_y(top + side + (6 if big else 3))

    pdf.set_font(f.mono, "B", 56 if big else 30)
    pdf.cell(w, 22 if big else 12, code, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4 if big else 1)

    rows = []
    if customer:
        rows.append(("Customer", customer))
    if job.get("original_name"):
        rows.append(("File", str(job["original_name"])))
    rows.append(("Settings", settings.summary))
    rows.append(("Pages", _pages_line(job)))
    if job.get("cost") is not None:
        try:
            rows.append(("Price", format_amount(to_cents(job["cost"]))))
        except ValueError:
            pass
    if job.get("created_at"):
        rows.append(("Uploaded", _when(job.get("created_at"))))
    if settings.comment:
        rows.append(("Comment", settings.comment))

    label_w = 38 if big else 19
    size = 15 if big else 8.5
    line_h = 8 if big else 4.4
    bottom = pdf.h - pdf.b_margin - (12 if big else 6)
    for label, value in rows:
        if pdf.get_y() + line_h > bottom:
            break
        pdf.set_font(f.sans, "B", size)
        pdf.cell(label_w, line_h, f.text(label))
        pdf.set_font(f.sans, "", size)
        # long values (names, comments) wrap; what does not fit above the footer is cut with "…"
        lines = pdf.multi_cell(w - label_w, line_h, f.text(value), dry_run=True, output="LINES")
        room = max(1, int((bottom - pdf.get_y()) // line_h))
        if len(lines) > room:
            lines = lines[:room]
            lines[-1] = lines[-1].rstrip()[:-2] + ("…" if f.unicode else "...")
        pdf.multi_cell(w - label_w, line_h, "\n".join(lines), new_x="LMARGIN", new_y="NEXT")

    pdf.set_y(pdf.h - pdf.b_margin - (8 if big else 5))
    pdf.set_font(f.sans, "", 10 if big else 6.5)
    foot = ("Scan the code or type it at the counter to open this job."
            if not big else "This sheet comes first; the job's pages follow.")
    pdf.cell(w, 5, f.text(foot), align="C")
    path.parent.mkdir(parents=True, exist_ok=True)
    pdf.output(str(path))
    return path


_PAPER_ORDER = ("A4", "A3", "Letter", "Legal")


def make_poster_pdf(shop: Mapping, url: str, path: str | Path) -> Path:
    """The A4 poster for the shop's wall: its name, "Send your files here", the QR code of `url` (the
    shop's upload page, `{public_url}/s/{shop_id}`), the URL in large type for typing, and the prices
    (`shop` is the server's GET /shop JSON)."""
    path = Path(path)
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_margins(15, 15)
    pdf.add_page()
    f = _Fonts(pdf)
    w = pdf.w - pdf.l_margin - pdf.r_margin

    name = str(shop.get("name") or "Print shop")
    size = 34
    pdf.set_font(f.sans, "B", size)
    while size > 16 and pdf.get_string_width(f.text(name)) > w:  # a long name gets smaller, not cut
        size -= 2
        pdf.set_font(f.sans, "B", size)
    pdf.cell(w, 16, f.text(name), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(f.sans, "", 26)
    pdf.cell(w, 14, f.text("Send your files here"), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(f.sans, "", 13)
    pdf.cell(w, 8, f.text("Scan with your phone's camera — PDF, JPEG or PNG. See the price before you send."),
             align="C", new_x="LMARGIN", new_y="NEXT")

    side = 120
    top = pdf.get_y() + 8
    _draw_qr(pdf, url, pdf.l_margin + (w - side) / 2, top, side)
    pdf.set_y(top + side + 8)

    shown = url.split("://", 1)[-1]  # people type what they see; the scheme is noise
    size = 30
    pdf.set_font(f.mono, "B", size)
    while size > 12 and pdf.get_string_width(shown) > w:
        size -= 1
        pdf.set_font(f.mono, "B", size)
    pdf.cell(w, 14, shown, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(f.sans, "", 11)
    pdf.cell(w, 6, f.text("or type this address into your phone's browser (on the shop's Wi-Fi)"), align="C",
             new_x="LMARGIN", new_y="NEXT")

    prices = {(p.get("color_mode"), p.get("paper_size")): p.get("price") for p in shop.get("prices") or []}
    if prices:
        pdf.ln(6)
        col = 50
        x0 = pdf.l_margin + (w - 3 * col) / 2
        pdf.set_font(f.sans, "B", 14)
        pdf.set_x(x0)
        for head in ("Price per page", "Black & white", "Colour"):
            pdf.cell(col, 9, f.text(head), align="C" if head != "Price per page" else "L")
        pdf.ln(9)
        pdf.set_font(f.sans, "", 14)
        for paper in _PAPER_ORDER:
            if (("bw", paper) not in prices) and (("color", paper) not in prices):
                continue
            pdf.set_x(x0)
            pdf.cell(col, 8, paper)
            for color in ("bw", "color"):
                value = prices.get((color, paper))
                try:
                    text = format_amount(to_cents(value)) if value is not None else "—"
                except ValueError:
                    text = str(value)
                pdf.cell(col, 8, f.text(text), align="C")
            pdf.ln(8)
    path.parent.mkdir(parents=True, exist_ok=True)
    pdf.output(str(path))
    return path
