"""Starting the counter app: which shop (the first-run screen, this computer's own shop on the built-in
server, a shop server, or the demo), logging in (the keyring's saved login, else the login dialog),
then the main window — and back to the first-run screen on `Shop → Switch shop…`.
`--screenshot PATH` saves the window once the queue has loaded and exits (for docs and checks)."""

from __future__ import annotations

import logging
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QMessageBox

from ..client.api import ShopClient
from ..client.credentials import Credentials
from ..logs import startup_mark
from ..printing.printers import default_printer_set
from ..settings import AppSettings, data_dir, demo_dir, shop_dir
from .login import embedded_key, log_in, run_blocking

log = logging.getLogger("shopdesk.ui.app")
SWITCH_SHOP = 64  # the window's exit code for "back to the first-run screen"


@dataclass
class Session:
    """A logged-in counter: its client and profile, where its local data lives, and the built-in server
    when the shop (or the demo) runs on this computer."""

    client: ShopClient
    profile: dict
    app_data: Path
    embedded: object | None = None
    demo: bool = False

    def close(self) -> None:
        if self.embedded is not None:
            self.embedded.stop()
            self.embedded = None


def start_shop_server(folder: Path, customer_port: int | None = None):
    """This computer's shop on the built-in server (started, migrated). Its setup key lets the first-run
    screen create the shop; it lives only in this process and the server's. With `customer_port`, it also
    listens there on the LAN for customers' phones (Shop → Customer uploads…)."""
    from ..server.embedded import EmbeddedServer

    server = EmbeddedServer.for_shop(folder, customer_port)
    server.start()
    log.info("embedded server at %s (data in %s)", server.url, folder)
    return server


def start_demo(folder: Path, early=None):
    """The demo shop on the built-in server — seeded the first time, reused after. Returns (server, client,
    profile), logged in as the demo owner (every screen is available). `early`: the server shopdesk/app.py
    started before the window's modules were imported (for this folder)."""
    from ..server.demo import DEMO_USERS

    if early is not None:
        server = early.wait()
        url = server.url
    else:
        from ..server.embedded import DEMO_START_SECONDS, EmbeddedServer

        # seeded in the server's own process: the app's never imports the database layer
        server = EmbeddedServer.for_demo(folder)
        url = server.start(timeout=DEMO_START_SECONDS)
    client = ShopClient(url)
    username, password, _role = DEMO_USERS[0]
    profile = client.login(username, password)
    log.info("embedded server at %s (demo data in %s)", url, folder)
    return server, client, profile


def take_early_server(args, kind: str):
    """The server shopdesk/app.py started early for this start, if it is of `kind` ("demo", "shop"); used
    once (not after Switch shop…)."""
    early = getattr(args, "early_server", None)
    if early is None or early.kind != kind:
        return None
    args.early_server = None
    return early


def open_demo(args) -> Session:
    folder = demo_dir(args)
    early = take_early_server(args, "demo")
    # the window's modules load while the server's process starts: not after it answers
    from . import mainwindow, service  # noqa: F401
    server, client, profile = run_blocking(start_demo, folder, early)
    startup_mark("logged in")
    app_data = Path(tempfile.mkdtemp(prefix="shopdesk-app-")) if args.screenshot else data_dir() / "demo-counter"
    return Session(client, profile, app_data, embedded=server, demo=True)


def _failed_to_start(exc: BaseException) -> None:
    log.exception("the built-in server failed to start", exc_info=exc)
    QMessageBox.critical(None, "shopdesk", f"This computer's shop server could not start: {exc}\n\n"
                         "Help → Open log folder has the details.")


