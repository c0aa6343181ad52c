"""Benchmark of the built-in server's start, in CPU time (less disturbed by other programs on the machine
than wall time): the demo shop's server process from its launch until it answers, then the first login
and GET /queue — the part of a demo start (bench/start.py) that waits on the server. With --before DIR
the code in DIR (e.g. `git archive main | tar -x -C DIR`) runs the same, alternating, in the same run.

  .venv/bin/python bench/server_start.py [--rounds 5] [--before DIR]

CPU of the server's process tree from /proc (user + system, its children included once they ended)."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._util import pct  # noqa: E402

PROBE = r"""
import os, sys, time
from pathlib import Path

def cpu(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])) / tick  # utime stime cutime cstime

if __name__ == "__main__":
    from shopdesk.client.api import ShopClient
    from shopdesk.server.config import Settings
    from shopdesk.server.demo import DEMO_USERS
    from shopdesk.server.embedded import EmbeddedServer

    t = time.perf_counter()
    server = EmbeddedServer(Settings.from_env(data_dir=Path(sys.argv[1])), demo=True)
    server.start(timeout=180)
    ready_wall, ready_cpu = time.perf_counter() - t, cpu(server.pid)
    client = ShopClient(server.url)
    client.login(*DEMO_USERS[0][:2])
    client.queue()
    served_wall, served_cpu = time.perf_counter() - t, cpu(server.pid)
    print(f"{ready_cpu:.3f} {served_cpu:.3f} {ready_wall:.3f} {served_wall:.3f}")
    server.stop()
"""


def once(folder: Path, pythonpath: str | None, cwd: Path) -> list[float]:
    env = {**os.environ, "SHOPDESK_CACHE_DIR": str(folder.parent / "cache")}
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    p = subprocess.run([sys.executable, "-c", PROBE, str(folder)], env=env, cwd=cwd, capture_output=True,
                       text=True, timeout=300)
    if p.returncode != 0:
        raise SystemExit(p.stderr[-3000:])
    return [float(x) for x in p.stdout.split()]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--before", metavar="DIR")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-server-start-"))
    trees = {"now": (None, ROOT)}
    if args.before:
        trees["before"] = (str(Path(args.before).resolve()), tmp)
    for name, (pp, cwd) in trees.items():  # each tree seeds its own demo folder once (not measured)
        once(tmp / f"demo-{name}", pp, cwd)
    runs: dict[str, list[list[float]]] = {name: [] for name in trees}
    for _ in range(args.rounds):
        for name, (pp, cwd) in trees.items():
            runs[name].append(once(tmp / f"demo-{name}", pp, cwd))
    print(f"the demo's built-in server, later starts, {args.rounds} rounds (load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs); medians:")
    for name, rs in runs.items():
        cols = list(zip(*rs, strict=True))
        print(f"  {name:7s} CPU until it answers {pct(cols[0], 50):.2f} s (min {min(cols[0]):.2f}), with the login and "
              f"the first GET /queue {pct(cols[1], 50):.2f} s; wall {pct(cols[2], 50):.2f} s / {pct(cols[3], 50):.2f} s")
    subprocess.run(["rm", "-rf", str(tmp)])


if __name__ == "__main__":
    main()
