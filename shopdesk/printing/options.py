"""Job settings → IPP job attributes, and the check that a printer can do them (before anything is
sent). The one home of these translations."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..domain.printsettings import ColorMode, PaperSize, PrintMode, PrintSettings, sheets

MEDIA_TO_IPP = {
    PaperSize.A4: "iso_a4_210x297mm",
    PaperSize.A3: "iso_a3_297x420mm",
    PaperSize.LETTER: "na_letter_8.5x11in",
    PaperSize.LEGAL: "na_legal_8.5x14in",
}
SIDES_TO_IPP = {PrintMode.SINGLE: "one-sided", PrintMode.DOUBLE: "two-sided-long-edge"}
COLOR_TO_IPP = {ColorMode.BW: "monochrome", ColorMode.COLOR: "color"}
_RANGES = re.compile(r"^\s*\d+(\s*-\s*\d+)?(\s*,\s*\d+(\s*-\s*\d+)?)*\s*$")

SIDES_WORDS = {PrintMode.SINGLE: "single-sided", PrintMode.DOUBLE: "double-sided"}
COLOR_WORDS = {ColorMode.BW: "black & white", ColorMode.COLOR: "colour"}


class UnsupportedOption(Exception):
    """The chosen printer cannot do what the job asks; the message names the printers that can."""


@dataclass(frozen=True)
class PrintRequest:
    """One job to print: the server's job JSON reduced to what printing needs."""

    file_id: int
    code: str
    customer: str
    original_name: str
    sha256: str
    num_pages: int
    settings: PrintSettings
    page_ranges: str = ""

    @classmethod
    def from_job(cls, job: dict, customer: str = "", page_ranges: str = "") -> PrintRequest:
        settings = PrintSettings.parse({k: job.get(k) for k in ("copies", "print_mode", "color_mode", "paper_size")})
        return cls(file_id=int(job["file_id"]), code=job["code"], customer=customer or job.get("customer_name") or "",
                   original_name=job.get("original_name", ""), sha256=job["sha256"], num_pages=int(job["num_pages"]),
                   settings=settings, page_ranges=page_ranges)

    @property
    def job_name(self) -> str:
        """What CUPS and the printer's panel show: the code first, so staff can match paper to job."""
        who = re.sub(r"[^\w .,'()-]", "", self.customer)[:40].strip()
        return f"{self.code} {who}".strip()

    @property
    def sheets_hint(self) -> int:
        return self.num_pages * self.settings.copies


def sheets_of(job: dict) -> int:
    """The sheets of paper a job takes as submitted: its pages (two to a sheet when double-sided) × copies."""
    return sheets(int(job.get("num_pages") or 1), int(job.get("copies") or 1), job.get("print_mode") or "")


def validate_page_ranges(text: str, num_pages: int) -> str:
    text = (text or "").replace(" ", "")
    if not text:
        return ""
    if not _RANGES.match(text):
        raise UnsupportedOption("Page ranges look like 1-3,5 (numbers and dashes separated by commas).")
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        lo_i, hi_i = int(lo), int(hi or lo)
        if lo_i < 1 or hi_i < lo_i or hi_i > num_pages:
            raise UnsupportedOption(f"Page range {part} is outside the document's {num_pages} pages.")
    return text


def ipp_options(req: PrintRequest) -> dict[str, str]:
    """The IPP job attributes for CUPS (pycups printFile options: all strings)."""
    s = req.settings
    opts = {
        "copies": str(s.copies),
        "sides": SIDES_TO_IPP[s.print_mode],
        "media": MEDIA_TO_IPP[s.paper_size],
        "print-color-mode": COLOR_TO_IPP[s.color_mode],
        "multiple-document-handling": "separate-documents-collated-copies",
        "fit-to-page": "true",
    }
    if req.page_ranges:
        opts["page-ranges"] = req.page_ranges
    return opts


def missing_capabilities(req: PrintRequest, printer) -> list[str]:
    """What `printer` (a PrinterInfo) cannot do of `req`, in words; empty when it can do everything."""
    s = req.settings
    missing = []
    if printer.media and s.paper_size not in printer.media:
        missing.append(f"{s.paper_size.value} paper")
    if s.print_mode not in printer.sides:
        missing.append(SIDES_WORDS[s.print_mode])
    if s.color_mode not in printer.colors:
        missing.append(COLOR_WORDS[s.color_mode])
    if s.copies > printer.max_copies:
        missing.append(f"{s.copies} copies")
    if req.page_ranges and not printer.page_ranges:
        missing.append("page ranges")
    return missing


def check_supported(req: PrintRequest, printer, others: list) -> None:
    """Raises UnsupportedOption naming what is missing and which printers could do it."""
    missing = missing_capabilities(req, printer)
    if not missing:
        return
    able = [p.name for p in others if p.name != printer.name and not missing_capabilities(req, p)]
    names = [f"'{n}'" for n in able]
    alternatives = names[0] if len(names) <= 1 else f"{', '.join(names[:-1])} or {names[-1]}"
    where = (f"Use {alternatives} instead." if able
             else "No printer here can do that; change the settings with the customer or cancel the job.")
    raise UnsupportedOption(f"Printer '{printer.name}' cannot print {' and '.join(missing)}. {where}")
