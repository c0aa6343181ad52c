"""Start fast: the window's modules import nothing the window does not need before it is shown —
no camera (OpenCV, numpy, decoders), no PDF rendering, no server modules (bench/start.py measures it)."""

from __future__ import annotations

import subprocess
import sys

NOT_BEFORE_THE_WINDOW = ("cv2", "numpy", "zxingcpp", "pyzbar", "pypdfium2", "fitz", "pypdf", "fpdf", "PIL",
                         "qrcode", "sqlalchemy", "alembic", "fastapi", "uvicorn", "shopdesk.server",
                         "shopdesk.scanning")


def test_the_window_modules_import_no_camera_pdf_or_server_module():
    code = ("import sys; import shopdesk.app, shopdesk.ui.app, shopdesk.ui.mainwindow, shopdesk.ui.service; "
            f"print('\\n'.join(m for m in sys.modules if m.startswith({NOT_BEFORE_THE_WINDOW!r})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin"})
    assert out.stdout.split() == []
