"""Prices: per printed page side, by colour mode and paper size, in cents. A job costs
pages × copies × price(colour, paper)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from .printsettings import ColorMode, PaperSize

DEFAULT_PER_PAGE_CENTS = {ColorMode.BW: 100, ColorMode.COLOR: 1000}
PAPER_FACTOR = {PaperSize.A4: 1, PaperSize.LETTER: 1, PaperSize.LEGAL: 1, PaperSize.A3: 2}


def _defaults() -> dict[tuple[ColorMode, PaperSize], int]:
    return {(c, p): DEFAULT_PER_PAGE_CENTS[c] * PAPER_FACTOR[p] for c in ColorMode for p in PaperSize}


@dataclass(frozen=True)
class PriceTable:
    per_page: Mapping[tuple[ColorMode, PaperSize], int] = field(default_factory=_defaults)

    def price(self, color: ColorMode, paper: PaperSize) -> int:
        return self.per_page[(ColorMode(color), PaperSize(paper))]

    def cost(self, *, pages: int, copies: int, color: ColorMode, paper: PaperSize) -> int:
        if pages < 0 or copies < 0:
            raise ValueError("pages and copies cannot be negative")
        return pages * copies * self.price(color, paper)

    def as_rows(self) -> list[tuple[str, str, int]]:
        return [(c.value, p.value, cents) for (c, p), cents in sorted(self.per_page.items())]

    @classmethod
    def from_rows(cls, rows) -> PriceTable:
        table = _defaults()
        for color, paper, cents in rows:
            table[(ColorMode(color), PaperSize(paper))] = int(cents)
        return cls(table)


DEFAULT_PRICES = PriceTable()
