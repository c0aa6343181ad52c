"""What one `POST /queue/{id}/print-started` costs on the server, on SQLite and PostgreSQL, beside an
authenticated request that touches no database (`GET /queue` answered 304 from memory) from the same
server in the same run. Each round: print-started (with an Idempotency-Key, as the counter sends it),
then print-failed to put the job back (not timed as print-started; reported on its own line).

  .venv/bin/python bench/print_started.py [--rounds 200] [--sqlite-only | --postgresql-only] [--before DIR]

`--before DIR`: also runs the server found in DIR (e.g. `git archive main | tar -x -C DIR`: the code
before this change), on the same database engine, in the same run, interleaved with this one (25 rounds
at a time). The server's CPU per request comes from /proc (all its threads; PostgreSQL's own processes
not counted) and is the steadier number on a loaded machine. Starts its own server(s) and PostgreSQL;
cleans up."""

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


class Target:
    """One server with a shop and a waiting job; `run(n)` adds n 304s and n print-started/print-failed
    pairs to its samples (wall time per request, the server process's CPU per request)."""

    def __init__(self, server, label: str):
        import requests

        from tests.helpers.server import make_shop

        self.server, self.label = server, label
        shop = make_shop(server)
        self.url = shop.url
        code = shop.upload(_pdf(), name="bench.pdf")["files"][0]["code"]
        self.s = requests.Session()
        self.s.headers["Authorization"] = f"Bearer {shop.token()}"
        self.fid = self.s.get(f"{shop.url}/file/{code}", timeout=10).json()["file_id"]
        self.base, self.started, self.failed = [], [], []
        self.cpu_base = self.cpu_pair = 0.0
        self.run(5, keep=False)  # warm-up

    def run(self, n: int, keep: bool = True) -> None:
        s, url = self.s, self.url
        base, started, failed = [], [], []
        self.etag = s.get(f"{url}/queue", timeout=10).headers["ETag"]  # the moves below change it
        cpu0 = _cpu(self.server)
        for _ in range(n):
            t0 = time.perf_counter()
            r = s.get(f"{url}/queue", headers={"If-None-Match": self.etag}, timeout=10)
            base.append((time.perf_counter() - t0) * 1000)
            assert r.status_code == 304, r.status_code
        cpu1 = _cpu(self.server)
        for _ in range(n):
            t1 = time.perf_counter()
            r = s.post(f"{url}/queue/{self.fid}/print-started", json={"printer": "Bench", "counter": "bench"},
                       headers={"Idempotency-Key": str(uuid.uuid4())}, timeout=10)
            t2 = time.perf_counter()
            assert r.status_code == 200, r.text
            r = s.post(f"{url}/queue/{self.fid}/print-failed", json={"reason": "bench", "counter": "bench"},
                       headers={"Idempotency-Key": str(uuid.uuid4())}, timeout=10)
            t3 = time.perf_counter()
            assert r.status_code == 200, r.text
            started.append((t2 - t1) * 1000)
            failed.append((t3 - t2) * 1000)
        cpu2 = _cpu(self.server)
        if keep:
            self.base += base
            self.started += started
            self.failed += failed
            self.cpu_base += cpu1 - cpu0
            self.cpu_pair += cpu2 - cpu1

    def report(self) -> None:
        n = len(self.base)
        base, started = pct(self.base, 50), pct(self.started, 50)
        print(f"  {self.label:17s} 304 (no database) median {base:5.2f} ms, CPU {self.cpu_base / n:4.2f} ms | "
              f"print-started median {started:6.2f} ms p95 {pct(self.started, 95):6.2f} ({started / base:.2f}× the "
              f"304) | print-failed median {pct(self.failed, 50):6.2f} ms | server CPU per print-started + "
              f"print-failed {self.cpu_pair / n:5.2f} ms ({self.cpu_pair / self.cpu_base:.1f}× a 304's)")


def _cpu(server) -> float:
    """The server process's CPU time so far (all its threads), in ms."""
    fields = Path(f"/proc/{server.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


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
        targets, servers = [], []
        try:
            for name, root in trees:
                helpers.ROOT = root  # the server process runs `-m shopdesk.server.cli` from this tree
                try:
                    servers.append(helpers.ServerProcess(tmp / f"{db}-{name}", database_url=url_of(name)).start())
                finally:
                    helpers.ROOT = ROOT
                targets.append(Target(servers[-1], f"{db} {name}"))
            for _ in range(args.rounds // 25):  # interleaved: the machine's load moves under both alike
                for t in targets:
                    t.run(25)
            for t in targets:
                t.report()
        finally:
            for server in servers:
                server.stop()

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
