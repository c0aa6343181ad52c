"""Where a `GET /queue` request's time goes inside the server: the server process runs under cProfile
while clients send N requests (200 or 304), then the cumulative time of the request path's parts is
printed per request (token check, rate limit, revision read, queue read + rendering, the body guard,
FastAPI's dependency solving, the whole app).

  .venv/bin/python bench/queue_profile.py [--requests 2000] [--status 304|200] [--postgresql]

cProfile slows everything down about alike; read the shares, not the absolute milliseconds."""

from __future__ import annotations

import argparse
import os
import pstats
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.api import LIMITS, PY, ROOT, free_port, load, seed, wait_up  # noqa: E402

# (label, file suffix, function name): summed cumulative time of matching functions
PARTS = [
    ("whole ASGI app (middleware in)", "applications.py", "__call__"),
    ("body guard (RequestGuard)", "guards.py", "__call__"),
    ("FastAPI dependencies", "dependencies/utils.py", "solve_dependencies"),
    ("token check (deps._principal)", "deps.py", "_principal"),
    ("rate limit (ratelimit.py: hit)", "ratelimit.py", "hit"),
    ("the route (get_queue)", "queue.py", "get_queue"),
    ("revision read (job_service.queue_rev)", "jobs.py", "queue_rev"),
    ("queue read (waiting_orders)", "jobs.py", "waiting_orders"),
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--status", type=int, choices=[200, 304], default=304)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--postgresql", action="store_true")
    args = ap.parse_args()
    cluster = url_db = None
    if args.postgresql:
        from tests.helpers.postgres import PostgresCluster

        cluster = PostgresCluster()
        url_db = cluster.start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            data = Path(tmp) / "d"
            _, user, pw = seed(data, url_db, 50)
            prof = Path(tmp) / "server.prof"
            port = free_port()
            cmd = [PY, "-m", "cProfile", "-o", str(prof), "-m", "shopdesk.server.cli", "serve", "--port", str(port),
                   "--data-dir", str(data)] + (["--database-url", url_db] if url_db else [])
            proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **LIMITS}, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
            url = f"http://127.0.0.1:{port}"
            wait_up(url + "/healthz")
            token = requests.post(url + "/login", json={"username": user, "password": pw}, timeout=10).json()["token"]
            auth = {"Authorization": f"Bearer {token}"}
            etag = requests.get(url + "/queue", headers=auth, timeout=10).headers["etag"]
            headers = {**auth, "If-None-Match": etag} if args.status == 304 else auth
            load(url + "/queue", headers, args.requests, args.clients, args.status)
            proc.send_signal(signal.SIGINT)
            proc.wait(30)
            stats = pstats.Stats(str(prof))
            n = args.requests
            print(f"GET /queue → {args.status}, {n} requests, {'PostgreSQL' if url_db else 'SQLite'}; "
                  "cumulative ms per request under cProfile:")
            for label, suffix, name in PARTS:
                total = 0.0
                for (file, _line, func), (_cc, _nc, _tt, ct, _callers) in stats.stats.items():
                    if file.endswith(suffix) and func == name:
                        total += ct
                if total:
                    print(f"  {label:40} {total * 1000 / n:7.3f} ms")
    finally:
        if cluster is not None:
            cluster.stop()


if __name__ == "__main__":
    main()
