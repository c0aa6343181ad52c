"""Prefetcher: the files of waiting jobs are fetched into the DownloadCache before anyone presses Print.

One background thread. `update(orders)` hands it the queue as the watcher (or the agent) saw it; the
thread then fetches the files of the waiting jobs, newest first, within a size and a count bound,
through the cache (streamed, SHA-256-verified, renamed only when whole), and deletes the cached file of
every job that has left the queue (printed, cancelled, withdrawn), unless a job still in the queue or a
print of this counter (`in_use`) needs the same content. While a print is being sent (`sending()`) it
starts nothing, and a download under way for another file is abandoned (the .part file is deleted; it
is fetched again afterwards): the print's own download and submit do not share the line with it.

Nothing here is needed for correctness: a file not prefetched is downloaded by the print as before."""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable, Iterable, Iterator

from .downloads import DownloadCache

log = logging.getLogger("shopdesk.client.prefetch")

WAITING = "uploaded"  # a job the shopkeeper can still press Print on (domain.jobs.JobStatus.UPLOADED)


def _env_int(name: str, default: int) -> int:
    try:
        return max(0, int(os.environ.get(name, default)))
    except ValueError:
        log.warning("%s is not a whole number; using %s", name, default)
        return default


class _Abandoned(Exception):
    """Raised from the download's progress callback when a print starts sending another file."""


class Prefetcher:
    def __init__(self, cache: DownloadCache, *, max_bytes: int | None = None, max_files: int | None = None,
                 in_use: Callable[[], Iterable[str]] = lambda: ()):
        self.cache = cache
        self.max_bytes = max_bytes if max_bytes is not None else _env_int("SHOPDESK_PREFETCH_MB", 500) * 2**20
        self.max_files = max_files if max_files is not None else _env_int("SHOPDESK_PREFETCH_FILES", 100)
        self.in_use = in_use  # SHA-256 of the files this counter's prints still need
        self._cond = threading.Condition()
        self._queue: list[dict] | None = None  # the newest queue not yet looked at
        self._known: dict[int, str] = {}       # file_id → sha256 of every job of the last queue
        self._first = True                     # the first queue seen: also drops what an earlier run left
        self._sending: list[str] = []          # the files of the prints being sent right now
        self._current: str | None = None       # the sha256 being fetched
        self._busy = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.fetched = 0  # files fetched (for diagnostics and tests)
        self.dropped = 0  # files deleted because their job left the queue

    @property
    def enabled(self) -> bool:
        return self.max_bytes > 0 and self.max_files > 0

    # --- life ------------------------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="shopdesk-prefetch", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if self._thread:
            self._thread.join(timeout)

    # --- what the counter tells it ---------------------------------------------------------------------
    def update(self, orders: list[dict]) -> None:
        """The whole queue as `GET /queue` answered it; returns at once (any thread)."""
        with self._cond:
            self._queue = orders
            self._cond.notify_all()

    def begin_sending(self, sha256: str = "") -> Callable[[], None]:
        """A print starts being sent: downloads of other files wait (one under way is abandoned) until the
        returned function is called (once the printer has the job; calling it again does nothing)."""
        with self._cond:
            self._sending.append(sha256)
        ended = threading.Event()

        def end() -> None:
            if ended.is_set():
                return
            ended.set()
            with self._cond:
                self._sending.remove(sha256)
                self._cond.notify_all()
        return end

    @contextlib.contextmanager
    def sending(self, sha256: str = "") -> Iterator[None]:
        end = self.begin_sending(sha256)
        try:
            yield
        finally:
            end()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """True once every update so far has been looked at and nothing is being fetched (tests, bench)."""
        with self._cond:
            return self._cond.wait_for(lambda: self._queue is None and not self._busy, timeout)

    # --- the thread ------------------------------------------------------------------------------------
    def _run(self) -> None:
        wanted: list[tuple[int, str]] = []
        while not self._stop.is_set():
            with self._cond:
                self._busy = False
                self._cond.notify_all()
                self._cond.wait_for(lambda w=bool(wanted): self._stop.is_set() or self._queue is not None
                                    or (w and not self._sending), timeout=5)
                if self._stop.is_set():
                    return
                self._busy = True
                orders, self._queue = self._queue, None
            if orders is not None:
                try:
                    wanted = self._take(orders)
                except Exception:  # a defect here must not stop prefetching for good
                    log.exception("prefetch: reading the queue failed")
                    wanted = []
            while wanted and not self._stop.is_set():
                with self._cond:
                    if self._sending or self._queue is not None:
                        break  # a print is sending, or the queue changed: look again first
                    file_id, sha = wanted[0]
                    self._current = sha
                try:
                    self._fetch(file_id, sha)
                    wanted.pop(0)
                except _Abandoned:
                    log.debug("prefetch of file %s put off: a print is being sent", file_id)
                except Exception as exc:  # offline, gone, damaged: the print will fetch it (and say why)
                    log.info("prefetch of file %s: %s", file_id, exc)
                    wanted.pop(0)
                finally:
                    with self._cond:
                        self._current = None

    def _take(self, orders: list[dict]) -> list[tuple[int, str]]:
        """Drops the files of jobs that left the queue; returns (file_id, sha256) to fetch, newest first."""
        jobs = [j for o in orders for j in o.get("files", ())]
        now = {j["file_id"]: j["sha256"] for j in jobs}
        keep = set(now.values()) | set(self.in_use())
        gone = {fid: sha for fid, sha in self._known.items() if fid not in now}
        if self._first:  # jobs that left the queue while this counter was closed: their files go too
            self._first = False
            for p in self.cache.dir.iterdir():
                if len(p.name) == 64 and p.name not in keep:
                    gone.setdefault(-len(gone) - 1, p.name)
        self._known = dict(now)
        for fid, sha in gone.items():
            if sha in keep:
                if sha not in now.values():
                    self._known[fid] = sha  # a print of ours still needs it: dropped once it does not
                continue
            try:
                self.cache.path_for(sha).unlink()
                self.dropped += 1
                log.debug("dropped the cached file of job %s: it left the queue", fid)
            except FileNotFoundError:
                pass
            except (OSError, ValueError) as exc:
                log.info("could not drop the cached file of job %s: %s", fid, exc)
        if not self.enabled:
            return []
        waiting = sorted((j for j in jobs if j.get("status") == WAITING),
                         key=lambda j: (j.get("created_at") or "", j["file_id"]), reverse=True)
        out, total, seen = [], 0, set()
        for j in waiting:
            sha, size = j["sha256"], int(j.get("size_bytes") or 0)
            if sha in seen:
                continue
            if len(seen) >= self.max_files or total + size > self.max_bytes:
                break
            seen.add(sha)
            total += size
            if not self.cache.path_for(sha).exists():
                out.append((j["file_id"], sha))
        return out

    def _fetch(self, file_id: int, sha: str) -> None:
        def progress(_done: int, _total: int) -> None:
            with self._cond:
                if self._stop.is_set() or (self._sending and sha not in self._sending):
                    raise _Abandoned
        self.cache.fetch(file_id, sha, progress)
        self.fetched += 1
