"""Benchmark of what drawing previews costs the window's main thread: gaps between 5 ms timer ticks on
the main thread while a worker thread draws first pages one after another — drawn in that thread
(QtPdf / QImage in the app's process: how previews were drawn before) against drawn by the previewer's
child process (ui/preview.py), in the same run, with nothing else going on (the baseline).

  QT_QPA_PLATFORM=offscreen .venv/bin/python bench/preview.py [--seconds 4] [--pages 20] [--hog]

--hog runs a CPU-bound process beside it (a busy PC). Offscreen Qt; the files are generated PDFs (text
pages and a page with a large photo) and a JPEG."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from bench._util import pct  # noqa: E402


def photo_pdf(path: Path) -> None:
    """A one-page PDF holding a large photo: the kind of page that takes long to draw."""
    import io
    import random

    from fpdf import FPDF
    from PIL import Image

    rnd = random.Random(7)
    im = Image.effect_noise((2400, 3400), 60).convert("RGB")
    im.paste((rnd.randrange(256), 90, 160), (200, 200, 1200, 1400))
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=90)
    pdf = FPDF(format="A4")
    pdf.add_page()
    pdf.image(buf, x=0, y=0, w=210, h=297)
    pdf.output(str(path))


def files(tmp: Path, pages: int) -> list[tuple[Path, str]]:
    from tests.helpers.pdfs import jpeg_bytes, pdf_bytes

    text = tmp / "text.pdf"
    text.write_bytes(pdf_bytes(pages))
    photo = tmp / "photo.pdf"
    photo_pdf(photo)
    jpg = tmp / "photo.jpg"
    jpg.write_bytes(jpeg_bytes(3000, 2000))
    return [(text, "application/pdf"), (photo, "application/pdf"), (jpg, "image/jpeg")]


def measure(app, render, docs, seconds: float, width: int) -> tuple[list[float], int]:
    """Main-thread tick gaps while a worker thread calls render() over the documents, round and round."""
    from PySide6.QtCore import QTimer

    stop = threading.Event()
    done = [0]

    def worker():
        i = 0
        while not stop.is_set():
            path, ctype = docs[i % len(docs)]
            render(path, ctype, width)
            done[0] += 1
            i += 1

    gaps: list[float] = []
    last = [time.perf_counter()]

    def tick():
        now = time.perf_counter()
        gaps.append((now - last[0]) * 1000)
        last[0] = now

    timer = QTimer(interval=5)
    timer.timeout.connect(tick)
    t = threading.Thread(target=worker, daemon=True)
    timer.start()
    last[0] = time.perf_counter()
    t.start()
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        app.processEvents()
        time.sleep(0.001)
    stop.set()
    t.join(30)
    timer.stop()
    return gaps, done[0]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=4.0)
    ap.add_argument("--pages", type=int, default=20)
    ap.add_argument("--width", type=int, default=480)
    ap.add_argument("--hog", action="store_true", help="a CPU-bound process beside it")
    args = ap.parse_args()
    from PySide6.QtWidgets import QApplication

    from shopdesk.ui.preview import PreviewProcess, render_first_page

    app = QApplication(sys.argv[:1])
    tmp = Path(tempfile.mkdtemp(prefix="bench-preview-"))
    docs = files(tmp, args.pages)
    hog = None
    if args.hog:
        import subprocess

        hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    previews = PreviewProcess()
    try:
        previews.render(*docs[0], args.width)  # the child started and its imports done: not measured
        for path, ctype in docs:
            t = time.perf_counter()
            render_first_page(path, ctype, args.width)
            here = (time.perf_counter() - t) * 1000
            t = time.perf_counter()
            previews.render(path, ctype, args.width)
            there = (time.perf_counter() - t) * 1000
            print(f"one preview of {path.name}: drawn here {here:.1f} ms, by the child {there:.1f} ms (wall, "
                  "including the hand-over)")
        print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs" + ("; a CPU hog runs beside" if hog else ""))
        idle, _ = measure(app, lambda *a: time.sleep(0.01), docs, args.seconds, args.width)
        rows = [("nothing drawn (baseline)", idle, 0)]
        for name, fn in (("drawn in a worker thread (before)", render_first_page),
                         ("drawn by the child process (now)", previews.render)):
            gaps, n = measure(app, fn, docs, args.seconds, args.width)
            rows.append((name, gaps, n))
        for name, gaps, n in rows:
            print(f"  {name:36s} main-thread gaps: longest {max(gaps):6.1f} ms, p99 {pct(gaps, 99):5.1f} ms, "
                  f"median {pct(gaps, 50):4.1f} ms; ticks {len(gaps)}" + (f"; previews drawn {n}" if n else ""))
    finally:
        previews.close()
        if hog is not None:
            hog.kill()
            hog.wait()


if __name__ == "__main__":
    main()
