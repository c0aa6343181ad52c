"""Benchmark of the print path: from "Print" to CUPS having accepted the job (print-started, download,
verify, submit — since #16 the file is fetched and sent held to CUPS while print-started is on the wire,
and "accepted" is the held job released) for 1 MB and 50 MB PDFs, against `lp` of the same file on the
same printer in the same run; and the peak memory of a process printing a 200 MB PDF (it must stream,
not load the file). The code before #16 is measured by running this file from a tree of it
(`git archive <rev> | tar -x -C DIR; cd DIR; <venv>/bin/python bench/print_path.py`).

  .venv/bin/python bench/print_path.py [--rounds 5]

Starts its own private cupsd, API server (SQLite) and shop; cleans up after itself."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._util import pct  # noqa: E402


def make_pdf(path: Path, size_mb: int) -> None:
    """A valid PDF of about `size_mb` MB: one page plus an incompressible attachment."""
    from pypdf import PdfWriter

    w = PdfWriter()
    w.add_blank_page(595, 842)
    w.add_attachment("padding.bin", os.urandom(size_mb * 2**20))
    with open(path, "wb") as f:
        w.write(f)


class Sent(BaseException):
    """Stops the pipeline once CUPS has accepted the job: that is what is measured."""


def hwm_kb() -> int:
    """Peak resident memory of this process (VmHWM; unlike ru_maxrss it starts afresh at exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def child_peak(args) -> None:
    """Runs in a fresh process: prints one big job and reports the peak RSS."""
    from shopdesk.client.api import ShopClient
    from shopdesk.counter import CounterCore
    from shopdesk.printing.cups import CupsBackend
    from shopdesk.printing.printers import PrinterSet

    work = Path(args.work)
    client = ShopClient(args.url)
    client.login(args.user, args.password)
    job = client.job_by_code(args.code)
    before = hwm_kb()
    pipeline = CounterCore(client, PrinterSet([CupsBackend()]), work, counter="bench").pipeline

    def progress(stage, words, fraction):
        if stage == "sent":
            raise Sent

    try:
        pipeline.print_job(job, args.printer, progress=progress)
    except Sent:
        pass
    after = hwm_kb()
    print(f"{before} {after}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1, 50], help="file sizes in MB")
    ap.add_argument("--no-peak", action="store_true", help="skip the 200 MB peak-memory run")
    ap.add_argument("--child", action="store_true")
    ap.add_argument("--url"), ap.add_argument("--user"), ap.add_argument("--password"), ap.add_argument("--code")
    ap.add_argument("--printer"), ap.add_argument("--work")
    args = ap.parse_args()
    if args.child:
        child_peak(args)
        return

    from shopdesk.client.api import ShopClient
    from shopdesk.counter import CounterCore
    from shopdesk.printing.cups import CupsBackend
    from shopdesk.printing.printers import PrinterSet
    from tests.helpers.cupsd import PrivateCupsd
    from tests.helpers.server import ServerProcess, make_shop

    tmp = Path(tempfile.mkdtemp(prefix="bench-print-"))
    cupsd = PrivateCupsd().start()
    os.environ["CUPS_SERVER"] = cupsd.server
    # A raw queue into /dev/null: what is measured is acceptance, not the filters that run afterwards.
    cupsd.lpadmin("-p", "Bench", "-E", "-v", "file:///dev/null", "-m", "raw")
    server = ServerProcess(tmp / "srv", env={"SHOPDESK_MAX_FILE_MB": "300", "SHOPDESK_MAX_REQUEST_MB": "300"}).start()
    try:
        shop = make_shop(server)
        client = ShopClient(shop.url, read_timeout=120)
        client.login(*shop.staff)
        core = CounterCore(client, PrinterSet([CupsBackend()]), tmp, counter="bench")
        core.start()  # the prefetcher runs, as in the app
        print(f"load average {os.getloadavg()[0]:.1f} at the start")
        print(f"print path to CUPS acceptance vs `lp` of the same file (a raw queue into /dev/null), "
              f"{args.rounds} rounds each; 'new' = Print at once (file not fetched yet), 'waited' = the job "
              f"waited >= 2 s in the queue, its file prefetched (the app's case)")
        for size in args.sizes:
            pdf = tmp / f"{size}mb.pdf"
            make_pdf(pdf, size)
            for kind in ("new", "waited"):
                ours, lps = [], []
                parts = {"checks + print-started": [], "of it the printer check": [],
                         "then: rest of download + verify + held send": [], "then: release": []}
                for _ in range(args.rounds):
                    up = shop.upload(pdf.read_bytes(), name=pdf.name)["files"][0]
                    job = client.job_by_code(up["code"])
                    cached = core.cache.path_for(job["sha256"])
                    if kind == "new":
                        cached.unlink(missing_ok=True)  # a new job's file is not in the cache yet
                    else:
                        t_up = time.monotonic()
                        core.waiting_jobs()  # the queue as the watcher would see it: the prefetcher takes it
                        deadline = time.monotonic() + 60
                        while not cached.exists() and time.monotonic() < deadline:
                            time.sleep(0.02)
                        time.sleep(max(0.0, 2.0 - (time.monotonic() - t_up)))
                    t0 = time.perf_counter()
                    core.pipeline.prepare(job, "Bench")  # the printer check alone (CUPS asked about it)
                    parts["of it the printer check"].append((time.perf_counter() - t0) * 1000)
                    t0 = time.perf_counter()
                    mark = {}

                    def progress(stage, words, fraction, mark=mark):
                        now = time.perf_counter()
                        if stage == "downloading" and "dl" not in mark:
                            mark["dl"] = now
                        if stage == "downloading":
                            mark["dl_end"] = now
                        if stage == "sent":
                            mark["t"] = now
                            raise Sent

                    try:
                        core.print_job(job, "Bench", progress=progress)
                    except Sent:
                        pass
                    ours.append((mark["t"] - t0) * 1000)
                    parts["checks + print-started"].append((mark["dl"] - t0) * 1000)
                    parts["then: rest of download + verify + held send"].append((mark["dl_end"] - mark["dl"]) * 1000)
                    parts["then: release"].append((mark["t"] - mark["dl_end"]) * 1000)
                    core.pipeline.inflight.release(job["file_id"])
                    t0 = time.perf_counter()
                    subprocess.run(["lp", "-d", "Bench", str(pdf)], check=True, capture_output=True,
                                   env={**os.environ, **cupsd.env})
                    lps.append((time.perf_counter() - t0) * 1000)
                print(f"  {size:3d} MB {kind:6s}: shopdesk median {pct(ours, 50):8.1f} ms p95 {pct(ours, 95):8.1f} ms"
                      f" | lp median {pct(lps, 50):8.1f} ms p95 {pct(lps, 95):8.1f} ms"
                      f" | ratio {pct(ours, 50) / pct(lps, 50):.2f}× (p95 {pct(ours, 95) / pct(lps, 95):.2f}×)")
                print("         where shopdesk's time goes (medians): "
                      + ", ".join(f"{k} {pct(v, 50):.1f} ms" for k, v in parts.items()))
        core.stop()
        print(f"load average {os.getloadavg()[0]:.1f} after the rounds")
        if args.no_peak:
            return
        big = tmp / "200mb.pdf"
        make_pdf(big, 200)
        code = shop.upload(big.read_bytes(), name=big.name)["files"][0]["code"]
        out = subprocess.run([sys.executable, __file__, "--child", "--url", shop.url, "--user", shop.staff[0],
                              "--password", shop.staff[1], "--code", code, "--printer", "Bench",
                              "--work", str(tmp / "child")], capture_output=True, text=True,
                             env={**os.environ, **cupsd.env}, check=True, cwd=ROOT)
        before, after = (int(x) for x in out.stdout.split())
        print(f"  200 MB PDF: peak RSS of the printing process {after / 1024:.0f} MB "
              f"(before the print {before / 1024:.0f} MB; growth {(after - before) / 1024:.0f} MB for a "
              f"{big.stat().st_size / 2**20:.0f} MB file)")
    finally:
        server.stop()
        cupsd.stop()
        subprocess.run(["rm", "-rf", str(tmp)])


if __name__ == "__main__":
    main()
