"""Starting the counter app: log in (token from the keyring) or, with no server configured, start the
embedded server with its demo shop; then the main window. `--screenshot PATH` saves the window once the
queue has loaded and exits (for docs and checks)."""

from __future__ import annotations

import logging
import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QMessageBox

from ..client.api import ShopClient
from ..client.credentials import Credentials, NoKeyringError
from ..client.errors import ApiError
from ..printing.backends import default_printer_set
from ..settings import AppSettings, data_dir

log = logging.getLogger("shopdesk.ui.app")


def _run_blocking(fn, *args):
    """Runs fn off the main thread while the UI keeps drawing; returns its result or raises its error."""
    from .tasks import TaskRunner

    loop = QEventLoop()
    box: dict = {}
    runner = TaskRunner()
    runner.run(fn, *args, on_done=lambda v: (box.setdefault("v", v), loop.quit()),
               on_error=lambda e: (box.setdefault("e", e), loop.quit()))
    loop.exec()
    if "e" in box:
        raise box["e"]
    return box["v"]


def start_embedded(args, settings: AppSettings):
    """The embedded API with the demo shop; returns (server, client, profile)."""
    import asyncio

    from ..server.config import Settings as ServerSettings
    from ..server.demo import DEMO_USERS, seed
    from ..server.embedded import EmbeddedServer

    folder = Path(args.data_dir) if args.data_dir else (
        Path(tempfile.mkdtemp(prefix="shopdesk-demo-")) if args.screenshot else data_dir() / "server")
    server_settings = ServerSettings.from_env(data_dir=folder)
    asyncio.run(seed(server_settings))
    server = EmbeddedServer(server_settings)
    url = server.start()
    client = ShopClient(url)
    username, password, _role = DEMO_USERS[0]  # the demo shop's owner: every screen is available
    profile = client.login(username, password)
    log.info("embedded server at %s (data in %s)", url, folder)
    return server, client, profile


def log_in(settings: AppSettings, creds: Credentials) -> tuple[ShopClient, dict] | None:
    """Token from the keyring, else the login dialog. None when the user gives up."""
    from .dialogs import LoginDialog

    url = settings.server_url
    if settings.username and creds.available:
        token = creds.token(url, settings.username)
        if token:
            client = ShopClient(url, token=token)
            try:
                profile = _run_blocking(client.profile)
                return client, profile
            except ApiError as exc:
                log.info("saved login not usable: %s", exc)
    message = ""
    while True:
        dlg = LoginDialog(url, settings.username, message)
        if not dlg.exec():
            return None
        url = dlg.server.text().strip().rstrip("/")
        client = ShopClient(url)
        try:
            profile = _run_blocking(client.login, dlg.username.text().strip(), dlg.password.text())
        except ApiError as exc:
            message = str(exc)
            continue
        if profile["role"] not in ("staff", "owner"):
            message = "This account is not a shop account (staff or owner)."
            continue
        settings.server_url, settings.username = url, profile["username"]
        settings.save()
        try:
            creds.save_token(url, profile["username"], client.token)
            if dlg.remember.isChecked():
                creds.save_password(url, profile["username"], dlg.password.text())
        except NoKeyringError as exc:
            choice = QMessageBox.question(
                None, "No keyring", f"{exc}\n\nKeep you logged in only until shopdesk closes?",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
            if choice == QMessageBox.StandardButton.Yes:
                creds.use_session_only()
                creds.save_token(url, profile["username"], client.token)
        return client, profile


def run(args) -> int:
    import os

    os.environ.setdefault("QT_LOGGING_RULES", "qt.multimedia*=false")  # audio back-end chatter, not ours
    headless = (sys.platform.startswith("linux") and not os.environ.get("DISPLAY")
                and not os.environ.get("WAYLAND_DISPLAY") and not os.environ.get("QT_QPA_PLATFORM"))
    if headless:  # a server or a fresh machine: run everything, just without a visible window
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("shopdesk")
    app.setOrganizationName("shopdesk")
    app.setWindowIcon(QIcon.fromTheme("printer"))
    settings = AppSettings.load()
    embedded = None
    if args.demo or args.screenshot or not settings.server_url:
        try:
            embedded, client, profile = start_embedded(args, settings)
        except Exception as exc:
            log.exception("embedded server failed")
            QMessageBox.critical(None, "shopdesk", f"The built-in server could not start: {exc}")
            return 1
        app_data = data_dir() / "demo-counter" if not args.screenshot else Path(tempfile.mkdtemp(prefix="shopdesk-app-"))
    else:
        result = log_in(settings, Credentials())
        if result is None:
            return 0
        client, profile = result
        app_data = data_dir() / "counter"
    from .mainwindow import MainWindow
    from .service import CounterService

    hot = Path(settings.hot_folder) if settings.hot_folder else app_data / "hotfolder"
    service = CounterService(client, profile, settings, default_printer_set(hot), app_data)
    window = MainWindow(service)
    service.window = window
    window.show()
    service.start()
    if headless and not args.screenshot:
        print(f"shopdesk: no display found, so the window runs offscreen (start it under a desktop or "
              f"xvfb-run to see it). Server: {client.base_url} (API docs: {client.base_url}/docs). "
              "Ctrl+C stops.", flush=True)
    import signal

    signal.signal(signal.SIGINT, lambda *_: app.quit())
    signal.signal(signal.SIGTERM, lambda *_: app.quit())
    wake = QTimer(interval=300)  # lets Python notice Ctrl+C while Qt's loop runs
    wake.timeout.connect(lambda: None)
    wake.start()
    code = 0
    if args.screenshot:
        code = _screenshot_when_loaded(app, window, Path(args.screenshot))
    else:
        code = app.exec()
    service.shutdown()
    if embedded is not None:
        embedded.stop()
    return code


def _screenshot_when_loaded(app, window, path: Path, timeout_ms: int = 30_000) -> int:
    result = {"code": 1}
    waited = {"ms": 0}

    def check():
        waited["ms"] += 100
        if window.loaded and window.model.rowCount() and window.printer_label.text():
            QTimer.singleShot(400, shoot)  # let the preview and status bar settle
            return
        if waited["ms"] > timeout_ms:
            print("error: the queue did not load in time", file=sys.stderr)
            app.quit()
            return
        QTimer.singleShot(100, check)

    def shoot():
        path.parent.mkdir(parents=True, exist_ok=True)
        ok = window.grab().save(str(path), "PNG")
        result["code"] = 0 if ok else 1
        print(f"saved {path}" if ok else f"error: could not write {path}")
        app.quit()

    window.resize(1366, 768)  # the smallest counter screen we support
    table = window.table
    QTimer.singleShot(100, check)
    table.setFocus()
    app.exec()
    return result["code"]
