"""Benchmark of the sync API's hot paths, each against a baseline measured in the same run.

  .venv/bin/python bench/api.py [--requests 800] [--clients 8] [--postgresql | --database-url URL]
                               [--only queue|longpoll] [--jobs 50 500]

- GET /queue with 50 and 500 waiting jobs (200 with the body, and 304 with If-None-Match): req/s,
  p50, p99 — beside a bare FastAPI `async def` endpoint returning the same bytes (and the same 304),
  served by the same uvicorn in another process. The ratio is the cost of auth, rate limiting,
  the database and serialisation.
- Long-poll wake latency: upload (and a job move) → the held `GET /queue?wait=` answers (median, p95),
  with the waiting request on the same server process and on a second process sharing the database.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench._util import pct  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
LIMITS = {"SHOPDESK_UPLOAD_RATE_PER_MIN": "1000000", "SHOPDESK_LOGIN_RATE_PER_MIN": "1000000",
          "SHOPDESK_ANON_RATE_PER_MIN": "1000000", "SHOPDESK_AUTH_RATE_PER_MIN": "1000000"}

BARE_APP = r'''
import sys, uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import Response
body = open(sys.argv[1], "rb").read(); etag = sys.argv[2]
app = FastAPI()
@app.get("/queue")
async def queue(request: Request):
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers={"ETag": etag})
    return Response(body, media_type="application/json", headers={"ETag": etag})
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[3]), log_level="warning")
'''


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_up(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.1)
    raise TimeoutError(url)


def start_server(data_dir: Path, database_url: str | None) -> tuple[subprocess.Popen, str]:
    port = free_port()
    cmd = [PY, "-m", "shopdesk.server.cli", "serve", "--port", str(port), "--data-dir", str(data_dir)]
    if database_url:
        cmd += ["--database-url", database_url]
    proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **LIMITS}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    wait_up(url + "/healthz")
    return proc, url


def seed(data_dir: Path, database_url: str | None, jobs: int) -> tuple[int, str, str]:
    """A shop with `jobs` waiting one-file orders, made through the server's services."""
    from shopdesk.domain.printsettings import PrintSettings
    from shopdesk.server.config import Settings
    from shopdesk.server.db import Database, migrate
    from shopdesk.server.services.orders import PricedFile, create_order
    from shopdesk.server.services.shops import create_shop, set_open
    from shopdesk.server.services.users import create_user

    settings = Settings.from_env(data_dir=data_dir, database_url=database_url)
    migrate(settings.effective_database_url)
    user = f"bench{jobs}x{os.getpid()}"

    async def go():
        db = Database(settings.effective_database_url)
        try:
            async with db.write() as s:
                shop = await create_shop(s, name=f"Bench {jobs}")
                await create_user(s, username=user, password="bench-password", role="staff", shop_id=shop.id)
                await set_open(s, shop_id=shop.id, is_open=True)
                for i in range(jobs):
                    f = PricedFile(f"document-{i:04d}.pdf", Path("/dev/null"), f"{i:064x}", 12345, "application/pdf",
                                   1 + i % 40, 100 * (1 + i % 40))
                    await create_order(s, shop_id=shop.id, settings=PrintSettings(copies=1 + i % 3),
                                       files=[f], customer_name=f"Customer {i}", phone="+91 90000 00000")
                return shop.id
        finally:
            await db.dispose()

    return asyncio.run(go()), user, "bench-password"


def load(url: str, headers: dict, n: int, clients: int, expect: int) -> tuple[float, list[float]]:
    """n GETs from `clients` keep-alive sessions; returns (req/s, latencies in ms)."""
    per = n // clients
    lat: list[float] = []
    lock = threading.Lock()

    def worker(_):
        mine = []
        with requests.Session() as s:
            for _ in range(per):
                t0 = time.perf_counter()
                r = s.get(url, headers=headers, timeout=30)
                mine.append((time.perf_counter() - t0) * 1000)
                assert r.status_code == expect, (r.status_code, r.text[:200])
        with lock:
            lat.extend(mine)

    t0 = time.perf_counter()
    with ThreadPoolExecutor(clients) as ex:
        list(ex.map(worker, range(clients)))
    return len(lat) / (time.perf_counter() - t0), lat


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc): the server's own cost per request,
    which the load of other programs on a shared machine does not inflate the way wall time is."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measured(pid: int, url: str, headers: dict, n: int, clients: int, expect: int):
    """load() plus the server process's CPU milliseconds per request."""
    c0 = cpu_seconds(pid)
    rps, lat = load(url, headers, n, clients, expect)
    return rps, lat, (cpu_seconds(pid) - c0) * 1000 / len(lat)


def line(name: str, rps: float, lat: list[float], cpu: float, base: tuple[float, float] | None = None) -> str:
    ratio = ""
    if base:
        ratio = f"  {base[0] / rps:5.2f}× the bare endpoint's time per request, {cpu / base[1]:5.2f}× its CPU"
    return (f"  {name:26} {rps:6.0f} req/s  p50 {pct(lat, 50):6.2f} ms  p99 {pct(lat, 99):6.2f} ms  "
            f"CPU {cpu:5.2f} ms/req{ratio}")


