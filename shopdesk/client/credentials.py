"""Credentials in the OS keyring (service "shopdesk"): the login token, and the password only when the
user asks. Without a usable keyring backend the user gets a clear message and an explicit choice —
never a silent plaintext file."""

from __future__ import annotations

import logging
import os

import keyring
import keyring.backend
import keyring.core
from keyring.backends.chainer import ChainerBackend
from keyring.errors import KeyringError, PasswordDeleteError

log = logging.getLogger("shopdesk.client.credentials")
SERVICE = "shopdesk"


class NoKeyringError(Exception):
    """No secure keyring is available on this machine. The UI offers `choices` to the user."""

    INSTALL = "install"          # install/unlock a keyring service, then restart shopdesk
    SESSION_ONLY = "session"     # keep the token in memory until shopdesk closes (Credentials.use_session_only)
    choices = (INSTALL, SESSION_ONLY)

    def __init__(self, backend_name: str):
        self.backend_name = backend_name
        super().__init__(
            "This computer has no secure password store (keyring) for shopdesk to keep your login in "
            f"(found: {backend_name}). Either install and unlock one (e.g. GNOME Keyring or KWallet, "
            "then restart shopdesk), or choose 'Keep me logged in only until shopdesk closes'.")


def _name(backend: keyring.backend.KeyringBackend) -> str:
    return f"{type(backend).__module__}.{type(backend).__name__}"


def _insecure(backend: keyring.backend.KeyringBackend) -> bool:
    """fail/null keep nothing; keyrings.alt's file backends are a plain file (PlaintextKeyring) or ask
    for a master password on a terminal the app does not have (EncryptedKeyring)."""
    name = _name(backend)
    return (backend.priority <= 0 or name.startswith(("keyring.backends.fail.", "keyring.backends.null.",
                                                     "keyrings.alt.file."))
            or "plaintext" in name.lower())


def _secure_member(backend: keyring.backend.KeyringBackend) -> keyring.backend.KeyringBackend | None:
    """The backend that would really hold a secret, or None. A chainer writes to the first member that
    accepts, so it is used only through its best secure member — never falling through to a file."""
    if isinstance(backend, ChainerBackend):
        return next((b for b in backend.backends if not _insecure(b)), None)
    return None if _insecure(backend) else backend


def _named_by_user(backend: keyring.backend.KeyringBackend) -> bool:
    """The user chose this backend by name (PYTHON_KEYRING_BACKEND or keyringrc.cfg): not silent."""
    wanted = os.environ.get("PYTHON_KEYRING_BACKEND", "")
    if not wanted:
        try:
            configured = keyring.core.load_config()
        except Exception:  # a broken keyringrc.cfg is not a choice
            configured = None
        wanted = _name(configured) if configured is not None else ""
    return bool(wanted) and wanted == _name(backend)


class Credentials:
    """`backend=None` uses the system keyring (keyring.get_keyring()); tests configure a real file-based
    one. A backend that is no secure store is used only when the user named it (PYTHON_KEYRING_BACKEND,
    keyringrc.cfg) or the caller passes `allow_insecure=True`; otherwise writes raise NoKeyringError."""

    def __init__(self, backend: keyring.backend.KeyringBackend | None = None, *, allow_insecure: bool = False):
        found = backend or keyring.get_keyring()
        secure = _secure_member(found)
        self.backend = secure or found
        self.allow_insecure = allow_insecure or (secure is None and _named_by_user(found))
        self._secure = secure is not None
        self._session: dict[str, str] = {}  # "only until shopdesk closes"
        self.session_only = False

    @property
    def available(self) -> bool:
        return self._secure or self.allow_insecure

    def backend_name(self) -> str:
        return _name(self.backend)

    def use_session_only(self) -> None:
        """The user's explicit choice on a machine without a keyring: nothing is written anywhere."""
        self.session_only = True

    @staticmethod
    def _key(kind: str, server_url: str, username: str) -> str:
        return f"{kind}:{username}@{server_url.rstrip('/')}"

    def _set(self, key: str, value: str) -> None:
        if self.session_only:
            self._session[key] = value
            return
        if not self.available:
            raise NoKeyringError(self.backend_name())
        try:
            self.backend.set_password(SERVICE, key, value)
        except KeyringError as exc:
            raise NoKeyringError(f"{self.backend_name()}: {exc}") from exc

    def _get(self, key: str) -> str | None:
        if self.session_only:
            return self._session.get(key)
        if not self.available:
            return None
        try:
            return self.backend.get_password(SERVICE, key)
        except KeyringError as exc:
            log.warning("keyring read failed: %s", exc)
            return None

    def _delete(self, key: str) -> None:
        self._session.pop(key, None)
        if self.session_only or not self.available:
            return
        try:
            self.backend.delete_password(SERVICE, key)
        except (PasswordDeleteError, KeyringError):
            pass

    def save_token(self, server_url: str, username: str, token: str) -> None:
        self._set(self._key("token", server_url, username), token)

    def token(self, server_url: str, username: str) -> str | None:
        return self._get(self._key("token", server_url, username))

    def save_password(self, server_url: str, username: str, password: str) -> None:
        self._set(self._key("password", server_url, username), password)

    def password(self, server_url: str, username: str) -> str | None:
        return self._get(self._key("password", server_url, username))

    def forget(self, server_url: str, username: str, *, password_too: bool = True) -> None:
        self._delete(self._key("token", server_url, username))
        if password_too:
            self._delete(self._key("password", server_url, username))
