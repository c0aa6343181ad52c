"""The worker pool for untrusted work: each limit (CPU time, memory, wall clock) and a crash end in a
refusal in words, and the pool goes on serving afterwards."""

from __future__ import annotations

import asyncio
import os
import sys
import time

import pytest

from shopdesk.server.sandbox import Limits, Refusal, WorkerPool

pytestmark = [pytest.mark.skipif(not sys.platform.startswith("linux"), reason="rlimits as set on Linux"),
              pytest.mark.slow]  # each limit is waited out


def spin(n: int) -> int:
    while True:
        n += 1


def hog(mb: int) -> int:
    return len(bytearray(mb * 2**20))


def nap(seconds: float) -> str:
    time.sleep(seconds)
    return "rested"


def crash() -> None:
    os._exit(3)


def refuse(words: str) -> None:
    raise Refusal(words)


def pid() -> int:
    return os.getpid()


def test_each_limit_and_a_crash_end_in_a_refusal_and_the_pool_goes_on():
    async def go():
        pool = WorkerPool(1, Limits(cpu_seconds=1, wall_seconds=3, memory_mb=400))
        try:
            results = {}
            for name, fn, arg in (("cpu", spin, 0), ("memory", hog, 1000), ("wall", nap, 30)):
                started = time.monotonic()
                with pytest.raises(Refusal, match="limit hit"):
                    await pool.run(fn, arg, refused="limit hit")
                results[name] = time.monotonic() - started
            with pytest.raises(Refusal, match="crashed"):
                await pool.run(crash, refused="crashed")
            with pytest.raises(Refusal, match="^in the task's own words$"):
                await pool.run(refuse, "in the task's own words")
            assert await pool.run(hog, 10) == 10 * 2**20
            assert await pool.run(nap, 0.01) == "rested"
            worker_pid = await pool.run(pid)
            assert worker_pid != os.getpid()
            assert await pool.run(pid) == worker_pid  # a healthy worker is kept
            return results, pool.started
        finally:
            pool.close()

    results, started = asyncio.run(go())
    assert results["cpu"] < 5 and results["wall"] < 5 and results["memory"] < 5, results
    assert started >= 4  # the CPU hog, the memory hog, the sleeper and the crash each cost their worker


def test_tasks_run_at_most_size_at_once():
    async def go():
        pool = WorkerPool(2, Limits(cpu_seconds=5, wall_seconds=10))
        try:
            started = time.monotonic()
            await asyncio.gather(*(pool.run(nap, 0.5) for _ in range(4)))
            return time.monotonic() - started
        finally:
            pool.close()

    took = asyncio.run(go())
    assert took >= 1.0  # four half-second tasks on two workers: two rounds
