"""What a shop can print right now, from the printers its live counters reported ready, and the words a
customer reads when a setting cannot be printed ("Colour printing is unavailable right now") or when
nothing can (the shop is paused). Pure rules: the server feeds it the counters' heartbeats.

A shop whose live counters never reported their printers (older clients) is `known=False`: it takes
everything, as before capabilities were reported."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .printsettings import ColorMode, PaperSize, PrintMode, PrintSettings

PAUSED_WORDS = "No printer is ready right now, so the shop is not taking files for the moment"
COLOUR_UNAVAILABLE = "Colour printing is unavailable right now"
DUPLEX_UNAVAILABLE = "Double-sided printing is unavailable right now"


def paper_unavailable(paper: str) -> str:
    return f"{paper} paper is unavailable right now"


@dataclass(frozen=True)
class ReadyPrinter:
    """One printer a live counter reported ready, with what it can do."""

    color: bool = False
    duplex: bool = False
    paper_sizes: frozenset[str] = frozenset()

    def can(self, settings: PrintSettings) -> bool:
        return ((settings.color_mode is not ColorMode.COLOR or self.color)
                and (settings.print_mode is not PrintMode.DOUBLE or self.duplex)
                and settings.paper_size.value in self.paper_sizes)


@dataclass(frozen=True)
class Availability:
    known: bool = False  # at least one live counter reported its printers
    ready: tuple[ReadyPrinter, ...] = ()

    @classmethod
    def from_reports(cls, reports: Iterable[list[dict] | None]) -> Availability:
        """`reports`: the `printers` of each live counter's last heartbeat (None: it sent none)."""
        known, ready = False, []
        for printers in reports:
            if printers is None:
                continue
            known = True
            for p in printers:
                if p.get("ready"):
                    ready.append(ReadyPrinter(bool(p.get("color")), bool(p.get("duplex")),
                                              frozenset(p.get("paper_sizes") or ())))
        return cls(known, tuple(ready))

    @property
    def paused(self) -> bool:
        return self.known and not self.ready

    def unavailable(self) -> list[str]:
        """A sentence for each setting no ready printer can do (empty when unknown or paused)."""
        if not self.known or not self.ready:
            return []
        out = []
        if not any(p.color for p in self.ready):
            out.append(COLOUR_UNAVAILABLE)
        if not any(p.duplex for p in self.ready):
            out.append(DUPLEX_UNAVAILABLE)
        out += [paper_unavailable(size.value) for size in PaperSize
                if not any(size.value in p.paper_sizes for p in self.ready)]
        return out

    def refusal(self, settings: PrintSettings) -> str | None:
        """None when some ready printer can print these settings; else why not, in the customer's words."""
        if not self.known:
            return None
        if not self.ready:
            return f"{PAUSED_WORDS}; please try again later."
        if any(p.can(settings) for p in self.ready):
            return None
        if settings.color_mode is ColorMode.COLOR and not any(p.color for p in self.ready):
            return f"{COLOUR_UNAVAILABLE}; choose black & white or try again later."
        if settings.print_mode is PrintMode.DOUBLE and not any(p.duplex for p in self.ready):
            return f"{DUPLEX_UNAVAILABLE}; choose one-sided or try again later."
        if not any(settings.paper_size.value in p.paper_sizes for p in self.ready):
            return f"{paper_unavailable(settings.paper_size.value)}; choose another paper size or try again later."
        # each setting alone is possible, but no one printer does them all
        what = [w for w, needed in (("colour", settings.color_mode is ColorMode.COLOR),
                                    ("double-sided", settings.print_mode is PrintMode.DOUBLE)) if needed]
        return (f"{' '.join(what).capitalize()} printing on {settings.paper_size.value} is unavailable right now; "
                "change a setting or try again later.")
