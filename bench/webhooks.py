"""Benchmark: what signed webhooks cost the API, and that a bad receiver does not slow it.

  .venv/bin/python bench/webhooks.py [--jobs 150] [--database-url URL]

One server process; three shops on it, measured in the same run:
- baseline: a shop with no webhook,
- good: a shop whose webhook (every event) goes to a receiver on loopback answering 200 at once,
- hanging: a shop whose webhook goes to a receiver that holds every request past the sender's timeout.
For each, `--jobs` uploads then print-started + confirm per job; the latency of the moves (p50, p95, p99)
and, for the good receiver, how long after the move its event arrived (p50, p95)."""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench._util import pct  # noqa: E402
from tests.helpers.pdfs import pdf_bytes  # noqa: E402
from tests.helpers.receiver import Receiver  # noqa: E402
from tests.helpers.server import ServerProcess, make_shop  # noqa: E402

EVENTS = ["job.uploaded", "job.printing", "job.printed", "job.failed", "job.cancelled", "job.withdrawn",
          "shop.opened", "shop.closed"]


def register(shop, receiver: Receiver | None) -> None:
    if receiver is not None:
        r = shop.post("/shop/webhooks", who="owner", json={"url": receiver.url, "events": EVENTS})
        assert r.status_code == 201, r.text


def one_job(shop, session, pdf, res: dict) -> None:
    f = shop.upload(pdf)["files"][0]
    for path in ("print-started", "confirm"):
        t0 = time.perf_counter()
        r = session.post(f"{shop.url}/queue/{f['file_id']}/{path}", json={"counter": "Bench"}, timeout=30)
        res["moves"].append((time.perf_counter() - t0) * 1000)
        assert r.status_code == 200, r.text
    res["sent_at"][f["code"]] = time.time()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=150)
    ap.add_argument("--database-url", default=None)
    args = ap.parse_args()
    good, hanging = Receiver().start(), Receiver().start()
    arrived: dict[str, float] = {}
    lock = threading.Lock()

    def stamp(n):
        with lock:
            rec = good.requests[n]["json"]
            if rec["type"] == "job.printed":
                arrived[rec["data"]["code"]] = time.time()
        return 200, {}, 0.0

    good.answer = stamp
    hanging.answer = lambda n: (200, {}, 3.0)  # longer than the sender's 1 s timeout in this run
    with tempfile.TemporaryDirectory() as tmp:
        server = ServerProcess(Path(tmp), database_url=args.database_url,
                               env={"SHOPDESK_WEBHOOK_TIMEOUT_SECONDS": "1"}).start()
        try:
            # the three shops take turns, job by job, so the machine's other load falls on each alike
            runs = []
            for name, receiver in (("baseline (no webhook)", None), ("webhook, receiver answers 200", good),
                                   ("webhook, receiver hangs", hanging)):
                shop = make_shop(server)
                register(shop, receiver)
                session = requests.Session()
                session.headers["Authorization"] = f"Bearer {shop.token()}"
                runs.append((name, shop, session))
            results = {name: {"moves": [], "sent_at": {}} for name, _, _ in runs}
            pdf = pdf_bytes(1)
            for _ in range(args.jobs):
                for name, shop, session in runs:
                    one_job(shop, session, pdf, results[name])
            deadline = time.time() + 30
            codes = set(results["webhook, receiver answers 200"]["sent_at"])
            while time.time() < deadline and not codes <= set(arrived):
                time.sleep(0.1)
        finally:
            server.stop()
            good.stop()
            hanging.release.set()
            hanging.stop()
    db = "PostgreSQL" if args.database_url else "SQLite"
    print(f"# webhooks bench: {args.jobs} jobs per shop, print-started + confirm each, {db}, one server process, shops in turn")
    print(f"{'shop':34} {'moves':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
    for name, res in results.items():
        m = res["moves"]
        print(f"{name:34} {len(m):6d} {pct(m, 50):8.2f} {pct(m, 95):8.2f} {pct(m, 99):8.2f}")
    sent = results["webhook, receiver answers 200"]["sent_at"]
    lags = [(arrived[c] - sent[c]) * 1000 for c in sent if c in arrived]
    print(f"job.printed delivered: {len(lags)}/{len(sent)}; move → receiver p50 {pct(lags, 50):.0f} ms, "
          f"p95 {pct(lags, 95):.0f} ms (sender polls every 0.2 s in this run; 1 s by default)")
    print(f"hanging receiver: {len(hanging.requests)} requests reached it while the moves above were made")


if __name__ == "__main__":
    main()
