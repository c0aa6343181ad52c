"""The one retry policy of the client, written down: start at 0.5 s, grow ×1.6 per attempt, full jitter
(a random wait between half and all of the step, so counters that lost the server together do not
come back together), capped at 30 s; a server's Retry-After replaces the step when it is longer."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass
class Backoff:
    initial: float = 0.5
    factor: float = 1.6
    cap: float = 30.0
    attempt: int = 0

    def next_delay(self, retry_after: float | None = None) -> float:
        step = min(self.cap, self.initial * (self.factor ** self.attempt))
        self.attempt += 1
        delay = random.uniform(step / 2, step)
        if retry_after is not None:
            delay = max(delay, min(float(retry_after), 300.0))
        return delay

    def reset(self) -> None:
        self.attempt = 0