def bench_queue(tmp: Path, database_url: str | None, jobs: int, n: int, clients: int) -> None:
    data = tmp / f"q{jobs}"
    shop_id, user, pw = seed(data, database_url, jobs)
    proc, url = start_server(data, database_url)
    bare = None
    try:
        token = requests.post(url + "/login", json={"username": user, "password": pw}, timeout=10).json()["token"]
        auth = {"Authorization": f"Bearer {token}"}
        r = requests.get(url + "/queue", headers=auth, timeout=30)
        body_file = tmp / f"body{jobs}.json"
        body_file.write_bytes(r.content)
        etag = r.headers["etag"]
        port = free_port()
        bare = subprocess.Popen([PY, "-c", BARE_APP, str(body_file), etag, str(port)], cwd=ROOT)
        bare_url = f"http://127.0.0.1:{port}/queue"
        wait_up(bare_url)
        print(f"GET /queue with {jobs} waiting jobs ({len(r.content) / 1024:.0f} KiB), {clients} clients, {n} requests:")
        load(bare_url, {}, clients * 5, clients, 200)  # warm-up
        load(url + "/queue", auth, clients * 5, clients, 200)
        inm = {"If-None-Match": etag}
        for label, headers, status in (("", {}, 200), (", 304", inm, 304)):
            b_rps, b_lat, b_cpu = measured(bare.pid, bare_url, headers, n, clients, status)
            s_rps, s_lat, s_cpu = measured(proc.pid, url + "/queue", {**auth, **headers}, n, clients, status)
            print(line(f"bare FastAPI{label or ', 200'}", b_rps, b_lat, b_cpu))
            print(line(f"shopdesk GET /queue{label or ', 200'}", s_rps, s_lat, s_cpu, (b_rps, b_cpu)))
    finally:
        for p in (proc, bare):
            if p:
                p.send_signal(signal.SIGTERM)
                p.wait(10)


def bench_longpoll(tmp: Path, database_url: str | None, rounds: int) -> None:
    """Two triggers: an upload (the issue's measure; its own request, with the file check in a worker
    process, is most of the time) and a job move (print-started / print-failed: one short transaction),
    each timed from the start of the triggering request to the held poll's answer, and from the
    triggering request's own answer (negative: the poll answered first) — the wake-up itself, without
    the trigger's work, which on a loaded machine is most of the first number."""
    from tests.helpers.pdfs import pdf_bytes

    data = tmp / "lp"
    shop_id, user, pw = seed(data, database_url, 0)
    a, url_a = start_server(data, database_url)
    b, url_b = start_server(data, database_url)
    pdf = pdf_bytes(1)
    try:
        token = requests.post(url_a + "/login", json={"username": user, "password": pw}, timeout=10).json()["token"]
        auth = {"Authorization": f"Bearer {token}"}
        s = requests.Session()

        def upload():
            s.post(url_a + "/upload", data={"shop_id": str(shop_id)},
                   files=[("files[]", ("a.pdf", pdf))], timeout=10).raise_for_status()

        upload()
        job_id = s.get(url_a + "/queue", headers=auth, timeout=10).json()[0]["first_file_id"]
        moves = iter(["print-started", "print-failed"] * rounds * 4)

        def move():
            s.post(f"{url_a}/queue/{job_id}/{next(moves)}", headers=auth, json={}, timeout=10).raise_for_status()

        for trigger_name, trigger in (("upload", upload), ("job move", move)):
            for label, poll_url in (("same process", url_a), ("another process", url_b)):
                delays, after = [], []
                for _ in range(rounds):
                    etag = requests.get(poll_url + "/queue", headers=auth, timeout=10).headers["etag"]
                    got = {}

                    def poll(poll_url=poll_url, etag=etag, got=got):
                        r = requests.get(poll_url + "/queue?wait=10", headers={**auth, "If-None-Match": etag},
                                         timeout=20)
                        got["t"], got["status"] = time.perf_counter(), r.status_code

                    th = threading.Thread(target=poll)
                    th.start()
                    time.sleep(0.15)
                    t0 = time.perf_counter()
                    trigger()
                    t1 = time.perf_counter()
                    th.join(20)
                    assert got.get("status") == 200
                    delays.append((got["t"] - t0) * 1000)
                    after.append((got["t"] - t1) * 1000)
                print(f"  long-poll wake, {trigger_name:8} → answer, {label:15}: median {pct(delays, 50):6.1f} ms  "
                      f"p95 {pct(delays, 95):6.1f} ms  (n={rounds}); after the trigger's own answer: "
                      f"median {pct(after, 50):6.1f} ms  p95 {pct(after, 95):6.1f} ms")
    finally:
        for p in (a, b):
            p.send_signal(signal.SIGTERM)
            p.wait(10)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=800)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=20, help="long-poll samples per case")
    ap.add_argument("--database-url", help="PostgreSQL URL (default: SQLite in a temp dir)")
    ap.add_argument("--postgresql", action="store_true", help="start a throwaway PostgreSQL cluster and use it")
    ap.add_argument("--only", choices=["queue", "longpoll"], help="run one part")
    ap.add_argument("--jobs", type=int, nargs="+", default=[50, 500], help="queue sizes (default 50 500)")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    cluster = None
    if args.postgresql and not args.database_url:
        from tests.helpers.postgres import PostgresCluster

        cluster = PostgresCluster()
        args.database_url = cluster.start()
    try:
        run(args)
    finally:
        if cluster is not None:
            cluster.stop()


def run(args) -> None:
    print(f"database: {'PostgreSQL' if args.database_url else 'SQLite (WAL)'}; machine: {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as tmp:
        if args.only != "longpoll":
            for jobs in args.jobs:
                bench_queue(Path(tmp), args.database_url, jobs, args.requests, args.clients)
        if args.only != "queue":
            print("Long-poll:")
            bench_longpoll(Path(tmp), args.database_url, args.rounds)


if __name__ == "__main__":
    main()
