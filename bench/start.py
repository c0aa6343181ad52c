"""Benchmark of start-up: launch → window shown → queue in it, for `shopdesk --demo --screenshot` (the
embedded demo shop: a first start that creates it, then starts that reuse it) and for a counter of a
configured shop server, beside a bare PySide6 window with a QTableView in the same run (the baseline:
what any Qt window costs on this machine). Also what the app process has imported by the time its window
is shown (modules it should not need: camera, PDF rendering, the server).

  .venv/bin/python bench/start.py [--rounds 3]

Offscreen Qt; every run in fresh processes with their own data folders."""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._util import pct  # noqa: E402

BARE = """
import sys, time
from PySide6.QtCore import QTimer
from PySide6.QtGui import QStandardItemModel, QStandardItem
from PySide6.QtWidgets import QApplication, QMainWindow, QTableView
launched = float(sys.argv[1])
app = QApplication(sys.argv[:1])
w = QMainWindow()
t = QTableView()
m = QStandardItemModel(0, 12)
for r in range(7):
    m.appendRow([QStandardItem(f"cell {r} {c}") for c in range(12)])
t.setModel(m)
w.setCentralWidget(t)
w.resize(1366, 768)
w.show()
def done():
    print(f"startup: window shown {1000 * (time.time() - launched):.0f} ms", file=sys.stderr, flush=True)
    app.quit()
QTimer.singleShot(0, done)
app.exec()
"""

SHOPDESK = str(Path(sys.executable).parent / "shopdesk")
HEAVY = ("cv2", "numpy", "pypdfium2", "fitz", "PIL", "pypdf", "fpdf", "qrcode", "zxingcpp", "sqlalchemy",
         "fastapi", "uvicorn", "alembic")


def env(tmp: Path) -> dict:
    return {**os.environ, "QT_QPA_PLATFORM": "offscreen", "QT_LOGGING_RULES": "qt.*=false",
            "SHOPDESK_CONFIG_DIR": str(tmp / "config"), "SHOPDESK_APP_DATA_DIR": str(tmp / "data"),
            "SHOPDESK_LOG_DIR": str(tmp / "log"), "XDG_DATA_HOME": str(tmp / "xdg"),
            "SHOPDESK_CACHE_DIR": str(tmp / "cache"),
            "PYTHON_KEYRING_BACKEND": "keyrings.alt.file.PlaintextKeyring"}


def timed(cmd: list[str], e: dict, old: bool = False, cwd: Path = ROOT) -> dict:
    launched = time.time()
    p = subprocess.run(cmd, env={**e, "SHOPDESK_STARTUP_CLOCK": repr(launched)}, capture_output=True, text=True,
                       cwd=cwd, timeout=180)
    total = (time.time() - launched) * 1000
    out = {"exit": total}
    for line in p.stderr.splitlines():
        m = re.match(r"startup: (window shown|queue shown)[^0-9]*(?:\(\d+ rows\) )?(\d+) ms", line)
        if m:
            out[m.group(1)] = float(m.group(2))
    if p.returncode != 0 or ("window shown" not in out and not old):
        raise SystemExit(f"{cmd} failed ({p.returncode}):\n{p.stderr[-3000:]}")
    return out


def imported_before_window(e: dict) -> list[str]:
    code = ("import sys; import shopdesk.ui.app as a, shopdesk.ui.mainwindow, shopdesk.ui.service; "
            f"print(' '.join(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r}))), "
            "' '.join(sorted(m for m in sys.modules if m.startswith('shopdesk.server'))))")
    p = subprocess.run([sys.executable, "-c", code], env=e, capture_output=True, text=True, cwd=ROOT, check=True)
    return p.stdout.split()


