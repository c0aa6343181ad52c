"""The download cache: files streamed to `<sha256>.part`, renamed to `<sha256>` only once the SHA-256
matches, so a partial or corrupted file is never used; old files are cleaned."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from .api import ShopClient
from .errors import ChecksumError

log = logging.getLogger("shopdesk.client.downloads")


class DownloadCache:
    def __init__(self, directory: Path, client: ShopClient, *, max_bytes: int = 2 * 2**30,
                 max_age_seconds: int = 2 * 86400):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.client = client
        self.max_bytes, self.max_age = max_bytes, max_age_seconds
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def path_for(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise ValueError("not a SHA-256 hex digest")
        return self.dir / sha256

    def fetch(self, file_id: int, sha256: str, progress: Callable[[int, int], None] | None = None,
              sink: Callable[[bytes], None] | None = None) -> Path:
        """The verified file's path. `sink`, when given, gets the file's bytes block by block as they come
        (from the download, or read from the cached copy): a print can stream them on while they arrive,
        and must use them only once this returns (the SHA-256 matched)."""
        final = self.path_for(sha256)
        with self._guard:
            lock = self._locks.setdefault(sha256, threading.Lock())
        with lock:  # one download per content, however many callers want it
            if final.exists():
                os.utime(final)
                if sink is not None:
                    _feed(final, sink, progress)
                elif progress:
                    size = final.stat().st_size
                    progress(size, size)
                return final
            part = final.with_name(f"{sha256}.{threading.get_ident()}.part")
            try:
                self.client.download_to(file_id, part, expected_sha256=sha256, progress=progress, sink=sink)
                os.replace(part, final)
            except ChecksumError:
                log.warning("download of file %s failed its checksum; discarded", file_id)
                raise
            finally:
                part.unlink(missing_ok=True)
            return final

    def clean(self, now: float | None = None) -> int:
        """Removes stale .part files, files older than max_age, then the oldest beyond max_bytes."""
        now = now or time.time()
        removed = 0
        files = []
        for p in self.dir.iterdir():
            try:
                st = p.stat()
            except FileNotFoundError:
                continue
            if p.suffix == ".part":
                if now - st.st_mtime > 3600:
                    p.unlink(missing_ok=True)
                    removed += 1
                continue
            if now - st.st_mtime > self.max_age:
                p.unlink(missing_ok=True)
                removed += 1
                continue
            files.append((st.st_mtime, st.st_size, p))
        total = sum(size for _t, size, _p in files)
        for _t, size, p in sorted(files):
            if total <= self.max_bytes:
                break
            p.unlink(missing_ok=True)
            total -= size
            removed += 1
        return removed


def _feed(path: Path, sink: Callable[[bytes], None], progress: Callable[[int, int], None] | None,
          chunk: int = 1 << 20) -> None:
    """The cached file's bytes into `sink`, block by block."""
    total, done = path.stat().st_size, 0
    with open(path, "rb") as f:
        while block := f.read(chunk):
            sink(block)
            done += len(block)
            if progress:
                progress(done, total)
    if progress and not total:
        progress(0, 0)
