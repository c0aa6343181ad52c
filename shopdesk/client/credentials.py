"""Credentials in the OS keyring (service "shopdesk"): the login token, and the password only when the
user asks. Without a usable keyring backend the user gets a clear message and an explicit choice —
never a silent plaintext file."""

from __future__ import annotations

import logging

import keyring
import keyring.backend
from keyring.errors import KeyringError, PasswordDeleteError

log = logging.getLogger("shopdesk.client.credentials")
SERVICE = "shopdesk"


class NoKeyringError(Exception):
    """No secure keyring is available on this machine."""

    def __init__(self, backend_name: str):
        super().__init__(
            "This computer has no secure password store (keyring) for shopdesk to keep your login in "
            f"(found: {backend_name}). Either install and unlock one (e.g. GNOME Keyring or KWallet, "
            "then restart shopdesk), or choose 'Keep me logged in only until shopdesk closes'.")


def _insecure(backend: keyring.backend.KeyringBackend) -> bool:
    name = type(backend).__module__ + "." + type(backend).__name__
    return (backend.priority <= 0 or "fail" in name.lower() or "null" in name.lower()
            or "Plaintext" in name)


class Credentials:
    """`backend=None` uses the system keyring; tests hand in a real file-based backend."""

    def __init__(self, backend: keyring.backend.KeyringBackend | None = None, *, allow_insecure: bool = False):
        self.backend = backend or keyring.get_keyring()
        self.allow_insecure = allow_insecure
        self._session: dict[str, str] = {}  # "only until shopdesk closes"
        self.session_only = False

    @property
    def available(self) -> bool:
        return self.allow_insecure or not _insecure(self.backend)

    def backend_name(self) -> str:
        return type(self.backend).__name__

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
