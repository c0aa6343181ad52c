"""Logging the counter in: the saved login from the keyring, else the login dialog; and keeping a login
in the keyring when the user asks ("keep me logged in"). The keyring key of a remote shop is its URL;
of the shop on this computer, its data folder (the built-in server's port changes every start)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from PySide6.QtCore import QEventLoop
from PySide6.QtWidgets import QMessageBox, QWidget

from ..client.api import ShopClient
from ..client.credentials import Credentials, NoKeyringError
from ..client.errors import ApiError, OfflineError, UnauthorizedError

log = logging.getLogger("shopdesk.ui.login")
SHOP_ROLES = ("staff", "owner")
NOT_A_SHOP_ACCOUNT = "This account is not a shop account (staff or owner); log in with a counter or owner login."


def embedded_key(folder: Path) -> str:
    return f"embedded:{Path(folder).resolve()}"


def run_blocking(fn, *args):
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


def check_server_url(url: str) -> str | None:
    """Words for a URL that cannot be a shop server's, else None."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "Give the server's address with http:// or https://, e.g. http://shop-server:8080"
    if parts.path not in ("", "/") or parts.query:
        return "Give only the server's address (http://host:port), without a path."
    return None


def connect(url: str, username: str, password: str) -> tuple[ShopClient, dict]:
    """(worker thread) Reaches a shop server and logs in; ApiError in words for a wrong URL, a server that
    is not shopdesk, an unreachable one, a wrong password or an account that is not a shop's."""
    client = ShopClient(url)
    patient, client.retries = client.retries, 1  # a wrong address is said at once, not after a minute of retries
    try:
        health = client.healthz()
    except OfflineError:
        raise
    except ApiError as exc:
        raise ApiError(f"{url} answers, but not as a shopdesk server ({exc}). Check the address.") from exc
    except ValueError as exc:  # an answer that is not JSON: some other web server
        raise ApiError(f"{url} answers, but it is not a shopdesk server. Check the address and port.") from exc
    if not isinstance(health, dict) or health.get("status") != "ok":
        raise ApiError(f"{url} answers, but it is not a shopdesk server. Check the address and port.")
    client.login(username, password)
    profile = client.profile()
    if profile.get("role") not in SHOP_ROLES:
        raise ApiError(NOT_A_SHOP_ACCOUNT)
    client.retries = patient
    return client, profile


def remember(parent: QWidget | None, creds: Credentials, key: str, username: str, token: str,
             password: str | None = None) -> None:
    """Keeps the token (and the password, when given) in the keyring. Without a keyring, asks whether to
    keep the login only until shopdesk closes — never a plain file."""
    try:
        creds.save_token(key, username, token)
        if password:
            creds.save_password(key, username, password)
    except NoKeyringError as exc:
        choice = QMessageBox.question(parent, "No keyring", f"{exc}\n\nKeep you logged in only until shopdesk closes?",
                                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
        if choice == QMessageBox.StandardButton.Yes:
            creds.use_session_only()
            creds.save_token(key, username, token)


def saved_login(client: ShopClient, creds: Credentials, key: str, username: str) -> dict | None:
    """(worker thread) The profile with the keyring's token — or, when that expired, with the kept
    password — else None."""
    if not (username and creds.available):
        return None
    token = creds.token(key, username)
    if token:
        client.token = token
        try:
            return client.profile()
        except UnauthorizedError:
            client.token = None
        except ApiError as exc:
            log.info("saved login not usable: %s", exc)
            return None
    password = creds.password(key, username)
    if not password:
        return None
    try:
        client.login(username, password)
        profile = client.profile()
    except ApiError as exc:
        log.info("kept password not usable: %s", exc)
        return None
    creds.save_token(key, username, client.token)
    return profile


def log_in(url: str, username: str, creds: Credentials, key_for: Callable[[str], str], *, show_server: bool,
           title: str = "") -> tuple[ShopClient, dict, str] | None:
    """The saved login, else the login dialog until it works. Returns (client, profile, url) or None when
    the user gives up. `key_for(url)` is the keyring key."""
    from .dialogs import LoginDialog

    message = ""
    if url and username:
        client = ShopClient(url)
        try:
            profile = run_blocking(saved_login, client, creds, key_for(url), username)
        except ApiError as exc:
            profile, message = None, str(exc)
        if profile is not None and profile.get("role") in SHOP_ROLES:
            return client, profile, url
    while True:
        dlg = LoginDialog(url, username, message, show_server=show_server, title=title)
        if not dlg.exec():
            return None
        if show_server:
            url = dlg.server.text().strip().rstrip("/")
            bad = check_server_url(url)
            if bad:
                message = bad
                continue
        username = dlg.username.text().strip()
        try:
            client, profile = run_blocking(connect, url, username, dlg.password.text())
        except ApiError as exc:
            message = str(exc)
            continue
        if dlg.remember.isChecked():
            remember(None, creds, key_for(url), profile["username"], client.token, dlg.password.text())
        return client, profile, url
