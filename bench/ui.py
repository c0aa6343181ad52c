"""Benchmark of the counter window's responsiveness (offscreen Qt, real server, private cupsd):

- the longest main-thread stall (gap between 5 ms timer ticks) while a 1000-job queue refreshes, a
  print runs and the scan view decodes a video — against the same window sitting idle (baseline);
- time to first window and to the loaded queue;
- scan → job open latency from a video source (median over several showings).

--hog runs a CPU-bound process (a Python busy loop) beside the app for the whole measurement: a busy PC.

  QT_QPA_PLATFORM=offscreen .venv/bin/python bench/ui.py [--jobs 1000] [--hog]
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

    @property
    def last(self) -> float:
        return self._last


class StallSampler:
    """A watchdog thread that looks at the main thread every ~2 ms; once the main thread's last timer tick
    is more than `threshold` ms old it records, until the next tick, what every thread is doing
    (`sys._current_frames()`, every ~5 ms) and how the CPU time went (Linux schedstat: per thread of this
    process — on the CPU, or runnable but waiting for one — and for the server's and cupsd's process
    trees). A main thread that is neither running nor waiting for a CPU during a stall is blocked, in
    this app: on the GIL. Reading /proc costs the stalled process a little; --no-sampler measures without."""

    IDLE = {"wait", "select", "poll", "sleep", "acquire", "readinto", "recv_into", "recv", "accept", "get",
            "_wait_for_tstate_lock", "join", "read", "_recv", "_worker", "exec", "processEvents", "pump"}

    def __init__(self, ticks: Ticks, threshold_ms: float = 25.0, others: dict[str, int] | None = None):
        import threading

        self.ticks, self.threshold = ticks, threshold_ms / 1000
        self.others = others or {}  # label → pid of another process whose tree's CPU time is reported
        self.main_ident = threading.main_thread().ident
        self.main_tid = threading.main_thread().native_id
        self.stalls: list[dict] = []
        self.enabled = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-stall-sampler", daemon=True)

    # --- /proc -------------------------------------------------------------------------------------------
    @staticmethod
    def _read(path: str) -> str:
        try:
            with open(path, "rb", buffering=0) as f:
                return f.read().decode()
        except OSError:
            return ""

    def _tasks(self) -> dict[int, tuple[int, int]]:
        """This process's threads: tid → (ns on a CPU, ns runnable but waiting for a CPU)."""
        out = {}
        for tid in os.listdir("/proc/self/task"):
            f = self._read(f"/proc/self/task/{tid}/schedstat").split()
            if len(f) >= 2:
                out[int(tid)] = (int(f[0]), int(f[1]))
        return out

    def _tree_cpu(self, pid: int) -> int:
        """ns on a CPU of a process and its descendants (threads included) — living ones only."""
        total, todo = 0, [pid]
        while todo:
            p = todo.pop()
            for tid in os.listdir(f"/proc/{p}/task") if os.path.isdir(f"/proc/{p}/task") else ():
                f = self._read(f"/proc/{p}/task/{tid}/schedstat").split()
                total += int(f[0]) if f else 0
                todo += [int(c) for c in self._read(f"/proc/{p}/task/{tid}/children").split()]
        return total

    def _all_cpu(self) -> int:
        """ns all CPUs spent running anything (/proc/stat, in 10 ms jiffies: ± 10 ms)."""
        f = [int(x) for x in self._read("/proc/stat").split("\n", 1)[0].split()[1:]]
        return (sum(f[:8]) - f[3] - f[4]) * 10_000_000  # all but idle and iowait

    def _snapshot(self) -> dict:
        return {"t": time.perf_counter(), "tasks": self._tasks(), "all": self._all_cpu(),
                "others": {k: self._tree_cpu(p) for k, p in self.others.items()}}

    # --- frames ------------------------------------------------------------------------------------------
    def _where(self, frame) -> tuple[str, bool]:
        """'func (file:line) < caller < …' for the innermost 3 frames; and whether the thread is idle
        (waiting in a lock, a socket, a sleep or the event loop)."""
        parts, f, idle = [], frame, frame.f_code.co_name in self.IDLE
        while f is not None and len(parts) < 3:
            parts.append(f"{f.f_code.co_name} ({os.path.basename(f.f_code.co_filename)}:{f.f_lineno})")
            f = f.f_back
        return " < ".join(parts), idle

    def _frames(self, stall: dict) -> None:
        import threading

        names = {t.ident: t.name for t in threading.enumerate()}
        me = threading.get_ident()
        for ident, frame in sys._current_frames().items():
            if ident == me:
                continue
            where, idle = self._where(frame)
            who = "MAIN" if ident == self.main_ident else names.get(ident, f"pool-thread-{ident % 10000}")
            if ident == self.main_ident or not idle:
                stall["frames"].setdefault((who, where), 0)
                stall["frames"][(who, where)] += 1

    # --- the thread --------------------------------------------------------------------------------------
    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2)

    def _main_sched(self) -> tuple[float, int, int]:
        f = self._read(f"/proc/self/task/{self.main_tid}/schedstat").split()
        return time.perf_counter(), int(f[0]), int(f[1])

    def _run(self) -> None:
        from collections import deque

        stall = None
        recent: deque = deque(maxlen=64)  # the main thread's schedstat every ~2 ms: a stall's first part too
        while not self._stop.is_set():
            before = time.perf_counter()
            time.sleep(0.002)
            now = time.perf_counter()
            recent.append(self._main_sched())
            if not self.enabled:  # set after the ticks start, cleared before they stop
                stall = None
                continue
            last = self.ticks.last
            if stall is not None and last != stall["tick"]:  # the main thread ticked: the stall is over
                end = self._snapshot()
                stall["main_to"] = self._main_sched()
                stall["gap"] = (last - stall["tick"]) * 1000
                stall["end"] = end
                self.stalls.append(stall)
                stall = None
            elif stall is None and now - last > self.threshold:
                before_tick = [r for r in recent if r[0] <= last]
                stall = {"tick": last, "seen_at": (now - last) * 1000, "frames": {}, "samples": 0,
                         "main_from": before_tick[-1] if before_tick else None,
                         "sampler_late": (now - before - 0.002) * 1000, "start": self._snapshot(), "next": 0.0}
            if stall is not None and now >= stall["next"]:
                self._frames(stall)
                stall["samples"] += 1
                stall["next"] = now + 0.005

    # --- the report --------------------------------------------------------------------------------------
    def report(self, top: int = 5) -> str:
        if not self.stalls:
            return f"stall sampler: no gap over {self.threshold * 1000:.0f} ms"
        import threading

        names = {t.native_id: t.name for t in threading.enumerate()}
        names[self.main_tid] = "MAIN"
        lines = [f"stall sampler: {len(self.stalls)} gaps over {self.threshold * 1000:.0f} ms; the {top} longest, "
                 f"with what the other threads were doing (frames sampled every 5 ms, idle waits left out):"]
        for rank, s in enumerate(sorted(self.stalls, key=lambda s: -s["gap"])):
            a, b = s["start"], s["end"]
            wall = (b["t"] - a["t"]) * 1e9
            run = {tid: (b["tasks"][tid][0] - a["tasks"].get(tid, (0, 0))[0],
                         b["tasks"][tid][1] - a["tasks"].get(tid, (0, 0))[1]) for tid in b["tasks"]}
            mrun, mwait = run.get(self.main_tid, (0, 0))
            if s.get("main_from"):  # the main thread over the whole gap, not only from +threshold
                (t0, r0, w0), (t1, r1, w1) = s["main_from"], s["main_to"]
                wall, mrun, mwait = (t1 - t0) * 1e9, r1 - r0, w1 - w0
            own = sum(r for r, _w in run.values())
            cpus = b["all"] - a["all"]
            busy = sorted(((r, tid) for tid, (r, _w) in run.items() if tid != self.main_tid), reverse=True)[:3]
            blocked = max(0.0, wall - mrun - mwait)
            verdict = max((mrun, "main-thread work"), (mwait, "CPU starvation"), (blocked, "GIL wait"))[1]
            s["verdict"] = verdict
            if rank >= top:
                continue
            lines.append(
                f"  {s['gap']:.0f} ms gap, mostly {verdict} (seen at +{s['seen_at']:.0f} ms, sampler itself "
                f"{s['sampler_late']:.0f} ms late): over {wall / 1e6:.0f} ms the main thread ran "
                f"{mrun / 1e6:.0f} ms, waited {mwait / 1e6:.0f} ms for a CPU, was off the CPU (GIL, I/O) "
                f"{blocked / 1e6:.0f} ms; from +{self.threshold * 1000:.0f} ms to the end "
                f"({(b['t'] - a['t']) * 1000:.0f} ms) both CPUs ran ≈{cpus / 1e6:.0f} ms: this process "
                f"{own / 1e6:.0f} ms ("
                + ", ".join(f"{names.get(tid, f'tid {tid}')} {r / 1e6:.0f}" for r, tid in busy if r > 1e6)
                + "), " + "".join(f"{k} {(b['others'][k] - a['others'][k]) / 1e6:.0f}, " for k in b["others"])
                + f"rest ≈{(cpus - own - sum(b['others'][k] - a['others'][k] for k in b['others'])) / 1e6:.0f} ms")
            for (who, where), n in sorted(s["frames"].items(), key=lambda kv: -kv[1])[:4]:
                lines.append(f"      {n}/{s['samples']} {who}: {where}")
        kinds: dict[str, list[float]] = {}
        for s in self.stalls:
            kinds.setdefault(s.get("verdict", "?"), []).append(s["gap"])
        lines.append("  by cause (the longest of: the main thread ran / waited for a CPU / was off the CPU): " + "; ".join(
            f"{k}: {len(v)} (longest {max(v):.0f} ms)" for k, v in sorted(kinds.items(), key=lambda kv: -max(kv[1]))))
        return "\n".join(lines)