def row(name: str, runs: list[dict], base: float) -> None:
    if "window shown" not in runs[0]:  # the code before this change prints no times: its exit only
        ex = [r.get("exit", float("nan")) for r in runs]
        print(f"  {name:44s} exit (screenshot saved) {pct(ex, 50):6.0f} ms (max {max(ex):6.0f})")
        return
    shown = [r["window shown"] for r in runs]
    queue = [r.get("queue shown", float("nan")) for r in runs]
    ex = [r.get("exit", float("nan")) for r in runs]
    print(f"  {name:44s} exit {pct(ex, 50):6.0f} ms  window {pct(shown, 50):6.0f} ms (max {max(shown):6.0f})"
          + (f"  queue {pct(queue, 50):6.0f} ms (max {max(queue):6.0f})" if "queue shown" in runs[0] else "")
          + f"  = {pct(queue if 'queue shown' in runs[0] else shown, 50) / base:4.1f}× the bare window")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--before", metavar="DIR", help="also run the demo rows with the shopdesk package found in DIR "
                    "(e.g. `git archive main | tar -x -C DIR`): the code before, in the same run")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-start-"))
    py = sys.executable
    try:
        e = env(tmp)
        print(f"start-up, {args.rounds} rounds each (offscreen; load average {os.getloadavg()[0]:.1f} on "
              f"{os.cpu_count()} CPUs)")
        bare = [_bare(py, e) for _ in range(args.rounds)]
        base = pct([r["window shown"] for r in bare], 50)
        row("bare PySide6 window + QTableView", bare, base)
        def demo(folder: str) -> dict:
            return timed([SHOPDESK, "--demo", "--screenshot", str(tmp / "shot.png"), "--data-dir", str(tmp / folder)], e)

        row("demo, first ever (generates its files)", [demo("demo-0")], base)
        row("demo, a new demo folder (files made before)", [demo(f"demo-new-{i}") for i in range(args.rounds)], base)
        row("demo, later starts (the shop is there)", [demo("demo-0") for _ in range(args.rounds)], base)
        if args.before:
            eb = {**env(tmp / "before"), "PYTHONPATH": str(Path(args.before).resolve())}

            def before(folder: str) -> dict:
                return timed([py, "-m", "shopdesk.cli", "--demo", "--screenshot", str(tmp / "shot.png"),
                              "--data-dir", str(tmp / "before" / folder)], eb, old=True, cwd=tmp)

            row("BEFORE: demo, first start", [before("demo-0")], base)
            row("BEFORE: demo, a new demo folder", [before(f"demo-new-{i}") for i in range(args.rounds)], base)
            row("BEFORE: demo, later starts", [before("demo-0") for _ in range(args.rounds)], base)
        remote = configured_remote(tmp, e, args.rounds)
        row("configured shop server (saved login)", remote, base)
        own, before_own = configured_embedded(tmp, e, args.rounds, args.before)
        row("this computer's own shop (built-in server)", own, base)
        if before_own:
            row("BEFORE: this computer's own shop", before_own, base)
        mods = imported_before_window(e)
        print(f"  imported by the window's modules before it is shown: {', '.join(mods) or 'none of ' + ', '.join(HEAVY)}")
    finally:
        subprocess.run(["rm", "-rf", str(tmp)])


def configured_remote(tmp: Path, e: dict, rounds: int) -> list[dict]:
    """A counter set up for a shop server (shop_mode remote, its login in the keyring), 7 jobs waiting:
    the app runs until the queue is in its window, then is stopped."""
    from tests.helpers.pdfs import pdf_bytes
    from tests.helpers.server import ServerProcess, make_shop

    server = ServerProcess(tmp / "srv").start()
    try:
        shop = make_shop(server)
        for n in range(7):
            shop.upload(pdf_bytes(n + 1), name=f"doc{n}.pdf")
        os.environ.update({k: v for k, v in e.items() if k.startswith(("SHOPDESK_", "PYTHON_KEYRING", "XDG_"))})
        from shopdesk.client.credentials import Credentials
        from shopdesk.settings import AppSettings

        settings = AppSettings.load()
        settings.shop_mode, settings.server_url, settings.username = "remote", shop.url, shop.staff[0]
        settings.save()
        Credentials().save_password(shop.url, shop.staff[0], shop.staff[1])
        runs = []
        for _ in range(rounds):
            runs.append(_until_queue([SHOPDESK], e, ROOT, "the configured counter"))
        return runs
    finally:
        server.stop()


