"""Money: integer minor units (cents/paise) everywhere; Decimal with two places only on the wire."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")


def to_decimal(cents: int) -> Decimal:
    """2550 -> Decimal('25.50'): the wire form of an amount."""
    return (Decimal(int(cents)) / 100).quantize(CENT)


def to_cents(amount: Decimal | str | int) -> int:
    """Decimal('25.50') or '25.5' -> 2550. Refuses fractions of a cent and non-numbers."""
    try:
        value = Decimal(str(amount))
    except InvalidOperation as exc:
        raise ValueError(f"not an amount: {amount!r}") from exc
    if not value.is_finite():
        raise ValueError(f"not an amount: {amount!r}")
    cents = value * 100
    if cents != cents.to_integral_value():
        raise ValueError(f"amount has more than two decimals: {amount!r}")
    return int(cents)


def format_amount(cents: int) -> str:
    """2550 -> '25.50' for people and CSV files."""
    return f"{to_decimal(cents):.2f}"


def share(cents: int, basis_points: int) -> int:
    """The part of an amount given by basis points (1/100 of a percent), rounded half up to a cent."""
    if not 0 <= basis_points <= 10_000:
        raise ValueError("basis points must be between 0 and 10000")
    return int((Decimal(cents) * basis_points / 10_000).quantize(Decimal(1), rounding=ROUND_HALF_UP))
