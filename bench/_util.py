"""Small helpers shared by the benchmarks: percentiles and printing."""

from __future__ import annotations

import statistics


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(round(p / 100 * (len(s) - 1)))))
    return s[k]


def summary(values: list[float]) -> str:
    return f"median {statistics.median(values):7.2f} ms  p95 {pct(values, 95):7.2f} ms  p99 {pct(values, 99):7.2f} ms"
