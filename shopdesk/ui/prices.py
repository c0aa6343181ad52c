"""The price table as the owner edits it (first run and Shop settings): what one printed page costs, by
colour mode and paper size, in the computer's currency format. Amounts are Decimal end to end: typed
text → Decimal → the wire as a string; never a float."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from PySide6.QtCore import QLocale, Signal
from PySide6.QtWidgets import QGridLayout, QLabel, QLineEdit, QWidget

from ..domain.money import to_decimal
from ..domain.pricing import DEFAULT_PRICES
from ..domain.printsettings import ColorMode, PaperSize

MAX_PRICE = Decimal("10000.00")
COLOURS = {ColorMode.BW.value: "Black & white", ColorMode.COLOR.value: "Colour"}
PAPERS = [p.value for p in PaperSize]


def currency_symbol(locale: QLocale | None = None) -> str:
    return (locale or QLocale()).currencySymbol(QLocale.CurrencySymbolFormat.CurrencySymbol)


def format_price(amount: Decimal, locale: QLocale | None = None) -> str:
    """Decimal('1.5') → '1.50', with the locale's decimal point ('1,50' in Germany)."""
    text = f"{Decimal(amount).quantize(Decimal('0.01')):.2f}"
    return text.replace(".", (locale or QLocale()).decimalPoint())


def format_money(amount: Decimal, locale: QLocale | None = None) -> str:
    """An amount as people read it here: the currency symbol and the locale's decimal point."""
    loc = locale or QLocale()
    symbol = currency_symbol(loc)
    return f"{symbol}\u202f{format_price(amount, loc)}" if symbol else format_price(amount, loc)


def parse_price(text: str, locale: QLocale | None = None) -> Decimal:
    """What the owner typed → Decimal; ValueError in words. Takes the locale's decimal point or '.', and
    ignores the currency symbol, spaces and group separators."""
    loc = locale or QLocale()
    raw = text.strip().replace(currency_symbol(loc), "").replace("\u202f", "").replace(" ", "")
    point = loc.decimalPoint()
    if point != ".":
        if point in raw:  # '1.234,50' → '1234.50'; without the locale's point, a typed '.' is the point
            raw = raw.replace(".", "").replace(point, ".")
    else:
        raw = raw.replace(loc.groupSeparator() or ",", "")  # '1,234.50' → '1234.50'
    if not raw:
        raise ValueError("enter a price")
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise ValueError(f"'{text.strip()}' is not an amount") from None
    if not value.is_finite() or value < 0:
        raise ValueError("a price cannot be negative")
    if value != value.quantize(Decimal("0.01")):
        raise ValueError("at most two decimals")
    if value > MAX_PRICE:
        raise ValueError(f"at most {format_price(MAX_PRICE, loc)}")
    return value.quantize(Decimal("0.01"))


def default_prices() -> list[dict]:
    return [{"color_mode": c, "paper_size": p, "price": to_decimal(cents)} for c, p, cents in DEFAULT_PRICES.as_rows()]


class PriceGrid(QWidget):
    """Two rows (black & white, colour) × four paper sizes of price fields, with an error line under the
    grid. `prices()` returns the table or None after marking what is wrong."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.locale = QLocale()
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        symbol = currency_symbol(self.locale)
        grid.addWidget(QLabel(f"<i>per page{f', in {symbol}' if symbol else ''}</i>"), 0, 0)
        for col, paper in enumerate(PAPERS, start=1):
            grid.addWidget(QLabel(f"<b>{paper}</b>"), 0, col)
        self.fields: dict[tuple[str, str], QLineEdit] = {}
        for row, (colour, label) in enumerate(COLOURS.items(), start=1):
            grid.addWidget(QLabel(label), row, 0)
            for col, paper in enumerate(PAPERS, start=1):
                edit = QLineEdit()
                edit.setObjectName(f"price-{colour}-{paper}")
                edit.setMaximumWidth(110)
                edit.setAccessibleName(f"{label} {paper} price per page")
                edit.textEdited.connect(lambda _t, e=edit: (e.setStyleSheet(""), self.changed.emit()))
                grid.addWidget(edit, row, col)
                self.fields[(colour, paper)] = edit
        self.error = QLabel("")
        self.error.setObjectName("field-error")
        self.error.setWordWrap(True)
        self.error.setVisible(False)
        grid.addWidget(self.error, len(COLOURS) + 1, 0, 1, len(PAPERS) + 1)
        self.set_prices(default_prices())

    def set_prices(self, rows: list[dict]) -> None:
        for row in rows:
            edit = self.fields.get((row["color_mode"], row["paper_size"]))
            if edit is not None:
                edit.setText(format_price(Decimal(str(row["price"])), self.locale))
                edit.setStyleSheet("")
        self.show_error("")

    def show_error(self, text: str) -> None:
        self.error.setText(text)
        self.error.setVisible(bool(text))

    def prices(self, *, quiet: bool = False) -> list[dict] | None:
        out, problems = [], []
        for (colour, paper), edit in self.fields.items():
            try:
                out.append({"color_mode": colour, "paper_size": paper, "price": parse_price(edit.text(), self.locale)})
            except ValueError as exc:
                problems.append(f"{COLOURS[colour]} {paper}: {exc}")
                if not quiet:
                    edit.setStyleSheet("border: 2px solid #b00020;")
        if problems:
            if not quiet:
                self.show_error("; ".join(problems))
            return None
        if not quiet:
            self.show_error("")
        return out

    def price(self, colour: str, paper: str) -> Decimal | None:
        try:
            return parse_price(self.fields[(colour, paper)].text(), self.locale)
        except ValueError:
            return None
