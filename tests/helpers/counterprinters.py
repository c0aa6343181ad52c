"""A counter with exactly two printers on the private cupsd — a black & white 'Mono' (CUPS's sample HP
LaserJet) and a colour 'Colour' — made for one test and deleted after it, so what the shop can do is
what these two can (the session cupsd's other printers belong to other tests)."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator

from shopdesk.printing.cups import CupsBackend
from shopdesk.printing.printers import PrinterSet

from .cupsd import COLOR_PPD, PrivateCupsd

MONO_PPD = "drv:///sample.drv/laserjet.ppd"  # black & white only (the generic PDF printers claim colour)


class TwoPrinters(PrinterSet):
    NAMES = ("Mono", "Colour")

    def printers(self):
        return [p for p in super().printers() if p.name in self.NAMES]


@contextlib.contextmanager
def two_printers(cupsd: PrivateCupsd) -> Iterator[TwoPrinters]:
    cupsd.lpadmin("-p", "Mono", "-E", "-v", f"file://{cupsd.out}/Mono.out", "-m", MONO_PPD)
    cupsd.lpadmin("-p", "Colour", "-E", "-v", f"file://{cupsd.out}/Colour.pdf", "-m", COLOR_PPD)
    try:
        yield TwoPrinters([CupsBackend()])
    finally:
        for name in TwoPrinters.NAMES:
            with contextlib.suppress(subprocess.CalledProcessError):
                cupsd.delete(name)
