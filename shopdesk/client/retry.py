"""The client's retry policies, one per purpose, written down. Every policy has the same shape: the wait
starts at `initial`, grows ×`factor` per attempt and is capped at `cap`, with *equal jitter* (a random
wait between half and all of the step, so counters that lost the server together do not come back
together); a server's Retry-After replaces the step when it is longer (at most 300 s).

- `REQUEST`     one HTTP call's own retries (connection errors, timeouts, 5xx, 429): 0.5 s ×1.6, cap 30 s
- `QUEUE_WATCH` the queue watcher's long-poll after a failure: 0.5 s ×1.6, cap 15 s (the queue on
                screen must come back soon after the server does)
- `OUTBOX`      delivering the outbox's reports: 1 s ×1.6, cap 60 s (nothing waits on screen for them)
- `LOGIN`       the headless agent logging in while the server cannot be reached: 0.5 s ×1.6, cap 15 s
"""

from __future__ import annotations

import random
from dataclasses import dataclass

RETRY_AFTER_LIMIT = 300.0  # a silly Retry-After header cannot park a counter for hours


@dataclass(frozen=True)
class RetryPolicy:
    name: str
    initial: float
    factor: float
    cap: float

    def backoff(self) -> Backoff:
        return Backoff(initial=self.initial, factor=self.factor, cap=self.cap)


REQUEST = RetryPolicy("request", initial=0.5, factor=1.6, cap=30.0)
QUEUE_WATCH = RetryPolicy("queue watch", initial=0.5, factor=1.6, cap=15.0)
OUTBOX = RetryPolicy("outbox", initial=1.0, factor=1.6, cap=60.0)
LOGIN = RetryPolicy("login", initial=0.5, factor=1.6, cap=15.0)
POLICIES = (REQUEST, QUEUE_WATCH, OUTBOX, LOGIN)


@dataclass
class Backoff:
    """One run of waits under a policy (its defaults are `REQUEST`'s)."""

    initial: float = REQUEST.initial
    factor: float = REQUEST.factor
    cap: float = REQUEST.cap
    attempt: int = 0

    def next_delay(self, retry_after: float | None = None) -> float:
        step = min(self.cap, self.initial * (self.factor ** self.attempt))
        self.attempt += 1
        delay = random.uniform(step / 2, step)  # equal jitter
        if retry_after is not None:
            delay = max(delay, min(float(retry_after), RETRY_AFTER_LIMIT))
        return delay

    def reset(self) -> None:
        self.attempt = 0
