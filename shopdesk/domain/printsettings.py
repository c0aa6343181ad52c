"""A job's print settings as the customer chose them, and their validation (all problems at once)."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass


class PrintMode(enum.StrEnum):
    SINGLE = "single"
    DOUBLE = "double"


class ColorMode(enum.StrEnum):
    BW = "bw"
    COLOR = "color"


class PaperSize(enum.StrEnum):
    A4 = "A4"
    A3 = "A3"
    LETTER = "Letter"
    LEGAL = "Legal"


MIN_COPIES, MAX_COPIES = 1, 99
MAX_COMMENT = 1000


def sheets(pages: int, copies: int, print_mode: str) -> int:
    """The sheets of paper a job takes: its pages (two to a sheet when double-sided) × copies."""
    per_copy = (pages + 1) // 2 if print_mode == PrintMode.DOUBLE else pages
    return per_copy * copies


class InvalidSettings(ValueError):
    """Bad print settings; `problems` lists every one, `str()` joins them with '; '."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("; ".join(problems))


@dataclass(frozen=True)
class PrintSettings:
    copies: int = 1
    print_mode: PrintMode = PrintMode.SINGLE
    color_mode: ColorMode = ColorMode.BW
    paper_size: PaperSize = PaperSize.A4
    comment: str = ""

    @classmethod
    def parse(cls, form: Mapping[str, object]) -> PrintSettings:
        """From form or JSON fields (strings allowed); missing fields take the defaults."""
        problems: list[str] = []

        def pick(name: str, default: object) -> object:
            value = form.get(name)
            return default if value is None or value == "" else value

        copies_raw = pick("copies", 1)
        copies = 1
        try:
            if isinstance(copies_raw, bool) or (isinstance(copies_raw, float) and not copies_raw.is_integer()):
                raise ValueError
            copies = int(str(copies_raw).strip())
        except (TypeError, ValueError):
            problems.append(f"copies must be a whole number from {MIN_COPIES} to {MAX_COPIES}")
        else:
            if not MIN_COPIES <= copies <= MAX_COPIES:
                problems.append(f"copies must be from {MIN_COPIES} to {MAX_COPIES} (got {copies})")

        def enum_value(name: str, kind: type[enum.StrEnum], default: enum.StrEnum):
            raw = str(pick(name, default.value)).strip()
            for member in kind:
                if raw.lower() == member.value.lower():
                    return member
            allowed = ", ".join(m.value for m in kind)
            problems.append(f"{name} must be one of {allowed} (got {raw[:40]!r})")
            return default

        print_mode = enum_value("print_mode", PrintMode, PrintMode.SINGLE)
        color_mode = enum_value("color_mode", ColorMode, ColorMode.BW)
        paper_size = enum_value("paper_size", PaperSize, PaperSize.A4)
        comment = str(pick("comment", "")).strip()
        if len(comment) > MAX_COMMENT:
            problems.append(f"comment must be at most {MAX_COMMENT} characters")
        if problems:
            raise InvalidSettings(problems)
        return cls(copies, print_mode, color_mode, paper_size, comment)

    @property
    def summary(self) -> str:
        """'2 × double-sided, colour, A3' for people."""
        sides = "double-sided" if self.print_mode is PrintMode.DOUBLE else "single-sided"
        colour = "colour" if self.color_mode is ColorMode.COLOR else "b/w"
        return f"{self.copies} × {sides}, {colour}, {self.paper_size.value}"
