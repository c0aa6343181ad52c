"""What this counter's printers can do now, as its heartbeat tells the server: for each printer, whether
it is ready (the same judgement as the health the window shows), why not, and the settings it takes
(colour, two-sided, paper sizes). The server refuses uploads that no ready printer of the shop can print
and shows the shop paused while none is ready."""

from __future__ import annotations

from collections.abc import Collection

from ..domain.printsettings import ColorMode, PrintMode
from .capabilities import PrinterInfo
from .printers import PrinterSet


def printer_report(p: PrinterInfo) -> dict:
    ok, words = p.health
    return {"name": p.name, "ready": ok, "reason": "" if ok else words[:300],
            "color": ColorMode.COLOR in p.colors, "duplex": PrintMode.DOUBLE in p.sides,
            "paper_sizes": sorted(m.value for m in p.media)}


def printers_report(printers: PrinterSet, only: Collection[str] | None = None) -> list[dict]:
    """Every printer of the counter now, or those named in `only` (a backend that cannot be reached has
    none: nothing is ready)."""
    return [printer_report(p) for p in printers.printers() if only is None or p.name in only][:50]


def readiness_key(report: list[dict]) -> tuple:
    """What must go out at once when it changes (a printer became ready or stopped, or came or went)."""
    return tuple(sorted((p["name"], p["ready"]) for p in report))
