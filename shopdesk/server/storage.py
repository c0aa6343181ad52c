"""Uploaded files on disk, stored under their SHA-256 (one copy per content), and the temp area uploads
stream into."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path


class FileStore:
    def __init__(self, root: Path):
        self.root = Path(root)
        self.tmp = self.root / "tmp"
        self.root.mkdir(parents=True, exist_ok=True)
        self.tmp.mkdir(parents=True, exist_ok=True)

    def path_for(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise ValueError("not a sha256 hex digest")
        return self.root / sha256[:2] / sha256

    def new_temp(self) -> tempfile._TemporaryFileWrapper:
        return tempfile.NamedTemporaryFile(dir=self.tmp, prefix="up-", delete=False)

    def keep(self, temp_path: Path, sha256: str) -> Path:
        """Links a finished upload into the store under its hash; the temp file stays until discarded,
        so `keep` can be called again after the commit in case a concurrent clean-up removed the copy."""
        final = self.path_for(sha256)
        final.parent.mkdir(parents=True, exist_ok=True)
        if not final.exists():
            tmp_link = final.with_name(final.name + f".{os.getpid()}.part")
            tmp_link.unlink(missing_ok=True)
            os.link(temp_path, tmp_link)
            os.replace(tmp_link, final)
        return final

    def delete(self, sha256: str) -> None:
        try:
            self.path_for(sha256).unlink(missing_ok=True)
        except ValueError:
            pass

    def stored_hashes(self) -> set[str]:
        return {p.name for p in self.root.glob("??/*") if p.is_file()}


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
