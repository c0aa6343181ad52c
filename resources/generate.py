"""Regenerates the binary resources from their sources: the app icon as PNG/ICO/ICNS from shopdesk.svg
(rendered by Qt's SVG renderer, so every size is the same drawing) and the self-test's QR image.

    .venv/bin/python resources/generate.py

The outputs are committed, so a build never needs this script; run it after editing shopdesk.svg."""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SELFTEST_TEXT = "https://shopdesk.invalid/j/SeLf7T"  # shopdesk/selftest.py expects exactly this


def render_icon(size: int):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    _app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # noqa: F841 — QImage painting needs it
    img = QImage(size, size, QImage.Format.Format_ARGB32)
    img.fill(Qt.GlobalColor.transparent)
    painter = QPainter(img)
    QSvgRenderer(str(HERE / "shopdesk.svg")).render(painter)
    painter.end()
    out = HERE / f"_tmp_{size}.png"
    img.save(str(out))
    from PIL import Image

    pil = Image.open(out).convert("RGBA")
    pil.load()
    out.unlink()
    return pil


def main() -> None:
    big = render_icon(512)
    render_icon(256).save(HERE / "shopdesk.png")
    big.save(HERE / "shopdesk.ico", sizes=[(16, 16), (24, 24), (32, 32), (48, 48), (64, 64), (128, 128), (256, 256)])
    big.save(HERE / "shopdesk.icns")

    import qrcode

    qr = qrcode.QRCode(border=4, box_size=8, error_correction=qrcode.constants.ERROR_CORRECT_M)
    qr.add_data(SELFTEST_TEXT)
    qr.make(fit=True)
    qr.make_image(fill_color="black", back_color="white").get_image().convert("L").save(HERE / "selftest-qr.png")
    print("wrote", ", ".join(p.name for p in sorted(HERE.glob("*")) if p.suffix in {".png", ".ico", ".icns"}))


if __name__ == "__main__":
    main()
