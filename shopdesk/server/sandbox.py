"""Untrusted work in limited child processes: a small pool of worker processes, each task run with a CPU-time
and memory limit (`resource.setrlimit`, Linux and macOS) and a wall-clock limit (everywhere: the worker is
killed and replaced). A crafted file can burn at most its own limits in a process of lower priority, never
the server's event loop, its threads (password hashing, the database) or another request's time.

A task is a module-level function (so it pickles by name) run as `await pool.run(fn, *args)`. It returns
its result, or raises `Refusal("words for the customer")`; the pool turns a limit hit, a crash or any other
error into a `Refusal` with the words the caller gives (`refused=`). Page counting is one such task; a
"convert this document to PDF" task (LibreOffice, issue #19) is another function with bigger `Limits`.

Workers start by `forkserver` where there is one (a clean parent with the parsing libraries preloaded,
so a replacement starts in milliseconds and inherits none of the server's threads), else `spawn`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

log = logging.getLogger("shopdesk.server.sandbox")

try:  # POSIX only; elsewhere the wall-clock limit is the only one
    import resource
except ImportError:  # pragma: no cover - Windows
    resource = None  # type: ignore[assignment]

# Below the server in the CPU scheduler's eyes: when both want a core, the server's logins and queue win.
WORKER_NICENESS = 19
# A worker is replaced after this many tasks, so nothing a task leaves behind (memory) adds up.
TASKS_PER_WORKER = 200


class Refusal(Exception):
    """The task's answer in words for the person who sent the file (the pool adds nothing to them)."""


class Busy(Exception):
    """Every worker stayed busy for the whole wait: try again shortly."""


@dataclass(frozen=True)
class Limits:
    cpu_seconds: float = 5.0
    wall_seconds: float = 15.0
    memory_mb: int = 1024

    def scaled(self, **changes: Any) -> Limits:
        return replace(self, **changes)


# --- the child's side ---------------------------------------------------------------------------------

class _CpuTimeExceeded(BaseException):
    """Raised in the worker by SIGXCPU (the soft CPU limit), between two bytecodes of the task."""


def _on_sigxcpu(_signum, _frame):
    raise _CpuTimeExceeded()


def _set_limits(limits: Limits) -> None:
    if resource is None:
        return
    usage = resource.getrusage(resource.RUSAGE_SELF)
    used = usage.ru_utime + usage.ru_stime
    _soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
    # The CPU limit counts the process's whole life: give this task its share on top of what is used.
    # The hard limit, 2 s later, kills a task stuck in C code that never returns to the interpreter.
    soft = int(used + limits.cpu_seconds) + 1
    new_hard = soft + 2 if hard == resource.RLIM_INFINITY else min(hard, soft + 2)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_CPU, (soft, new_hard))
    if sys.platform.startswith("linux"):
        mem = limits.memory_mb * 2**20
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_AS, (mem, resource.RLIM_INFINITY))


def _lift_limits() -> None:
    if resource is None:
        return
    if sys.platform.startswith("linux"):
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_AS, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))


def _worker_main(conn) -> None:
    """Runs tasks one at a time until told to stop (None) or the parent goes away."""
    with contextlib.suppress(OSError, AttributeError):
        os.nice(WORKER_NICENESS)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C reaches the whole group; the server stops us
    if hasattr(signal, "SIGXCPU"):
        signal.signal(signal.SIGXCPU, _on_sigxcpu)
    sys.setrecursionlimit(4000)
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return
        if msg is None:
            return
        fn, args, limits = msg
        _set_limits(limits)
        try:
            reply = ("ok", fn(*args))
        except Refusal as exc:
            reply = ("refused", str(exc))
        except _CpuTimeExceeded:
            reply = ("limit", "cpu")
        except MemoryError:
            reply = ("limit", "memory")
        except RecursionError:
            reply = ("limit", "recursion")
        except Exception as exc:  # anything else the file made the parser do
            reply = ("error", f"{type(exc).__name__}: {str(exc)[:200]}")
        finally:
            _lift_limits()
        try:
            conn.send(reply)
        except (OSError, ValueError):
            return


# --- the server's side --------------------------------------------------------------------------------

def _mp_context(preload: list[str]):
    # A frozen bundle (PyInstaller) re-runs its own executable for a child: "spawn" is what it supports.
    frozen = getattr(sys, "frozen", False)
    if not frozen and sys.platform.startswith("linux") and "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(preload)
        return ctx
    return multiprocessing.get_context("spawn")


