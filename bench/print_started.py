"""What one `POST /queue/{id}/print-started` costs on the server, on SQLite and PostgreSQL, beside an
authenticated request that touches no database (`GET /queue` answered 304 from memory) from the same
server in the same run. Each round: print-started (with an Idempotency-Key, as the counter sends it),
then print-failed to put the job back (not timed as print-started; reported on its own line).

  .venv/bin/python bench/print_started.py [--rounds 200] [--sqlite-only | --postgresql-only] [--before DIR]

`--before DIR`: also runs the server found in DIR (e.g. `git archive main | tar -x -C DIR`: the code
before this change), on the same database engine, in the same run, interleaved with this one. Starts its
own server(s) and PostgreSQL; cleans up."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._util import pct  # noqa: E402


def measure(server, rounds: int, label: str) -> None:
    import requests

    from tests.helpers.server import make_shop

    shop = make_shop(server)
    code = shop.upload(_pdf(), name="bench.pdf")["files"][0]["code"]
    s = requests.Session()
    s.headers["Authorization"] = f"Bearer {shop.token()}"
    job = s.get(f"{shop.url}/file/{code}", timeout=10).json()
    fid = job["file_id"]
    r = s.get(f"{shop.url}/queue", timeout=10)
    etag = r.headers["ETag"]
    base, started, failed = [], [], []
    for i in range(rounds + 10):
        t0 = time.perf_counter()
        r = s.get(f"{shop.url}/queue", headers={"If-None-Match": etag}, timeout=10)
        t1 = time.perf_counter()
        if r.status_code != 304:
            etag = r.headers["ETag"]
        r = s.post(f"{shop.url}/queue/{fid}/print-started", json={"printer": "Bench", "counter": "bench"},
                   headers={"Idempotency-Key": str(uuid.uuid4())}, timeout=10)
        t2 = time.perf_counter()
        assert r.status_code == 200, r.text
        r = s.post(f"{shop.url}/queue/{fid}/print-failed", json={"reason": "bench", "counter": "bench"},
                   headers={"Idempotency-Key": str(uuid.uuid4())}, timeout=10)
        t3 = time.perf_counter()
        assert r.status_code == 200, r.text
        if i >= 10:  # warm-up rounds are left out
            base.append((t1 - t0) * 1000)
            started.append((t2 - t1) * 1000)
            failed.append((t3 - t2) * 1000)
    print(f"  {label:17s} GET /queue 304 (no database) median {pct(base, 50):6.2f} ms p95 {pct(base, 95):6.2f} | "
          f"print-started median {pct(started, 50):6.2f} ms p95 {pct(started, 95):6.2f} "
          f"({pct(started, 50) / pct(base, 50):.2f}× the 304) | print-failed median {pct(failed, 50):6.2f} ms")


def _pdf() -> bytes:
    from tests.helpers.pdfs import pdf_bytes

    return pdf_bytes(1)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=200)
    ap.add_argument("--sqlite-only", action="store_true")
    ap.add_argument("--postgresql-only", action="store_true")
    ap.add_argument("--before", metavar="DIR")
    args = ap.parse_args()

    import tests.helpers.server as helpers
    from tests.helpers.postgres import PostgresCluster

    tmp = Path(tempfile.mkdtemp(prefix="bench-started-"))
    print(f"print-started round trip, {args.rounds} rounds, one client on loopback; load average "
          f"{os.getloadavg()[0]:.1f} at the start")
    trees = [("now", ROOT)] + ([("before", Path(args.before).resolve())] if args.before else [])

    def run(db: str, url_of) -> None:
        for name, root in trees:
            helpers.ROOT = root  # the server process runs `-m shopdesk.server.cli` from this tree
            server = helpers.ServerProcess(tmp / f"{db}-{name}", database_url=url_of(name)).start()
            try:
                measure(server, args.rounds, f"{db} {name}")
            finally:
                server.stop()
                helpers.ROOT = ROOT

    pg = None
    try:
        if not args.postgresql_only:
            run("SQLite", lambda name: None)
        if not args.sqlite_only:
            pg = PostgresCluster()
            pg.start()
            run("PostgreSQL", lambda name: pg.create_database(f"bench_{name}"))
        print(f"  load average at the end {os.getloadavg()[0]:.1f}")
    finally:
        if pg is not None:
            pg.stop()
        subprocess.run(["rm", "-rf", str(tmp)])


if __name__ == "__main__":
    main()
