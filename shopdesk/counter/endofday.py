"""The owner's end-of-day report as a one-page A4 PDF (from `GET /shop/reconciliation`'s JSON), printed
through the counter's own printers like the shop's poster. No Qt."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from fpdf import FPDF

from ..scanning.tickets import _Fonts

KIND_WORDS = {
    "failed_attempt": "Failed attempt",
    "reprint": "Reprint",
    "printed_without_confirm": "Printed, not confirmed",
    "confirmed_without_print_record": "Confirmed, no print record",
}
COLUMNS = (("Jobs", "jobs_printed"), ("Sheets", "sheets"), ("Impressions", "impressions"),
           ("Pages charged", "pages_charged"), ("Earned", "earned"), ("Refunds", "refunds"))


def jobs_words(n: int) -> str:
    return f"{n} job{'' if n == 1 else 's'} printed"


def amount(value) -> str:
    return f"{Decimal(str(value)):.2f}"


def cell(row: Mapping, key: str) -> str:
    return amount(row[key]) if key in ("earned", "refunds") else str(row[key])


def local_time(iso: str | None) -> str:
    """An ISO UTC time as this computer's local HH:MM."""
    if not iso:
        return ""
    try:
        return datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone().strftime("%H:%M")
    except ValueError:
        return ""


def make_report_pdf(rep: Mapping, shop_name: str, path: str | Path, max_issues: int = 40) -> Path:
    path = Path(path)
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_margins(14, 14)
    pdf.add_page()
    f = _Fonts(pdf)
    w = pdf.w - pdf.l_margin - pdf.r_margin

    pdf.set_font(f.sans, "B", 18)
    pdf.cell(w, 10, f.text(f"End of day — {shop_name}"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(f.sans, "", 11)
    pdf.cell(w, 6, f.text(f"{rep['date']} ({rep['tz']})"), new_x="LMARGIN", new_y="NEXT")
    t = rep["totals"]
    pdf.ln(2)
    pdf.set_font(f.sans, "B", 12)
    pdf.multi_cell(w, 6, f.text(f"{jobs_words(t['jobs_printed'])} · {t['sheets']} sheets · {t['impressions']} "
                                f"impressions · {t['pages_charged']} pages charged · earned {amount(t['earned'])} · "
                                f"refunds {amount(t['refunds'])}"), new_x="LMARGIN", new_y="NEXT")

    def table(title: str, key: str, rows: list, empty: str) -> None:
        pdf.ln(3)
        pdf.set_font(f.sans, "B", 12)
        pdf.cell(w, 7, f.text(title), new_x="LMARGIN", new_y="NEXT")
        widths = (14, 18, 24, 28, 24, 24)  # mm, in the order of COLUMNS
        first = w - sum(widths)
        pdf.set_font(f.sans, "B", 9)
        pdf.cell(first, 6, f.text(key.capitalize()), border="B")
        for (head, _), cw in zip(COLUMNS, widths, strict=True):
            pdf.cell(cw, 6, f.text(head), border="B", align="R")
        pdf.ln(6)
        pdf.set_font(f.sans, "", 9)
        if not rows:
            pdf.cell(w, 6, f.text(empty), new_x="LMARGIN", new_y="NEXT")
        for r in rows:
            pdf.cell(first, 6, f.text((r.get(key) or "—")[:28]))
            for (_, k), cw in zip(COLUMNS, widths, strict=True):
                pdf.cell(cw, 6, cell(r, k), align="R")
            pdf.ln(6)

    table("By counter", "counter", rep["counters"], "Nothing was printed or refunded this day.")
    table("By printer", "printer", rep["printers"], "Nothing was printed this day.")

    issues = rep["discrepancies"]
    pdf.ln(3)
    pdf.set_font(f.sans, "B", 12)
    pdf.cell(w, 7, f.text(f"Needs a look ({len(issues)})"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(f.sans, "", 9)
    if not issues:
        pdf.cell(w, 6, f.text("Everything adds up."), new_x="LMARGIN", new_y="NEXT")
    fits = max(0, int((pdf.h - 30 - pdf.get_y()) // 5.5))  # one page, always
    shown = issues[:min(max_issues, fits)]
    for i in shown:
        where = " / ".join(x for x in (i.get("counter"), i.get("printer")) if x)
        line = f"{local_time(i.get('at'))}  {i['code']}  {KIND_WORDS.get(i['kind'], i['kind'])}" + \
               (f"  ({where})" if where else "") + f" — {i['detail']}"
        pdf.cell(w, 5.5, f.text(line[:120]), new_x="LMARGIN", new_y="NEXT")
    if len(issues) > len(shown):
        pdf.cell(w, 5.5, f.text(f"… and {len(issues) - len(shown)} more: see the CSV export."),
                 new_x="LMARGIN", new_y="NEXT")
    pdf.set_y(pdf.h - 14 - 5)
    pdf.set_font(f.sans, "", 8)
    pdf.cell(w, 5, f.text(f"shopdesk · printed {datetime.now().astimezone():%Y-%m-%d %H:%M}"), align="R")
    path.parent.mkdir(parents=True, exist_ok=True)
    pdf.output(str(path))
    return path
