"""`shopdesk --self-test`: checks that this installation (a frozen bundle or a source checkout) has every
part the counter needs — a window can open, the QR decoders load and read a bundled image, the embedded
server starts and answers, a keyring and CUPS are visible — and prints one line per check.

Exit status 1 when an essential check fails (the app could not work); the keyring and the printers are
reported but not essential, because a shop may fix them later (a keyring can be installed, printers added).
No Qt import at module level: the window check imports it, so the other checks run even without Qt.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

SELFTEST_TEXT = "https://shopdesk.invalid/j/SeLf7T"  # what resources/selftest-qr.png holds


def resources_dir() -> Path:
    """The resources folder: inside the bundle when frozen (PyInstaller's _MEIPASS), else the checkout's."""
    if getattr(sys, "frozen", False):
        return Path(getattr(sys, "_MEIPASS", Path(sys.executable).parent)) / "resources"
    return Path(__file__).resolve().parent.parent / "resources"


class CheckFailed(Exception):
    """The check ran and found a problem (message says what to do)."""


def _self_command(*args: str) -> list[str]:
    """This same shopdesk (the bundle's executable when frozen) with other arguments."""
    if getattr(sys, "frozen", False):
        return [sys.executable, "--self-test", *args]
    return [sys.executable, "-m", "shopdesk.cli", "--self-test", *args]


WINDOW_MARK = "window-check-passed: "


def check_window() -> str:
    """In a child process: Qt ends the whole process (qFatal → abort) when its platform plugin cannot
    start, and that must become one FAIL line, not the end of the self-test."""
    env = dict(os.environ)
    # offscreen unless the caller chose a platform: the check must run on a machine with no display
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    try:
        proc = subprocess.run(_self_command(WINDOW_CHILD), env=env, capture_output=True, text=True, timeout=90)
    except subprocess.TimeoutExpired as exc:
        raise CheckFailed("opening a window hung for 90 s") from exc
    for line in proc.stdout.splitlines():
        if line.startswith(WINDOW_MARK) and proc.returncode == 0:
            return line[len(WINDOW_MARK):]
    said = [ln for ln in (proc.stdout + proc.stderr).splitlines() if ln.strip()]
    why = next((ln for ln in said if "could not" in ln.lower()), said[-1] if said else "no output")
    if env["QT_QPA_PLATFORM"] != "offscreen" or "platform plugin" in why:
        why += f" (QT_QPA_PLATFORM={env['QT_QPA_PLATFORM']})"
    raise CheckFailed(f"no window could be opened (exit status {proc.returncode}): {why}")


def _window_in_process() -> str:
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication, QLabel, QMainWindow

    import shopdesk.ui.mainwindow  # noqa: F401 — the real window's modules (Charts, Pdf, Multimedia) load

    app = QApplication.instance() or QApplication([sys.argv[0], "-platform", os.environ["QT_QPA_PLATFORM"]])
    win = QMainWindow()
    icon = QIcon(str(resources_dir() / "shopdesk.png"))
    win.setWindowIcon(icon)
    win.setWindowTitle("shopdesk self-test")
    win.setCentralWidget(QLabel("shopdesk self-test"))
    win.resize(320, 120)
    win.show()
    deadline = time.monotonic() + 5
    while not win.windowHandle() or not win.windowHandle().isExposed():  # shown and mapped by the platform
        app.processEvents()
        if time.monotonic() > deadline:
            break
        time.sleep(0.01)
    shot = win.grab()
    visible = win.isVisible()
    win.close()
    if not visible or shot.isNull() or shot.width() < 100:
        raise CheckFailed(f"the window did not draw (visible={visible}, {shot.width()}x{shot.height()})")
    extra = "" if not icon.isNull() else " (app icon missing from resources)"
    return f"{app.platformName()} platform, {shot.width()}x{shot.height()} drawn, Qt {_qt_version()}{extra}"


def _qt_version() -> str:
    from PySide6 import QtCore

    return QtCore.qVersion()


def check_qr() -> str:
    import cv2

    from shopdesk.scanning.decode import DecoderUnavailable, available_backends, decode_image

    path = resources_dir() / "selftest-qr.png"
    image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if image is None:
        raise CheckFailed(f"the test image {path} is missing — reinstall shopdesk")
    try:
        found = decode_image(image, backend="pyzbar")
    except DecoderUnavailable as exc:
        raise CheckFailed(f"{exc} — install the zbar library (apt install libzbar0) or reinstall shopdesk") from exc
    texts = [d.text for d in found]
    if texts != [SELFTEST_TEXT]:
        raise CheckFailed(f"pyzbar read {texts!r} from {path.name}, expected {SELFTEST_TEXT!r}")
    others = [b for b in available_backends() if b != "pyzbar"]
    from pyzbar import wrapper

    lib = getattr(wrapper.LIBZBAR, "_name", "?")
    return f"pyzbar ({lib}) read {found[0].code!r} from {path.name}; decoders: {', '.join(['pyzbar'] + others)}"


def check_server() -> str:
    import requests

    from shopdesk.server.config import Settings
    from shopdesk.server.embedded import EmbeddedServer

    with tempfile.TemporaryDirectory(prefix="shopdesk-selftest-") as folder:
        t0 = time.monotonic()
        server = EmbeddedServer(Settings.from_env(data_dir=Path(folder)))
        try:
            url = server.start(timeout=60)
            started = time.monotonic() - t0
            r = requests.get(f"{url}/healthz", timeout=10)
            body = r.json()
            if r.status_code != 200 or body.get("database") != "ok":
                raise CheckFailed(f"GET /healthz answered {r.status_code} {body}")
        finally:
            server.stop()
        if server.running:  # a server that will not stop blocks quit
            raise CheckFailed("the embedded server did not stop")
    return f"started on {url} in {started:.1f} s, /healthz ok, stopped"


def check_keyring() -> str:
    from shopdesk.client.credentials import Credentials

    creds = Credentials()
    name = creds.backend_name()
    if creds._secure:  # noqa: SLF001 — a secure store, not merely one the user named
        return name
    if creds.available:
        raise CheckFailed(f"{name} was chosen by name (PYTHON_KEYRING_BACKEND or keyringrc.cfg) but is not a "
                          "secure store: logins are kept in it as they are")
    raise CheckFailed(f"no secure keyring ({name}): logins are kept only until shopdesk closes "
                      "— install and unlock GNOME Keyring or KWallet")


def check_printers() -> str:
    try:
        import cups  # noqa: F401
    except ImportError as exc:
        raise CheckFailed(f"pycups cannot load ({exc}) — reinstall shopdesk") from exc
    from shopdesk.printing.cups import CupsBackend

    server = os.environ.get("CUPS_SERVER", "") or "local"
    printers = CupsBackend().printers()
    if not printers:
        raise CheckFailed(f"CUPS ({server}) shows no printers — add one in the CUPS settings "
                          "(http://localhost:631) or check that CUPS is running")
    return f"CUPS ({server}): " + ", ".join(p.name + (" (default)" if p.is_default else "") for p in printers)


# (name, function, essential)
CHECKS: list[tuple[str, Callable[[], str], bool]] = [
    ("window", check_window, True),
    ("qr", check_qr, True),
    ("server", check_server, True),
    ("keyring", check_keyring, False),
    ("printers", check_printers, False),
]


def run(out=None) -> int:
    out = out or sys.stdout
    from shopdesk import __version__

    frozen = "frozen bundle" if getattr(sys, "frozen", False) else "from source"
    print(f"shopdesk {__version__} self-test ({frozen}, Python {sys.version.split()[0]}, {sys.platform})",
          file=out, flush=True)
    failed = []
    for name, fn, essential in CHECKS:
        t0 = time.monotonic()
        try:
            detail, status = fn(), "ok"
        except CheckFailed as exc:
            detail, status = str(exc), "FAIL" if essential else "warn"
        except Exception as exc:  # anything else is a broken installation: say what, keep going
            if os.environ.get("SHOPDESK_SELFTEST_TRACEBACK"):
                traceback.print_exc()
            detail, status = f"{type(exc).__name__}: {exc}", "FAIL" if essential else "warn"
        if status == "FAIL":
            failed.append(name)
        print(f"{status:<4} {name:<8} {detail} [{time.monotonic() - t0:.2f} s]", file=out, flush=True)
    if failed:
        print(f"self-test FAILED: {', '.join(failed)}", file=out, flush=True)
        return 1
    print("self-test passed", file=out, flush=True)
    return 0


WINDOW_CHILD = "--window-check-child"


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if WINDOW_CHILD in argv:
        print(WINDOW_MARK + _window_in_process(), flush=True)
        return 0
    return run()


if __name__ == "__main__":
    sys.exit(main())