class _Worker:
    def __init__(self, mp) -> None:
        parent, child = mp.Pipe(duplex=True)
        self.conn = parent
        self.process = mp.Process(target=_worker_main, args=(child,), name="shopdesk-file-check", daemon=True)
        self.process.start()
        child.close()
        self.tasks = 0

    def kill(self) -> None:
        with contextlib.suppress(Exception):
            self.process.kill()
            self.process.join(2)
        with contextlib.suppress(Exception):
            self.conn.close()

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.conn.send(None)
        self.process.join(1)
        if self.process.is_alive():
            self.kill()
        with contextlib.suppress(Exception):
            self.conn.close()


class WorkerPool:
    """At most `size` tasks run at once; more wait (up to `queue_seconds`, then `Busy`)."""

    def __init__(self, size: int, limits: Limits, *, queue_seconds: float = 30.0,
                 preload: list[str] | None = None) -> None:
        self.size = max(1, size)
        self.limits = limits
        self.queue_seconds = queue_seconds
        self._mp = _mp_context(preload or [])
        self._idle: list[_Worker] = []
        self._slots: asyncio.Semaphore | None = None
        self._closed = False
        self.started = 0  # worker processes started so far (tests and the bench read it)

    def _semaphore(self) -> asyncio.Semaphore:
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.size)
        return self._slots

    async def run(self, fn: Callable, *args: Any, limits: Limits | None = None,
                  refused: str = "could not be checked") -> Any:
        """Runs `fn(*args)` in a worker under `limits`. Raises Refusal (the task's words, or `refused`
        when a limit was hit or the task failed) or Busy."""
        if self._closed:
            raise Busy("the server is stopping")
        limits = limits or self.limits
        slots = self._semaphore()
        try:
            await asyncio.wait_for(slots.acquire(), timeout=self.queue_seconds)
        except TimeoutError as exc:
            raise Busy("every file checker stayed busy") from exc
        worker: _Worker | None = None
        try:
            worker = self._idle.pop() if self._idle else await asyncio.to_thread(self._start)
            kind, value = await self._ask(worker, fn, args, limits)
            worker.tasks += 1
            if kind in ("ok", "refused", "error") and worker.tasks < TASKS_PER_WORKER and not self._closed:
                self._idle.append(worker)  # healthy: keep it
            else:
                worker.stop() if kind != "dead" else worker.kill()
            worker = None
        finally:
            if worker is not None:  # cancelled mid-task (the client went away): its state is unknown
                worker.kill()
            slots.release()
        if kind == "ok":
            return value
        if kind == "refused":
            raise Refusal(value)
        log.warning("file check refused: %s (%s)", kind, value)
        raise Refusal(refused)

    async def warm(self) -> None:
        """Starts one worker ahead of the first file (starting the forkserver and importing the parsers
        takes about a second), so the first customer does not wait for it."""
        if not self._idle and not self._closed:
            worker = await asyncio.to_thread(self._start)
            if self._closed:
                worker.stop()
            else:
                self._idle.append(worker)

    def _start(self) -> _Worker:
        self.started += 1
        return _Worker(self._mp)

    async def _ask(self, worker: _Worker, fn: Callable, args: tuple, limits: Limits) -> tuple[str, Any]:
        loop = asyncio.get_running_loop()
        ready = loop.create_future()
        fd = worker.conn.fileno()
        try:
            worker.conn.send((fn, args, limits))
        except (OSError, ValueError) as exc:
            worker.kill()
            return "dead", str(exc)
        loop.add_reader(fd, lambda: ready.done() or ready.set_result(None))
        started = time.monotonic()
        try:
            await asyncio.wait_for(ready, timeout=limits.wall_seconds)
        except TimeoutError:
            worker.kill()
            return "dead", f"no answer in {limits.wall_seconds:.0f} s (wall-clock limit)"
        finally:
            loop.remove_reader(fd)
        try:
            return worker.conn.recv()
        except (EOFError, OSError) as exc:  # killed by the hard CPU limit, the memory limit or a crash
            worker.kill()
            code = worker.process.exitcode
            return "dead", f"the worker ended ({code}) after {time.monotonic() - started:.1f} s: {exc!r}"

    def close(self) -> None:
        self._closed = True
        for w in self._idle:
            w.stop()
        self._idle.clear()