def configured_embedded(tmp: Path, e: dict, rounds: int, before: str | None) -> tuple[list[dict], list[dict]]:
    """A counter set up as this computer's own shop (shop_mode embedded, the shop made through POST /setup
    as the first-run screen does, its login in the keyring), 7 jobs waiting: runs until the queue is in the
    window, then is stopped. With `before`, the same shop with the code in that folder too, each round
    alternating."""
    import secrets

    from shopdesk.client.api import ShopClient
    from shopdesk.client.credentials import Credentials
    from shopdesk.server.config import Settings
    from shopdesk.server.embedded import EmbeddedServer
    from shopdesk.settings import AppSettings
    from shopdesk.ui.login import embedded_key
    from tests.helpers.pdfs import pdf_bytes

    folder = tmp / "own-shop"
    os.environ.update({k: v for k, v in e.items() if k.startswith(("SHOPDESK_", "PYTHON_KEYRING", "XDG_"))})
    key = secrets.token_urlsafe(24)
    os.environ["SHOPDESK_UPLOAD_RATE_PER_MIN"] = "1000"  # the 7 uploads of this set-up only
    with EmbeddedServer(Settings.from_env(data_dir=folder, setup_key=key)) as server:
        client = ShopClient(server.url)
        client.setup({"shop": {"name": "Bench Copy", "address": "", "phone": ""},
                      "owner": {"username": "owner", "password": "bench-owner-pass", "full_name": "Owner"}}, key)
        client.set_open(True)
        shop_id = client.profile()["shop_id"]
        for n in range(7):
            r = client.session.post(f"{server.url}/upload", files=[("files[]", (f"doc{n}.pdf", pdf_bytes(n + 1),
                                                                              "application/octet-stream"))],
                                    data={"shop_id": str(shop_id)}, timeout=30)
            if r.status_code >= 400:
                raise SystemExit(f"upload to the own shop failed: {r.status_code} {r.text}")
    settings = AppSettings.load()
    settings.shop_mode, settings.server_url, settings.username = "embedded", "", "owner"
    settings.save()
    Credentials().save_password(embedded_key(folder), "owner", "bench-owner-pass")
    runs: list[dict] = []
    old: list[dict] = []
    for _ in range(rounds):
        runs.append(_until_queue([SHOPDESK, "--data-dir", str(folder)], e, ROOT))
        if before:
            old.append(_until_queue([sys.executable, "-m", "shopdesk.cli", "--data-dir", str(folder)],
                                    {**e, "PYTHONPATH": str(Path(before).resolve())}, tmp))
    return runs, old


def _until_queue(cmd: list[str], e: dict, cwd: Path, what: str = "this computer's shop") -> dict:
    """Launches `cmd` and reads its start-up clock until the queue is shown: {"window shown": ms, …}."""
    launched = time.time()
    p = subprocess.Popen(cmd, cwd=cwd, text=True, env={**e, "SHOPDESK_STARTUP_CLOCK": repr(launched)},
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    got: dict = {}
    try:
        for line in p.stderr:
            m = re.match(r"startup: (window shown|queue shown)[^0-9]*(?:\(\d+ rows\) )?(\d+) ms", line)
            if m:
                got[m.group(1)] = float(m.group(2))
            if "queue shown" in got or time.time() - launched > 60:
                break
    finally:
        p.terminate()
        p.wait(15)
    if "queue shown" not in got:
        raise SystemExit(f"{what} did not show its queue: {cmd} {got}")
    return got


def _bare(py: str, e: dict) -> dict:
    launched = time.time()
    p = subprocess.run([py, "-c", BARE, repr(launched)], env=e, capture_output=True, text=True, timeout=60)
    m = re.search(r"window shown (\d+) ms", p.stderr)
    if not m:
        raise SystemExit(p.stderr)
    return {"window shown": float(m.group(1)), "exit": (time.time() - launched) * 1000}


if __name__ == "__main__":
    main()
