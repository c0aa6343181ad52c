"""Printer attributes (IPP) → what a printer can do and how it is, in words a shopkeeper understands."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..domain.printsettings import ColorMode, PaperSize, PrintMode
from .options import COLOR_TO_IPP, MEDIA_TO_IPP, SIDES_TO_IPP
from .states import PrinterState

IPP_IDLE, IPP_PROCESSING, IPP_STOPPED = PrinterState.IDLE, PrinterState.PROCESSING, PrinterState.STOPPED

# printer-state-reasons keywords (RFC 8011 / PWG 5100) → words; "-error/-warning/-report" suffixes are
# stripped before lookup. Every entry reads both alone ("Front — out of paper") and after "is"
# ("Printer 'Front' is out of paper"), as the pipeline and the UI use both.
REASON_WORDS = {
    "media-empty": "out of paper",
    "media-needed": "waiting for paper",
    "media-low": "low on paper",
    "media-jam": "jammed",
    "toner-empty": "out of toner",
    "toner-low": "low on toner",
    "marker-supply-empty": "out of ink or toner",
    "marker-supply-low": "low on ink or toner",
    "door-open": "not ready: door open",
    "cover-open": "not ready: cover open",
    "input-tray-missing": "not ready: paper tray missing",
    "output-area-full": "not ready: output tray full",
    "offline": "offline",
    "connecting-to-device": "connecting…",
    "shutdown": "switched off",
    "timed-out": "not answering",
    "paused": "paused",
    "spool-area-full": "not ready: print spool full",
    "cups-missing-filter": "unable to convert this file (a driver filter is missing)",
    "moving-to-paused": "pausing",
    "other": "not ready: a problem at the printer",
}
_BAD = {"media-empty", "media-needed", "media-jam", "toner-empty", "marker-supply-empty", "door-open",
        "cover-open", "input-tray-missing", "output-area-full", "offline", "shutdown", "timed-out", "paused",
        "spool-area-full", "cups-missing-filter", "other"}


# What a printer says while a job is in it that means the job cannot go on by itself. NOT_ANSWERING: CUPS
# or the device itself cannot reach the printer; NEEDS_HANDS: someone must do something at the printer.
NOT_ANSWERING = {"connecting-to-device", "offline", "timed-out", "shutdown"}
NEEDS_HANDS = {"media-empty", "media-needed", "media-jam", "cover-open", "door-open", "toner-empty",
               "marker-supply-empty", "input-tray-missing", "output-area-full"}
MISSING_HISTORY = "cups-ipp-missing-job-history"  # CUPS took "job not found" on the printer as completed


def not_answering_words(printer: str) -> str:
    return f"'{printer}' stopped answering (is it switched on and connected?)"


def printer_trouble(printer: str, reasons, message: str = "", answers: bool | None = None) -> tuple[str, str] | None:
    """The one reading of a printer's reasons while a job is in it, for the window and the agent log alike:
    ("not-answering" | "needs-hands", words) or None. `answers` is False when the device itself did not
    answer. Reports ("-report") are history, not trouble."""
    if answers is False:
        return "not-answering", not_answering_words(printer)
    hands = []
    for r in reasons or []:
        kw, severity = _keyword(r)
        if severity == "report" and r.endswith("-report") and kw != "offline":
            continue
        if kw in NOT_ANSWERING:
            return "not-answering", not_answering_words(printer)
        if kw in NEEDS_HANDS:
            hands.append(REASON_WORDS.get(kw, kw.replace("-", " ")))
    if hands:
        words = ", ".join(dict.fromkeys(hands))
        if message and message.lower().rstrip(".") not in ("printing", "idle", "") and message.lower() not in words:
            words += f" ({message.rstrip('.')})"
        return "needs-hands", f"Printer '{printer}' is {words}"
    return None


def _keyword(reason: str) -> tuple[str, str]:
    for suffix in ("-error", "-warning", "-report"):
        if reason.endswith(suffix):
            return reason[: -len(suffix)], suffix[1:]
    return reason, "error" if reason in _BAD else "report"


def health_words(state: int, reasons: list[str], message: str = "", accepting: bool = True) -> tuple[bool, str]:
    """(ok, words): 'ready', 'out of paper (Load paper in tray 1), paused', 'paused (Out of paper)', …
    The printer's own message is kept: it often says what to do."""
    problems, notes = [], []
    paused = False
    for r in reasons or []:
        if r in ("none", ""):
            continue
        kw, severity = _keyword(r)
        if kw == "paused":
            paused = True
            continue
        words = REASON_WORDS.get(kw, kw.replace("-", " "))
        (problems if (kw in _BAD and severity == "error") else notes).append(words)
    problems = list(dict.fromkeys(problems))
    if problems and message and message.lower() not in ", ".join(problems).lower():
        problems[-1] += f" ({message})"
    if paused:
        problems.append("paused" if problems or not message else f"paused ({message})")
    if not accepting:
        problems.append("not accepting jobs")
    if state == IPP_STOPPED and not problems:
        problems = notes or [f"stopped{f' ({message})' if message else ''}"]
        notes = []
    if problems:
        return False, ", ".join(dict.fromkeys(problems))
    text = "printing" if state == IPP_PROCESSING else "ready"
    if notes:
        text += " — " + ", ".join(dict.fromkeys(notes))
    return True, text


