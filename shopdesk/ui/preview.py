"""First-page previews, rendered in a worker thread (QtPdf for PDFs, QImage for pictures)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize
from PySide6.QtGui import QImage


def render_first_page(path: Path, content_type: str, width: int = 420) -> QImage:
    if content_type.startswith("image/"):
        img = QImage(str(path))
        if img.isNull():
            raise ValueError("the picture could not be read")
        return img.scaledToWidth(width) if img.width() > width else img
    from PySide6.QtPdf import QPdfDocument

    doc = QPdfDocument()
    err = doc.load(str(path))
    if err != QPdfDocument.Error.None_ or doc.pageCount() < 1:
        raise ValueError("the PDF could not be opened for a preview")
    size = doc.pagePointSize(0)
    height = int(width * size.height() / size.width()) if size.width() else int(width * 1.414)
    img = doc.render(0, QSize(width, height))
    doc.close()
    return img
