"""`PrinterSet`: all printers of this counter, from every backend, and the counter's default set."""

from __future__ import annotations

import logging
from pathlib import Path

from .backend import Backend, PrinterUnavailable
from .capabilities import PrinterInfo
from .hotfolder import DEFAULT_TAKES, HotFolderBackend

log = logging.getLogger("shopdesk.printing")


class PrinterSet:
    """All printers of this counter, from every backend; dispatches by printer name."""

    def __init__(self, backends: list[Backend]):
        self.backends = backends

    def printers(self) -> list[PrinterInfo]:
        out: list[PrinterInfo] = []
        for b in self.backends:
            out.extend(b.printers())
        return out

    def find(self, name: str) -> tuple[Backend, PrinterInfo] | None:
        """(backend, the printer now) for one printer, asking only about it. A backend that cannot be
        reached does not hide the others' printers; if no backend has it, that is the error raised."""
        unreachable: PrinterUnavailable | None = None
        for b in self.backends:
            try:
                info = b.printer(name)
            except PrinterUnavailable as exc:
                unreachable = exc
                continue
            if info is not None:
                return b, info
        if unreachable is not None:
            raise unreachable
        return None

    def backend_for(self, name: str) -> Backend | None:
        found = self.find(name)
        return found[0] if found else None

    def backend_of_kind(self, kind: str) -> Backend | None:
        return next((b for b in self.backends if b.kind == kind), None)


def default_printer_set(hot_folder: Path | None, takes: str = "") -> PrinterSet:
    """The local CUPS printers, plus a "Hot folder" printer only when a hot folder is configured
    (`hot_folder`), taking what `takes` says (hotfolder.parse_takes)."""
    backends: list[Backend] = []
    try:
        from .cups import CupsBackend  # pycups may be missing (Windows): then the hot folder only

        backends.append(CupsBackend())
    except (ImportError, PrinterUnavailable) as exc:
        log.info("no CUPS: %s", exc)
    if hot_folder is not None:
        try:
            backends.append(HotFolderBackend(hot_folder, takes=takes or DEFAULT_TAKES))
        except ValueError as exc:
            log.warning("hot folder settings: %s; it takes %s only", exc, DEFAULT_TAKES)
            backends.append(HotFolderBackend(hot_folder))
    return PrinterSet(backends)