def choose_session(args, settings: AppSettings, creds: Credentials, headless: bool) -> Session | None:
    """Which shop this counter works for, logged in; None when the user gives up."""
    from .setup import SetupScreen

    if args.demo or args.screenshot or (headless and not settings.shop_mode):
        return open_demo(args)
    folder = shop_dir(args)
    customer_port = settings.customer_port if settings.customer_uploads else None
    server, page, message = None, "welcome", ""
    while True:
        if settings.shop_mode == "remote" and settings.server_url:
            got = log_in(settings.server_url, settings.username, creds, lambda url: url, show_server=True)
            if got is None:
                return None
            client, profile, url = got
            settings.server_url, settings.username = url, profile["username"]
            settings.save()
            return Session(client, profile, data_dir() / "counter")
        if settings.shop_mode == "embedded":
            try:
                early = take_early_server(args, "shop")
                if server is None and early is not None:
                    from . import mainwindow, service  # noqa: F401  (while the server's process starts)

                    server = run_blocking(early.wait)
                    log.info("embedded server at %s (data in %s)", server.url, folder)
                server = server or run_blocking(start_shop_server, folder, customer_port)
                needed = run_blocking(ShopClient(server.url).setup_status)["needed"]
            except Exception as exc:
                _failed_to_start(exc)
                if server is not None:
                    server.stop()
                return None
            if not needed:
                got = log_in(server.url, settings.username, creds, lambda _url: embedded_key(folder),
                             show_server=False, title="this computer's shop")
                if got is None:
                    server.stop()
                    return None
                client, profile, _url = got
                settings.username = profile["username"]
                settings.save()
                return Session(client, profile, data_dir() / "shop-counter", embedded=server)
            # the database is there but holds no shop: setup was interrupted before it finished
            settings.shop_mode, page = "", "shop"
            message = "Setting up this computer's shop did not finish last time. Please set it up again."
        screen = SetupScreen(start_server=lambda: start_shop_server(folder, customer_port), creds=creds, server=server,
                             has_shop=(folder / "shopdesk.db").exists() and page != "shop", page=page,
                             message=message)
        if not screen.exec():
            return None
        result = screen.result_choice
        server, page, message = result.server, "welcome", ""
        if result.kind == "demo":
            if server is not None:
                server.stop()
            return open_demo(args)
        if result.kind == "remote":
            settings.shop_mode, settings.server_url, settings.username = "remote", result.url, result.profile["username"]
            settings.save()
            return Session(result.client, result.profile, data_dir() / "counter")
        settings.shop_mode = "embedded"
        if result.kind == "embedded":
            settings.username = result.profile["username"]
            settings.save()
            return Session(result.client, result.profile, data_dir() / "shop-counter", embedded=server)
        settings.save()  # "open": log in to the shop this computer already holds


def run(args) -> int:
    import os
    import signal

    os.environ.setdefault("QT_LOGGING_RULES", "qt.multimedia*=false")  # audio back-end chatter, not ours
    headless = (sys.platform.startswith("linux") and not os.environ.get("DISPLAY")
                and not os.environ.get("WAYLAND_DISPLAY") and not os.environ.get("QT_QPA_PLATFORM"))
    if headless:  # a server or a fresh machine: run everything, just without a visible window
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("shopdesk")
    app.setOrganizationName("shopdesk")
    app.setWindowIcon(QIcon.fromTheme("printer"))
    signal.signal(signal.SIGINT, lambda *_: app.quit())
    signal.signal(signal.SIGTERM, lambda *_: app.quit())
    wake = QTimer(interval=300)  # lets Python notice Ctrl+C while Qt's loop runs
    wake.timeout.connect(lambda: None)
    wake.start()
    settings = AppSettings.load()
    creds = Credentials()
    while True:
        try:
            session = choose_session(args, settings, creds, headless)
        except Exception as exc:
            _failed_to_start(exc)
            return 1
        if session is None:
            return 0
        try:
            code = run_window(app, args, settings, session, headless)
        finally:
            session.close()
        if code != SWITCH_SHOP:
            return code
        settings.shop_mode = ""  # back to the first-run screen
        settings.save()
        args.demo = False


def run_window(app, args, settings: AppSettings, session: Session, headless: bool) -> int:
    from .mainwindow import MainWindow
    from .service import CounterService

    # A hot-folder printer only when one is configured (the demo has one, so it prints without CUPS)
    hot = Path(settings.hot_folder) if settings.hot_folder else (session.app_data / "hotfolder" if session.demo else None)
    printers = default_printer_set(hot, settings.hot_folder_takes)
    service = CounterService(session.client, session.profile, settings, printers, session.app_data)
    service.embedded = session.embedded
    window = MainWindow(service, demo=session.demo)
    service.window = window
    window.show()
    _report_start_times(service, window)
    service.start()
    if session.embedded is not None and getattr(session.embedded, "customer_error", ""):
        window.show_message("Customer uploads", session.embedded.customer_error, "warning")
    if headless and not args.screenshot:
        url = session.client.base_url
        print(f"shopdesk: no display found, so the window runs offscreen (start it under a desktop or "
              f"xvfb-run to see it). Server: {url} (API docs: {url}/docs). Ctrl+C stops.", flush=True)
    if args.screenshot:
        code = _screenshot_when_loaded(app, window, Path(args.screenshot))
    else:
        code = app.exec()
        if window.switch_requested:
            code = SWITCH_SHOP
    service.shutdown()
    window.close()
    window.deleteLater()
    return code


def _report_start_times(service, window) -> None:
    """With SHOPDESK_STARTUP_CLOCK=<launch time, seconds since 1970> (bench/start.py), prints to stderr
    how long after launch the window was shown and the queue was first in it."""
    import os

    if not os.environ.get("SHOPDESK_STARTUP_CLOCK"):
        return
    say = startup_mark

    QTimer.singleShot(0, lambda: say("window shown"))  # once the event loop runs: the window is up
    done = []

    def queued(_orders) -> None:  # after the window's own slot, connected first, has filled the table
        if not done:
            done.append(1)
            QTimer.singleShot(0, lambda: say(f"queue shown ({window.model.rowCount()} rows)"))

    service.queue_changed.connect(queued)


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
