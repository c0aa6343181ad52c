"""Bundle size and start time of the frozen app (installers/shopdesk.spec), against the same app run
from source in the same run.

    .venv/bin/python bench/bundle.py [--bundle DIR] [--baseline DIR] [--runs N]

Builds the bundle into a temp dir (timed) unless --bundle names an existing one (dist/shopdesk). Prints
the build time, the bundle's size with its largest parts, and for each start case the median and p95
wall time, frozen and from source, and their ratio:
  --version           process start and the command line (no Qt, no server)
  --self-test         every check: a window offscreen, QR, embedded server, keyring, CUPS
  --demo --screenshot the real app: embedded server, demo shop, window, queue loaded, screenshot saved

Last run (2 cores shared with other work, load average 4-6, Debian 12, PySide6 6.11, PyInstaller 6.22; --runs 4,
screenshot 2), this spec against main's spec before #16's bundle work (--baseline, built the same day):
  build 138 s (--clean); bundle 405 MB in 481 files (baseline 496 MB in 568) — PySide6 100 MB,
  opencv_python_headless.libs 81 MB, cv2 70 MB, numpy.libs 27 MB, cryptography 14 MB, numpy 13 MB
  start case            frozen median / p95   baseline median / p95   source median / p95   frozen/source
  --version               0.40 s / 0.46 s        0.92 s / 1.07 s          0.23 s / 0.25 s        1.79x
  --self-test             7.08 s / 7.28 s        9.57 s / 11.26 s         6.34 s / 9.23 s        1.12x
  --demo --screenshot    14.00 s / 19.98 s      13.49 s / 19.27 s         9.95 s / 12.21 s       1.41x
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import pct  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def build(out: Path) -> tuple[Path, float]:
    t0 = time.monotonic()
    subprocess.run([sys.executable, "-m", "PyInstaller", "--noconfirm", "--clean", "--log-level", "WARN",
                    "--distpath", str(out / "dist"), "--workpath", str(out / "work"),
                    str(ROOT / "installers" / "shopdesk.spec")], check=True, cwd=out)
    return out / "dist" / "shopdesk", time.monotonic() - t0


def tree_size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def timed(cmds: dict[str, list[str]], env: dict, runs: int) -> dict[str, list[float]]:
    """Wall times of each command, the commands taking turns run by run (so a change in the machine's
    load hits all of them alike)."""
    times: dict[str, list[float]] = {label: [] for label in cmds}
    for _ in range(runs):
        for label, cmd in cmds.items():
            with tempfile.TemporaryDirectory(prefix="shopdesk-bench-") as home:
                run_env = {**env, "HOME": home, "SHOPDESK_LOG_DIR": f"{home}/logs", "SHOPDESK_CONFIG_DIR": f"{home}/cfg",
                           "SHOPDESK_APP_DATA_DIR": f"{home}/data"}
                args = [a.replace("{home}", home) for a in cmd]
                t0 = time.perf_counter()
                proc = subprocess.run(args, env=run_env, capture_output=True, text=True, timeout=300)
                times[label].append(time.perf_counter() - t0)
                if proc.returncode != 0:
                    raise SystemExit(f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return times


def describe(label: str, bundle: Path) -> None:
    total = tree_size(bundle)
    files = sum(1 for p in bundle.rglob("*") if p.is_file())
    print(f"{label} size: {total / 2**20:.0f} MB in {files} files")
    parts = sorted(((tree_size(p), p.name) for p in (bundle / "_internal").iterdir() if not p.is_symlink()),
                   reverse=True)[:8]
    print("  largest: " + ", ".join(f"{name} {size / 2**20:.0f} MB" for size, name in parts))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bundle", type=Path, help="an existing one-folder bundle (skip the build)")
    ap.add_argument("--baseline", type=Path,
                    help="another one-folder bundle (e.g. built from main's spec) measured beside it in the same run")
    ap.add_argument("--runs", type=int, default=5, help="runs per start case (the screenshot case: half)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="shopdesk-bundle-bench-"))
    try:
        if args.bundle:
            bundle, build_s = args.bundle.resolve(), None
        else:
            bundle, build_s = build(tmp)
        if build_s is not None:
            print(f"build (pyinstaller --clean, {os.cpu_count()} cores): {build_s:.0f} s")
        describe("bundle", bundle)
        programs = {"frozen": [str(bundle / "shopdesk")]}
        if args.baseline:
            describe("baseline", args.baseline.resolve())
            programs["baseline"] = [str(args.baseline.resolve() / "shopdesk")]
        programs["source"] = [str(Path(sys.executable).with_name("shopdesk"))]
        env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
        cases = [("--version", ["--version"], args.runs),
                 ("--self-test", ["--self-test"], args.runs),
                 ("--demo --screenshot", ["--demo", "--screenshot", "{home}/shot.png"], max(2, args.runs // 2))]
        print(f"{'start case':<22}" + "".join(f"{name + ' median':>17}{'p95':>8}" for name in programs)
              + f"{'frozen/source':>15}")
        for label, extra, runs in cases:
            t = timed({name: [*cmd, *extra] for name, cmd in programs.items()}, env, runs)
            med = {name: statistics.median(v) for name, v in t.items()}
            print(f"{label:<22}" + "".join(f"{med[name]:>15.2f} s{pct(t[name], 95):>6.2f} s" for name in programs)
                  + f"{med['frozen'] / med['source']:>14.2f}x")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
