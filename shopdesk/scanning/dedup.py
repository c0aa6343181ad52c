"""What counts as one scan: a code held in view is one scan however many frames read it; the same code
shown again after a pause, or after another code, is a new scan (reads 1,1,2,1 → scans 1,2,1)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from shopdesk.domain.codes import extract_job_code

from .decode import Decoded, Point

# A held ticket is missed by the decoder now and then (motion blur, a finger, idle frames skipped);
# a person taking it away and showing it again takes longer than this.
DEFAULT_GAP = 0.7


@dataclass(frozen=True)
class Scan:
    """One scan: the QR code's text, the job code in it (None for a QR code that is not a job code),
    its outline in the frame, and when (seconds, on the capture's clock)."""

    text: str
    code: str | None
    polygon: tuple[Point, ...] = ()
    at: float = 0.0

    @property
    def message(self) -> str | None:
        """What to tell the shopkeeper when the QR code is not a job code, else None."""
        if self.code is not None:
            return None
        shown = self.text if len(self.text) <= 40 else self.text[:37] + "..."
        return (f"This QR code is not a shopdesk job code ('{shown}') — scan the code on the customer's "
                f"upload receipt or claim ticket, or type the 6-character code.")


def scan_key(text: str) -> str:
    """Reads of the same job are the same scan whether the QR carries the bare code or a URL."""
    return extract_job_code(text) or text


class ScanDeduplicator:
    """Feed it every decoded frame's reads with the frame's time; it returns the new scans."""

    def __init__(self, gap: float = DEFAULT_GAP):
        self.gap = gap
        self._held: dict[str, float] = {}  # key → last time seen

    def reset(self) -> None:
        self._held.clear()

    def feed(self, reads: Iterable[Decoded], at: float) -> list[Scan]:
        # a backwards clock (a video restarted, a camera reopened) ends whatever was held
        if any(at < seen for seen in self._held.values()):
            self._held.clear()
        for key, seen in list(self._held.items()):
            if at - seen > self.gap:
                del self._held[key]
        reads = list(reads)
        keys = [scan_key(d.text) for d in reads]
        if any(k not in self._held for k in keys):
            # a different code came into view: whatever was held but is not in this frame has left
            for key in list(self._held):
                if key not in keys:
                    del self._held[key]
        scans = []
        for d, key in zip(reads, keys, strict=True):
            if key not in self._held:
                scans.append(Scan(d.text, extract_job_code(d.text), d.polygon, at))
            self._held[key] = at
        return scans
