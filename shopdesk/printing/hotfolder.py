"""The hot-folder backend: the file plus a JSON ticket, as large-format RIPs take jobs."""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from ..domain.printsettings import ColorMode, PaperSize, PrintMode
from .backend import SubmitError
from .capabilities import PrinterInfo
from .options import PrintRequest, ipp_options
from .outcomes import JobView
from .states import JobState, PrinterState

DEFAULT_TAKES = "A4"


def parse_takes(text: str) -> tuple[set[PaperSize], set[PrintMode], set[ColorMode]]:
    """What the hot folder's device takes, as the settings say it (`hot_folder_takes`, the agent's
    `--hot-folder-takes`): paper sizes, "colour" and "duplex", e.g. "A4 A3 colour". Black & white and
    single-sided always. Raises ValueError naming a word it does not know."""
    media, sides, colors = set(), {PrintMode.SINGLE}, {ColorMode.BW}
    by_name = {p.value.lower(): p for p in PaperSize}
    for word in (text or DEFAULT_TAKES).replace(",", " ").split():
        w = word.lower()
        if w in by_name:
            media.add(by_name[w])
        elif w in ("colour", "color"):
            colors.add(ColorMode.COLOR)
        elif w in ("duplex", "double", "double-sided"):
            sides.add(PrintMode.DOUBLE)
        else:
            raise ValueError(f"the hot folder cannot take '{word}': name paper sizes "
                             f"({', '.join(p.value for p in PaperSize)}), 'colour' and 'duplex'")
    return media or {PaperSize.A4}, sides, colors


class HotFolderBackend:
    """Writes `<code>-<name>` and `<code>-<name>.json` (the ticket) into a folder. Handing the file over is
    all this printer can report, so the job counts as done once both files are in place. It takes what
    `takes` says (see `parse_takes`), so a job it cannot do is refused before anything is written."""

    kind = "hotfolder"

    def __init__(self, folder: Path, name: str = "Hot folder", takes: str = DEFAULT_TAKES):
        self.folder = Path(folder)
        self.name = name
        self.media, self.sides, self.colors = parse_takes(takes)
        self._ids = itertools.count(int(time.time()))
        self._lock = threading.Lock()

    def printers(self) -> list[PrinterInfo]:
        ok = self.folder.exists() or _can_create(self.folder)
        return [PrinterInfo(name=self.name, backend=self.kind, description=f"Files and tickets into {self.folder}",
                            state=PrinterState.IDLE if ok else PrinterState.STOPPED, reasons=[] if ok else ["offline"],
                            message="" if ok else f"cannot write to {self.folder}",
                            media=set(self.media), sides=set(self.sides), colors=set(self.colors), max_copies=999,
                            page_ranges=True)]

    def printer(self, name: str, default: str | None = None) -> PrinterInfo | None:
        return self.printers()[0] if name == self.name else None

    def submit(self, req: PrintRequest, printer: str, path: Path, title: str) -> int:
        self.folder.mkdir(parents=True, exist_ok=True)
        with self._lock:
            job_id = next(self._ids)
        stem = f"{req.code}-{job_id}-" + re.sub(r"[^\w.-]+", "_", req.original_name)[:80]
        target = self.folder / stem
        try:
            shutil.copyfile(path, target.with_name(target.name + ".part"))
            os.replace(target.with_name(target.name + ".part"), target)
            ticket = {"job_id": job_id, "title": title, "code": req.code, "customer": req.customer,
                      "file": target.name, "pages": req.num_pages, "copies": req.settings.copies,
                      "print_mode": req.settings.print_mode.value, "color_mode": req.settings.color_mode.value,
                      "paper_size": req.settings.paper_size.value, "page_ranges": req.page_ranges,
                      "ipp": ipp_options(req), "created_at": datetime.now(UTC).isoformat()}
            tmp = target.with_name(target.name + ".json.part")
            tmp.write_text(json.dumps(ticket, indent=2), "utf-8")
            os.replace(tmp, target.with_name(target.name + ".json"))
        except OSError as exc:
            raise SubmitError(f"Cannot write to the hot folder {self.folder}: {exc.strerror}") from exc
        return job_id

    def view(self, job_id: int, printer: str) -> JobView:
        return JobView(state=JobState.COMPLETED)

    def cancel(self, job_id: int) -> None:
        for p in self.folder.glob(f"*-{job_id}-*"):
            p.unlink(missing_ok=True)

    def find_job(self, needle: str) -> int | None:
        return None


def _can_create(folder: Path) -> bool:
    parent = folder
    while not parent.exists():
        parent = parent.parent
    return os.access(parent, os.W_OK)
