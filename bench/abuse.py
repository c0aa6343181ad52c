"""Logins and the queue while the server is attacked with crafted files, beside the same with no attack,
in one run.

  .venv/bin/python bench/abuse.py [--attackers 45] [--seconds 20] [--file bomb|pages|png] [--postgresql | --database-url URL]

A real `shopdesk-server serve` on loopback with a shop of 20 waiting jobs. Two measuring clients run
throughout: one logs in (argon2 verify + token) every 0.5 s, one reads `GET /queue` (full body) every
0.1 s. Phase 1 is quiet; in phase 2, `--attackers` clients send a crafted file to `POST /calculate-cost`
back to back (default: the 18 KB page-tree bomb whose tree repeats one child 1000×1000×1000). The rate
limits are lifted, as if the attackers came from as many addresses. Target: p95 under attack ≤ 2× quiet.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench._util import pct  # noqa: E402
from tests.helpers.hostile import many_pages, page_tree_bomb, png_claiming  # noqa: E402
from tests.helpers.pdfs import pdf_bytes  # noqa: E402
from tests.helpers.server import ServerProcess, make_shop  # noqa: E402

LIMITS = {"SHOPDESK_UPLOAD_RATE_PER_MIN": "1000000", "SHOPDESK_LOGIN_RATE_PER_MIN": "1000000",
          "SHOPDESK_ANON_RATE_PER_MIN": "1000000", "SHOPDESK_AUTH_RATE_PER_MIN": "1000000"}
FILES = {"bomb": ("bomb.pdf", page_tree_bomb), "pages": ("pages.pdf", lambda: many_pages(98_901)),
         "png": ("bomb.png", png_claiming)}


def measure(stop: threading.Event, fn, every: float, out: list[float], errors: Counter) -> None:
    while not stop.is_set():
        started = time.perf_counter()
        try:
            r = fn()
            if r.status_code != 200:
                errors[r.status_code] += 1
        except requests.RequestException as exc:
            errors[type(exc).__name__] += 1
        out.append((time.perf_counter() - started) * 1000)
        stop.wait(max(0.0, every - (time.perf_counter() - started)))


def attack(stop: threading.Event, url: str, shop_id: int, name: str, data: bytes, statuses: Counter,
           times: list[float]) -> None:
    """Sends the file back to back on one keep-alive connection; the body is built once (an attacker's
    tool spends nothing per request, and this client shares the machine's cores with the server)."""
    import http.client
    from urllib.parse import urlsplit

    b = "abuseBoundary7"
    body = (f"--{b}\r\nContent-Disposition: form-data; name=\"shop_id\"\r\n\r\n{shop_id}\r\n"
            f"--{b}\r\nContent-Disposition: form-data; name=\"files[]\"; filename=\"{name}\"\r\n"
            f"Content-Type: application/pdf\r\n\r\n").encode() + data + f"\r\n--{b}--\r\n".encode()
    headers = {"Content-Type": f"multipart/form-data; boundary={b}", "Content-Length": str(len(body))}
    host = urlsplit(url)
    conn = http.client.HTTPConnection(host.hostname, host.port, timeout=120)
    while not stop.is_set():
        started = time.perf_counter()
        try:
            conn.request("POST", "/calculate-cost", body=body, headers=headers)
            r = conn.getresponse()
            r.read()
            statuses[r.status] += 1
        except (OSError, http.client.HTTPException) as exc:
            statuses[type(exc).__name__] += 1
            conn.close()
            conn = http.client.HTTPConnection(host.hostname, host.port, timeout=120)
        times.append(time.perf_counter() - started)
    conn.close()


def attackers_process(url: str, shop_id: int, name: str, data: bytes, count: int, seconds: float, queue) -> None:
    """The attack, in a process of its own: 45 client threads in the measuring process would make the
    measuring clients wait for its GIL, and the bench would measure itself."""
    stop = threading.Event()
    statuses: Counter = Counter()
    times: list[float] = []
    threads = [threading.Thread(target=attack, args=(stop, url, shop_id, name, data, statuses, times))
               for _ in range(count)]
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join(150)
    queue.put((dict(statuses), times))


def phase(server: ServerProcess, shop, seconds: float, attackers: int, file: tuple[str, bytes]) -> dict:
    stop = threading.Event()
    logins: list[float] = []
    queues: list[float] = []
    errors: Counter = Counter()
    user, password = shop.staff
    token = shop.token()
    login_session, queue_session = requests.Session(), requests.Session()
    threads = [
        threading.Thread(target=measure, args=(stop, lambda: login_session.post(
            server.url + "/login", json={"username": user, "password": password}, timeout=120), 0.5, logins, errors)),
        threading.Thread(target=measure, args=(stop, lambda: queue_session.get(
            server.url + "/queue", headers={"Authorization": f"Bearer {token}"}, timeout=120), 0.1, queues, errors)),
    ]
    proc = results = None
    if attackers:
        results = multiprocessing.Queue()
        proc = multiprocessing.Process(target=attackers_process, args=(
            server.url, shop.shop_id, file[0], file[1], attackers, seconds + 1, results))
        proc.start()
        time.sleep(1)  # the attack is under way before measuring starts
    cpu_before = cpu_split(server.proc.pid)
    for t in threads:
        t.start()
    time.sleep(seconds)
    cpu_after = cpu_split(server.proc.pid)
    stop.set()
    for t in threads:
        t.join(150)
    statuses, attack_times = ({}, [])
    if proc is not None:
        statuses, attack_times = results.get(timeout=200)
        proc.join(10)
    return {"login": logins, "queue": queues, "errors": errors, "statuses": Counter(statuses), "attack": attack_times,
            "cpu": (cpu_after[0] - cpu_before[0], max(0.0, cpu_after[1] - cpu_before[1]))}


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _descendants(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        for task in Path(f"/proc/{p}/task").glob("*"):
            try:
                kids = [int(k) for k in (task / "children").read_text().split()]
            except OSError:
                kids = []
            out += kids
            todo += kids
    return out


def cpu_split(server_pid: int) -> tuple[float, float]:
    """CPU seconds so far of the server process, and of its file-check workers (live ones only)."""
    return _cpu_seconds(server_pid), sum(_cpu_seconds(p) for p in _descendants(server_pid))


def line(label: str, quiet: list[float], loud: list[float]) -> str:
    q95, l95 = pct(quiet, 95), pct(loud, 95)
    return (f"{label:14} quiet: median {statistics.median(quiet):7.1f} ms  p95 {q95:7.1f} ms  (n={len(quiet)})   "
            f"attacked: median {statistics.median(loud):7.1f} ms  p95 {l95:7.1f} ms  (n={len(loud)})   "
            f"p95 ratio {l95 / q95:4.2f}×")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--attackers", type=int, default=45)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--file", choices=sorted(FILES), default="bomb")
    ap.add_argument("--database-url", help="a PostgreSQL URL to use")
    ap.add_argument("--postgresql", action="store_true", help="start a throwaway PostgreSQL cluster and use it")
    args = ap.parse_args()
    cluster = None
    if args.postgresql and not args.database_url:
        from tests.helpers.postgres import PostgresCluster

        cluster = PostgresCluster()
        cluster.start()
        args.database_url = cluster.create_database("abuse")
    name, make = FILES[args.file]
    data = make()
    with tempfile.TemporaryDirectory(prefix="shopdesk-abuse-") as tmp:
        server = ServerProcess(Path(tmp) / "server", database_url=args.database_url, env=LIMITS).start()
        try:
            shop = make_shop(server)
            for i in range(20):
                shop.upload(pdf_bytes(1 + i % 4), name=f"job{i}.pdf")
            phase(server, shop, 2, 0, (name, data))  # warm-up: connections, caches, the file checkers
            quiet = phase(server, shop, args.seconds, 0, (name, data))
            loud = phase(server, shop, args.seconds, args.attackers, (name, data))
        finally:
            server.stop()
            if cluster is not None:
                cluster.stop()
    print(f"bench/abuse.py: {args.attackers} attackers sending {name} ({len(data) / 1024:.0f} KB) to "
          f"/calculate-cost for {args.seconds:.0f} s, beside {args.seconds:.0f} s with no attack; "
          f"{'PostgreSQL' if args.database_url else 'SQLite'}")
    print(line("POST /login", quiet["login"], loud["login"]))
    print(line("GET /queue", quiet["queue"], loud["queue"]))
    times = loud["attack"]
    if times:
        print(f"attack requests: {sum(loud['statuses'].values())} answered {dict(loud['statuses'])}, "
              f"median {statistics.median(times) * 1000:.0f} ms, p95 {pct(times, 95) * 1000:.0f} ms each")
    for label, ph in (("quiet", quiet), ("attacked", loud)):
        print(f"CPU while {label}: server process {ph['cpu'][0] / args.seconds:.2f} cores, "
              f"file-check workers (nice 19) {ph['cpu'][1] / args.seconds:.2f} cores")
    errs = quiet["errors"] + loud["errors"]
    if errs:
        print(f"measuring requests that failed: {dict(errs)}")
    worst = max(pct(loud["login"], 95) / pct(quiet["login"], 95), pct(loud["queue"], 95) / pct(quiet["queue"], 95))
    print(f"target p95 under attack ≤ 2× quiet: {'met' if worst <= 2 else 'NOT met'} (worst {worst:.2f}×)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
