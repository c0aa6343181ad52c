"""USB barcode scanners are keyboards: they "type" the code and press Enter. This tells such a burst
apart from a person typing, from the keystrokes' timestamps alone, so the UI can route both to the same
"open this job" path (and, say, pull a scanner's burst out of whatever text field had the focus).

Scanners send a key every 2-20 ms, steadily; a fast typist's keys are 60-150 ms apart, and even a
practised burst of a familiar word has gaps well over 40 ms. So: at least `min_length` characters whose
median gap is at most `max_median` and whose largest gap (Enter included) is at most `max_gap`.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from shopdesk.domain.codes import extract_job_code

SCANNER, PERSON = "scanner", "person"


def classify(timestamps: Sequence[float], *, max_median: float = 0.030, max_gap: float = 0.060,
             min_length: int = 6) -> str:
    """SCANNER or PERSON for keystrokes at these times (seconds; the Enter's time last)."""
    if len(timestamps) < min_length + 1:  # min_length characters, then Enter
        return PERSON
    gaps = [b - a for a, b in zip(timestamps, timestamps[1:], strict=False)]
    if any(g < 0 for g in gaps):
        return PERSON
    if statistics.median(gaps) <= max_median and max(gaps) <= max_gap:
        return SCANNER
    return PERSON


@dataclass(frozen=True)
class KeyedEntry:
    """A line of keys that ended with Enter: the text, who typed it, and the job code in it (or None)."""

    text: str
    by: str

    @property
    def code(self) -> str | None:
        return extract_job_code(self.text)

    @property
    def by_scanner(self) -> bool:
        return self.by == SCANNER


class KeystrokeDetector:
    """Feed it every printable key and Enter with their times; Enter returns the finished entry.

    A pause longer than `forget_after` starts a new entry (stray keys typed minutes ago are not part
    of the code). `scanner_in_progress` tells the UI, key by key, that the keys so far come at a
    scanner's pace — so it can hold them back from a focused text field until Enter decides.
    """

    def __init__(self, *, max_median: float = 0.030, max_gap: float = 0.060, min_length: int = 6,
                 forget_after: float = 2.0):
        self.max_median = max_median
        self.max_gap = max_gap
        self.min_length = min_length
        self.forget_after = forget_after
        self._chars: list[str] = []
        self._times: list[float] = []

    @property
    def text(self) -> str:
        return "".join(self._chars)

    def reset(self) -> None:
        self._chars.clear()
        self._times.clear()

    def key(self, char: str, at: float) -> None:
        if self._times and (at - self._times[-1] > self.forget_after or at < self._times[-1]):
            self.reset()
        if char == "\b":
            if self._chars:
                self._chars.pop()
                self._times.pop()
            return
        self._chars.append(char)
        self._times.append(at)

    def backspace(self, at: float) -> None:
        self.key("\b", at)

    @property
    def scanner_in_progress(self) -> bool:
        if len(self._times) < 2:
            return False
        gaps = [b - a for a, b in zip(self._times, self._times[1:], strict=False)]
        return max(gaps) <= self.max_gap

    def enter(self, at: float) -> KeyedEntry | None:
        """The entry that Enter finishes, or None when nothing was typed (or only long ago)."""
        if not self._chars or at - self._times[-1] > self.forget_after:
            self.reset()
            return None
        by = classify(self._times + [at], max_median=self.max_median, max_gap=self.max_gap,
                      min_length=self.min_length)
        entry = KeyedEntry(self.text.strip(), by)
        self.reset()
        return entry if entry.text else None