@dataclass
class PrinterInfo:
    name: str
    backend: str = "cups"
    description: str = ""
    location: str = ""
    state: int = IPP_IDLE
    reasons: list[str] = field(default_factory=list)
    message: str = ""
    accepting: bool = True
    is_default: bool = False
    media: set[PaperSize] = field(default_factory=set)
    sides: set[PrintMode] = field(default_factory=set)
    colors: set[ColorMode] = field(default_factory=set)
    max_copies: int = 1
    page_ranges: bool = False
    device_uri: str = ""  # where CUPS sends the jobs (ipp://… for a network printer)

    @property
    def health(self) -> tuple[bool, str]:
        return health_words(self.state, self.reasons, self.message, self.accepting)

    @property
    def ok(self) -> bool:
        return self.health[0]

    def as_dict(self) -> dict:
        ok, words = self.health
        return {"name": self.name, "backend": self.backend, "ok": ok, "health": words,
                "description": self.description, "is_default": self.is_default,
                "media": sorted(m.value for m in self.media), "sides": sorted(s.value for s in self.sides),
                "colors": sorted(c.value for c in self.colors), "max_copies": self.max_copies}


def from_ipp(name: str, attrs: dict, *, is_default: bool = False) -> PrinterInfo:
    media_ipp = set(attrs.get("media-supported") or [])
    sides_ipp = set(attrs.get("sides-supported") or ["one-sided"])
    colors_ipp = set(attrs.get("print-color-mode-supported") or [])
    if not colors_ipp:
        colors_ipp = {"color", "monochrome"} if attrs.get("color-supported") else {"monochrome"}
    copies = attrs.get("copies-supported") or (1, 1)
    reasons = attrs.get("printer-state-reasons") or []
    if isinstance(reasons, str):
        reasons = [reasons]
    return PrinterInfo(
        name=name,
        description=attrs.get("printer-info") or attrs.get("printer-make-and-model") or "",
        location=attrs.get("printer-location") or "",
        state=int(attrs.get("printer-state") or IPP_IDLE),
        reasons=list(reasons),
        message=attrs.get("printer-state-message") or "",
        accepting=bool(attrs.get("printer-is-accepting-jobs", True)),
        is_default=is_default,
        media={p for p, ipp in MEDIA_TO_IPP.items() if ipp in media_ipp},
        sides={m for m, ipp in SIDES_TO_IPP.items() if ipp in sides_ipp},
        colors={c for c, ipp in COLOR_TO_IPP.items() if ipp in colors_ipp},
        max_copies=int(copies[1]) if isinstance(copies, (tuple, list)) else int(copies),
        page_ranges=bool(attrs.get("page-ranges-supported", False)),
        device_uri=attrs.get("device-uri") or "",
    )


REQUESTED_ATTRIBUTES = [
    "printer-state", "printer-state-reasons", "printer-state-message", "printer-is-accepting-jobs",
    "printer-info", "printer-location", "printer-make-and-model", "media-supported", "sides-supported",
    "print-color-mode-supported", "color-supported", "copies-supported", "page-ranges-supported", "device-uri",
]
