"""First-page previews are drawn in a child process (ui/preview.py): a real job's page appears in the
window, a file that breaks or crashes the renderer gives "No preview" in words and takes only the child,
and the child is gone once the window's service shuts down."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from shopdesk.ui.preview import PreviewFailed, PreviewProcess, render_first_page
from tests.helpers.pdfs import jpeg_bytes, pdf_bytes


def crash_on_pdfs(path: Path, content_type: str, width: int):  # runs in the child (module level: picklable)
    if content_type == "application/pdf":
        os.abort()  # what a renderer crashing on a hostile file looks like from outside
    return render_first_page(path, content_type, width)


def hang(path: Path, content_type: str, width: int):
    time.sleep(60)


def _gone(pid: int) -> bool:
    return not os.path.exists(f"/proc/{pid}")


def _select_only_job(window, qtbot):
    qtbot.waitUntil(lambda: window.model.rowCount() == 1, timeout=10_000)
    window.table.selectRow(0)


def test_the_selected_jobs_first_page_appears_drawn_by_a_child_process(counter, qtbot):
    window, service, shop = counter
    shop.upload(pdf_bytes(3), name="thesis.pdf")
    _select_only_job(window, qtbot)
    label = window.panel.preview
    qtbot.waitUntil(lambda: label.pixmap() is not None and not label.pixmap().isNull(), timeout=30_000)
    img = label.pixmap().toImage()
    assert img.width() > 100 and img.height() > img.width()  # an A4 page, upright
    assert service.previews.pid not in (None, os.getpid())
    inked = sum(img.pixelColor(x, y).alpha() > 0 for x in range(0, img.width(), 2) for y in range(0, img.height() // 4, 2))
    assert inked > 20  # the page's text is drawn (the page itself is transparent, as QtPdf renders it)


def test_a_file_that_crashes_the_renderer_says_no_preview_and_the_next_one_is_drawn(counter, qtbot):
    window, service, shop = counter
    service.previews = PreviewProcess(render=crash_on_pdfs)
    shop.upload(pdf_bytes(1), name="bad.pdf")
    _select_only_job(window, qtbot)
    label = window.panel.preview
    qtbot.waitUntil(lambda: label.text().startswith("No preview"), timeout=30_000)
    assert "the previewer stopped on this file" in label.text()
    assert window.isVisible()  # the window's process is untouched
    shop.upload(jpeg_bytes(800, 600), name="photo.jpg")
    qtbot.waitUntil(lambda: window.model.rowCount() == 2, timeout=10_000)
    row = next(r for r in range(2) if window.model.job_at(r)["original_name"] == "photo.jpg")
    window.table.selectRow(row)
    qtbot.waitUntil(lambda: label.pixmap() is not None and not label.pixmap().isNull(), timeout=30_000)
    assert service.previews.started == 2  # a new child after the crash


def test_the_preview_child_is_gone_when_the_window_closes(counter, qtbot):
    window, service, shop = counter
    shop.upload(pdf_bytes(1), name="menu.pdf")
    _select_only_job(window, qtbot)
    qtbot.waitUntil(lambda: service.previews.pid is not None and not window.panel.preview.pixmap().isNull(),
                    timeout=30_000)
    pid = service.previews.pid
    assert not _gone(pid)
    service.shutdown()
    window.close()
    assert _gone(pid)


def test_a_damaged_pdf_is_said_in_words(tmp_path):
    bad = tmp_path / "broken.pdf"
    bad.write_bytes(b"%PDF-1.4\n" + os.urandom(2000))
    previews = PreviewProcess()
    try:
        with pytest.raises(PreviewFailed, match="could not be opened"):
            previews.render(bad, "application/pdf", 300)
        good = tmp_path / "good.pdf"
        good.write_bytes(pdf_bytes(1))
        img = previews.render(good, "application/pdf", 300)
        assert img.width() == 300 and previews.started == 1  # an error of the file: the child stays
        assert img == render_first_page(good, "application/pdf", 300)  # the same pixels as drawn here
    finally:
        previews.close()


def test_a_renderer_that_hangs_is_killed_after_the_timeout(tmp_path):
    f = tmp_path / "slow.pdf"
    f.write_bytes(pdf_bytes(1))
    previews = PreviewProcess(render=hang, timeout=3)
    try:
        with pytest.raises(PreviewFailed, match="took longer than 3 s"):
            previews.render(f, "application/pdf", 300)
        assert previews.pid is None
    finally:
        previews.close()