def isolate(how: str, pids: list[int]) -> None:
    """Moves other processes out of this one's way (--isolate); their later children inherit it."""
    tasks = [int(t) for pid in pids for t in os.listdir(f"/proc/{pid}/task")]
    for tid in tasks:
        if how == "nice":
            os.setpriority(os.PRIO_PROCESS, tid, 10)
        else:
            os.sched_setaffinity(tid, {1})
    if how == "cpu":
        os.sched_setaffinity(0, {0})
        for t in os.listdir("/proc/self/task"):
            os.sched_setaffinity(int(t), {0})
    print(f"isolated: server and cupsd {'at nice 10' if how == 'nice' else 'on CPU 1, this process on CPU 0'}")


def make_app(trace_events: bool):
    """The QApplication; with `trace_events`, one whose notify() times every event delivered on the main
    thread and keeps those over 10 ms (receiver, event type; nested ones too) — to tell which Qt work
    a main-thread stall is. Every event then passes through Python, so the gaps it measures are a bit
    longer; it is a diagnosis, not the measurement."""
    from PySide6.QtWidgets import QApplication

    if not trace_events:
        return QApplication(sys.argv[:1])

    class TracingApp(QApplication):
        slow: dict[tuple[str, str], list[float]] = {}
        on = False

        def notify(self, receiver, event):
            if not self.on:
                return super().notify(receiver, event)
            kind = event.type()
            t = time.perf_counter()
            try:
                return super().notify(receiver, event)
            finally:
                ms = (time.perf_counter() - t) * 1000
                if ms > 10:
                    name = type(receiver).__name__ + (f"({receiver.objectName()})" if receiver.objectName() else "")
                    if hasattr(receiver, "parent") and callable(receiver.parent) and receiver.parent() is not None:
                        name += f" in {type(receiver.parent()).__name__}"
                    self.slow.setdefault((name, kind.name), []).append(ms)

        def report(self) -> str:
            rows = sorted(self.slow.items(), key=lambda kv: -max(kv[1]))[:8]
            return "events over 10 ms on the main thread (receiver, event: count, longest):\n" + "\n".join(
                f"  {who}, {kind}: {len(v)}, {max(v):.0f} ms" for (who, kind), v in rows)

    return TracingApp(sys.argv[:1])


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
    ap.add_argument("--trace-events", action="store_true", help="report events over 10 ms (slows every event)")
    ap.add_argument("--isolate", choices=("nice", "cpu"),
                    help="evidence for CPU starvation: run the server's and cupsd's process trees at nice 10, or "
                         "pin them to CPU 1 and this process to CPU 0 (the app is measured the same way)")
    ap.add_argument("--switch-interval", type=float, metavar="MS",
                    help="sys.setswitchinterval for the run (Python's default 5 ms): GIL hand-over latency")
    ap.add_argument("--embedded", action="store_true",
                    help="the app talks to an embedded server (shopdesk.server.embedded, on the same data) as a "
                         "one-counter shop does; uploads still go through the server process")
    ap.add_argument("--no-sampler", action="store_true", help="measure without the stall sampler thread")
    ap.add_argument("--hog", action="store_true",
                    help="run a CPU-bound process (a Python busy loop) beside the app while measuring: a busy PC")
    args = ap.parse_args()
    if args.switch_interval:
        sys.setswitchinterval(args.switch_interval / 1000)
        print(f"switch interval: {sys.getswitchinterval() * 1000:g} ms")

    from bench.api import seed
    from shopdesk.client.api import ShopClient
    from shopdesk.printing.cups import CupsBackend
    from shopdesk.printing.hotfolder import HotFolderBackend
    from shopdesk.printing.printers import PrinterSet
    from shopdesk.scanning.testdata import make_code_video
    from shopdesk.settings import AppSettings
    from tests.helpers.cupsd import PrivateCupsd
    from tests.helpers.pdfs import pdf_bytes
    from tests.helpers.server import ServerProcess, make_shop

    tmp = Path(tempfile.mkdtemp(prefix="bench-ui-"))
    hog = None
    if args.hog:
        import subprocess

        hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        print(f"hog: a CPU-bound process (pid {hog.pid}) runs beside the app for the whole run")
    cupsd = PrivateCupsd().start()
    os.environ["CUPS_SERVER"] = cupsd.server
    cupsd.add_file_printer("Front")
    server = ServerProcess(tmp / "srv")
    shop_id, user, pw = seed(server.data_dir, None, args.jobs)
    server.start()
    try:
        if args.isolate:
            isolate(args.isolate, [server.proc.pid, cupsd.proc.pid])
        shop = make_shop(server)  # for uploads as a walk-in
        shop.shop_id = shop_id
        app = make_app(args.trace_events)
        from shopdesk.ui.mainwindow import MainWindow
        from shopdesk.ui.service import CounterService

        t_start = time.perf_counter()
        app_url = server.url
        if args.embedded:
            from shopdesk.server.config import Settings as ServerSettings
            from shopdesk.server.embedded import EmbeddedServer
            from tests.helpers.server import TEST_ENV

            os.environ.update(TEST_ENV)
            app_url = EmbeddedServer(ServerSettings.from_env(data_dir=server.data_dir)).start()
            print(f"the app's server: embedded, {app_url} (started with the window: its start counts)")
        client = ShopClient(app_url)
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
        others = {"server": server.proc.pid, "cupsd": cupsd.proc.pid}
        if hog is not None:
            others["hog"] = hog.pid
        sampler = StallSampler(ticks, others=others)
        if not args.no_sampler:
            sampler.start()
        ticks.start()
        pump(app, 3.0)
        idle = ticks.stop()
        print(f"idle baseline: longest gap {max(idle):.1f} ms, p99 {pct(idle, 99):.1f} ms")

        # busy: a queue refresh of N jobs (an upload), a print, and the scan view decoding a video
        from shopdesk.ui.scanview import ScanView

        up = shop.upload(pdf_bytes(3), name="bench.pdf")["files"][0]
        # the scanned job is another one: the printed job leaves the queue while the video still plays
        sc = shop.upload(pdf_bytes(1), name="scanned.pdf")["files"][0]
        video = make_code_video(tmp / "scan.avi", sc["code"], times=args.showings, hold=1.0, pause=1.5)
        finished = []
        service.job_finished.connect(lambda *a: finished.append(a))
        opened = []
        service.job_opened.connect(lambda code: opened.append(time.perf_counter()))
        scan_times = []
        ticks.start()
        sampler.enabled = app.on = True
        pump(app, 10, lambda: window.model.rowCount() >= args.jobs + 2)
        t_open = time.perf_counter()
        view = ScanView(service, str(video), close_on_open=False)
        emit = view.worker.on_scan
        # stamp each scan the moment the decoder has it: on the capture thread, or for a capture process,
        # when its child sent it (scan_sent_at; perf_counter is the system's monotonic clock on Linux)
        view.worker.on_scan = lambda s: (
            scan_times.append(getattr(view.worker, "scan_sent_at", None) or time.perf_counter()), emit(s))
        view.show()
        t_shown_view = time.perf_counter()
        service.print_job(window.model.job_at(window.model.row_of(up["file_id"])), "Front")
        t_opened = time.perf_counter()  # opening the scan view and starting the print: main-thread work too
        pump(app, 60, lambda: finished and len(scan_times) >= args.showings and not view.worker.running)
        sampler.enabled = app.on = False
        busy = ticks.stop()
        if args.trace_events:
            print(app.report())
        view.close()
        print(f"busy (refresh of {args.jobs + 1} jobs + a print + scanning): longest gap {max(busy):.1f} ms, "
              f"p99 {pct(busy, 99):.1f} ms, median {pct(busy, 50):.1f} ms  (target: longest ≤ 50 ms)")
        if not args.no_sampler:
            sampler.stop()
            print(sampler.report())
        print(f"opening the scan view and starting the print (main thread, inside the busy run, one block: "
              f"a click cannot do both): {1000 * (t_opened - t_open):.1f} ms — the scan view "
              f"{1000 * (t_shown_view - t_open):.1f} ms, starting the print {1000 * (t_opened - t_shown_view):.1f} ms")
        print(f"print result: {finished[0][2] if finished else 'none'}")
        lat = [1000 * (o - s) for s, o in zip(scan_times, opened, strict=False)]
        if lat:
            print(f"scan → job open (main thread): median {pct(lat, 50):.1f} ms, p95 {pct(lat, 95):.1f} ms over "
                  f"{len(lat)} scans (target: median ≤ 150 ms; decoding adds ~1-3 ms per frame, see bench/scan.py)")
        fresh = client.queue()[0]  # fetched and parsed off the main thread in the app (the watcher)
        pump(app, 0.5)
        for o in fresh[:1]:  # a refresh in which the first (visible) job changed
            o["files"][0] = dict(o["files"][0], last_failure="bench: out of paper")
        t = time.perf_counter()
        window.on_queue(fresh)  # the main-thread share of a refresh: merge, panel
        t_merge = time.perf_counter()
        app.processEvents()  # and the view's reaction to it: layout, repaint of what changed
        t_view = time.perf_counter()
        window.table.viewport().repaint()
        t_repaint = time.perf_counter()
        print(f"main thread, a refresh of a {window.model.rowCount()}-job queue with one visible job changed: "
              f"merge {1000 * (t_merge - t):.1f} ms, the view's reaction {1000 * (t_view - t_merge):.1f} ms; "
              f"a repaint of the whole table {1000 * (t_repaint - t_view):.1f} ms")
        service.shutdown()
    finally:
        server.stop()
        cupsd.stop()
        if hog is not None:
            hog.kill()
            hog.wait()
    sys.stdout.flush()
    os._exit(0)  # skip Qt/PySide teardown at interpreter exit (it can crash after the run)


if __name__ == "__main__":
    main()
