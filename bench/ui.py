"""Benchmark of the counter window's responsiveness (offscreen Qt, real server, private cupsd):

- the longest main-thread stall (gap between 5 ms timer ticks) while a 1000-job queue refreshes, a
  print runs and the scan view decodes a video — against the same window sitting idle (baseline);
- time to first window and to the loaded queue;
- scan → job open latency from a video source (median over several showings).

  QT_QPA_PLATFORM=offscreen .venv/bin/python bench/ui.py [--jobs 1000]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

T0 = time.perf_counter()
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_LOGGING_RULES", "qt.multimedia*=false;qt.qpa.*=false")

from bench._util import pct  # noqa: E402


class Ticks:
    """Gaps between ticks of a 5 ms timer on the main thread: a stall shows as a long gap."""

    def __init__(self):
        from PySide6.QtCore import QTimer

        self.gaps: list[float] = []
        self._last = time.perf_counter()
        self.timer = QTimer(interval=5)
        self.timer.timeout.connect(self._tick)

    def _tick(self):
        now = time.perf_counter()
        self.gaps.append((now - self._last) * 1000)
        self._last = now

    def start(self):
        self.gaps.clear()
        self._last = time.perf_counter()
        self.timer.start()

    def stop(self) -> list[float]:
        self.timer.stop()
        return list(self.gaps)


def pump(app, seconds: float, until=None) -> bool:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        app.processEvents()
        if until is not None and until():
            return True
        time.sleep(0.001)
    return until() if until else True


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=1000)
    ap.add_argument("--showings", type=int, default=6)
    args = ap.parse_args()

    from PySide6.QtWidgets import QApplication

    from bench.api import seed
    from shopdesk.client.api import ShopClient
    from shopdesk.printing.backends import CupsBackend, HotFolderBackend, PrinterSet
    from shopdesk.scanning.testdata import make_code_video
    from shopdesk.settings import AppSettings
    from tests.helpers.cupsd import PrivateCupsd
    from tests.helpers.pdfs import pdf_bytes
    from tests.helpers.server import ServerProcess, make_shop

    tmp = Path(tempfile.mkdtemp(prefix="bench-ui-"))
    cupsd = PrivateCupsd().start()
    os.environ["CUPS_SERVER"] = cupsd.server
    cupsd.add_file_printer("Front")
    server = ServerProcess(tmp / "srv")
    shop_id, user, pw = seed(server.data_dir, None, args.jobs)
    server.start()
    try:
        shop = make_shop(server)  # for uploads as a walk-in
        shop.shop_id = shop_id
        app = QApplication(sys.argv[:1])
        from shopdesk.ui.mainwindow import MainWindow
        from shopdesk.ui.service import CounterService

        t_start = time.perf_counter()
        client = ShopClient(server.url)
        profile = client.login(user, pw)
        service = CounterService(client, profile, AppSettings(sounds=False, notifications=False),
                                 PrinterSet([CupsBackend(), HotFolderBackend(tmp / "hot")]), tmp / "app")
        window = MainWindow(service)
        service.window = window
        window.resize(1366, 768)
        window.show()
        service.start()
        pump(app, 0.01)
        t_shown = time.perf_counter()
        pump(app, 60, lambda: window.loaded and window.model.rowCount() >= args.jobs)
        t_loaded = time.perf_counter()
        print(f"window: shown {1000 * (t_shown - t_start):.0f} ms after start "
              f"({1000 * (t_shown - T0):.0f} ms after the process began, imports included); "
              f"queue of {window.model.rowCount()} jobs loaded after {1000 * (t_loaded - t_start):.0f} ms")
        pump(app, 1.0)
        ticks = Ticks()
        ticks.start()
        pump(app, 3.0)
        idle = ticks.stop()
        print(f"idle baseline: longest gap {max(idle):.1f} ms, p99 {pct(idle, 99):.1f} ms")

        # busy: a queue refresh of N jobs (an upload), a print, and the scan view decoding a video
        from shopdesk.ui.scanview import ScanView

        up = shop.upload(pdf_bytes(3), name="bench.pdf")["files"][0]
        video = make_code_video(tmp / "scan.avi", up["code"], times=args.showings, hold=1.0, pause=1.5)
        finished = []
        service.job_finished.connect(lambda *a: finished.append(a))
        opened = []
        service.job_opened.connect(lambda code: opened.append(time.perf_counter()))
        scan_times = []
        ticks.start()
        pump(app, 10, lambda: window.model.rowCount() > args.jobs)
        view = ScanView(service, str(video), close_on_open=False)
        emit = view.worker.on_scan
        # stamp each scan on the capture thread, the moment the decoder has it
        view.worker.on_scan = lambda s: (scan_times.append(time.perf_counter()), emit(s))
        view.show()
        service.print_job(window.model.job_at(window.model.row_of(up["file_id"])), "Front")
        pump(app, 60, lambda: finished and len(scan_times) >= args.showings and not view.worker.running)
        busy = ticks.stop()
        view.close()
        print(f"busy (refresh of {args.jobs + 1} jobs + a print + scanning): longest gap {max(busy):.1f} ms, "
              f"p99 {pct(busy, 99):.1f} ms, median {pct(busy, 50):.1f} ms  (target: longest ≤ 50 ms)")
        print(f"print result: {finished[0][2] if finished else 'none'}")
        lat = [1000 * (o - s) for s, o in zip(scan_times, opened, strict=False)]
        if lat:
            print(f"scan → job open (main thread): median {pct(lat, 50):.1f} ms, p95 {pct(lat, 95):.1f} ms over "
                  f"{len(lat)} scans (target: median ≤ 150 ms; decoding adds ~1-3 ms per frame, see bench/scan.py)")
        fresh = client.queue()[0]  # fetched and parsed off the main thread in the app (the watcher)
        t = time.perf_counter()
        window.model.set_orders(fresh)  # the main-thread share of a full refresh
        print(f"model merge of a {window.model.rowCount()}-job queue on the main thread: "
              f"{1000 * (time.perf_counter() - t):.1f} ms")
        service.shutdown()
    finally:
        server.stop()
        cupsd.stop()
    sys.stdout.flush()
    os._exit(0)  # skip Qt/PySide teardown at interpreter exit (it can crash after the run)


if __name__ == "__main__":
    main()
