"""The demo's files are generated once per computer: a second demo shop takes them from the cache."""

from __future__ import annotations

import pytest

from shopdesk.server import demo


def test_demo_files_are_made_once_and_copied_after(tmp_path, monkeypatch):
    monkeypatch.setenv("SHOPDESK_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    first = demo.demo_file("Notes.pdf", 2, tmp_path / "a")
    assert first.read_bytes().startswith(b"%PDF") and (demo.demo_files_dir() / "Notes.pdf").exists()

    def no_generating(*_a, **_k):
        raise AssertionError("generated again")

    monkeypatch.setattr(demo, "make_pdf", no_generating)
    monkeypatch.setattr(demo, "make_photo", no_generating)
    second = demo.demo_file("Notes.pdf", 2, tmp_path / "b")
    assert second != first and second.read_bytes() == first.read_bytes()
    second.unlink()  # the store links the copy; the cached file stays
    assert (demo.demo_files_dir() / "Notes.pdf").exists()
    with pytest.raises(AssertionError, match="generated again"):
        demo.demo_file("Photo.jpg", None, tmp_path / "b")  # not made yet: it would be generated
    assert not list(demo.demo_files_dir().glob("*.part"))
