"""Which printer a job goes to: the first routing rule that matches (colour → this printer, A3 → that
one, duplex → …), else the default printer; a printer that cannot do the job is skipped in favour of
one that can. The shopkeeper can always choose another."""

from __future__ import annotations

from .options import PrintRequest, missing_capabilities


def choose_printer(req: PrintRequest, printers: list, rules: list, default: str = "") -> str | None:
    by_name = {p.name: p for p in printers}
    s = req.settings
    for rule in rules:
        if rule.color_mode and rule.color_mode != s.color_mode.value:
            continue
        if rule.paper_size and rule.paper_size != s.paper_size.value:
            continue
        if rule.print_mode and rule.print_mode != s.print_mode.value:
            continue
        if rule.printer in by_name:
            return rule.printer
    ordered = sorted(printers, key=lambda p: (p.name != default, not p.is_default, not p.ok))
    for p in ordered:
        if not missing_capabilities(req, p):
            return p.name
    return ordered[0].name if ordered else None
