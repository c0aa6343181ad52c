"""Credentials through real keyring backends, and the queue watcher against a server that goes away."""

from __future__ import annotations

import threading
import time

import pytest
from keyring.backends.fail import Keyring as FailKeyring
from keyrings.alt.file import PlaintextKeyring

from shopdesk.client.api import ShopClient
from shopdesk.client.credentials import Credentials, NoKeyringError
from shopdesk.client.watcher import QueueWatcher
from tests.helpers.pdfs import pdf_bytes
from tests.helpers.server import ServerProcess, make_shop


def _file_backend(tmp_path) -> PlaintextKeyring:
    backend = PlaintextKeyring()
    backend.file_path = str(tmp_path / "keyring.cfg")
    return backend


def test_token_and_password_round_trip_through_a_real_keyring_backend(tmp_path, shop):
    backend = _file_backend(tmp_path)
    creds = Credentials(backend, allow_insecure=True)  # the test's backend is a file; the app refuses that
    c = ShopClient(shop.url)
    token = c.login(*shop.staff)["token"]
    creds.save_token(shop.url, shop.staff[0], token)
    creds.save_password(shop.url, shop.staff[0], shop.staff[1])
    again = Credentials(_file_backend(tmp_path), allow_insecure=True)  # a new process reads it back
    assert again.token(shop.url, shop.staff[0]) == token
    assert again.password(shop.url, shop.staff[0]) == shop.staff[1]
    assert ShopClient(shop.url, token=again.token(shop.url, shop.staff[0])).shop()["shop_id"] == shop.shop_id
    again.forget(shop.url, shop.staff[0])
    assert Credentials(_file_backend(tmp_path), allow_insecure=True).token(shop.url, shop.staff[0]) is None


def test_no_keyring_is_a_clear_choice_never_a_silent_plaintext_file(tmp_path):
    for backend in (FailKeyring(), _file_backend(tmp_path)):
        creds = Credentials(backend)
        assert not creds.available
        with pytest.raises(NoKeyringError, match="Keep me logged in only until shopdesk closes"):
            creds.save_token("http://x", "u", "secret-token")
    assert not (tmp_path / "keyring.cfg").exists()
    creds = Credentials(FailKeyring())
    creds.use_session_only()
    creds.save_token("http://x", "u", "secret-token")
    assert creds.token("http://x", "u") == "secret-token"
    assert not any(tmp_path.iterdir())


def test_watcher_hands_over_changes_and_reconnects_after_the_server_comes_back(tmp_path):
    server = ServerProcess(tmp_path / "srv").start()
    try:
        shop = make_shop(server)
        c = ShopClient(shop.url, read_timeout=5)
        c.login(*shop.staff)
        changes, states = [], []
        got = threading.Event()

        def on_change(ch):
            changes.append(ch)
            got.set()

        w = QueueWatcher(c, on_change, lambda ok, text: states.append((ok, text)), wait=5)
        w.start()
        assert got.wait(10)  # the first, empty queue
        got.clear()
        up = shop.upload(pdf_bytes(1))
        assert got.wait(5)
        assert [j["code"] for j in changes[-1].added] == [up["files"][0]["code"]]
        server.kill()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not any(not ok for ok, _ in states):
            time.sleep(0.05)
        assert any(not ok and "Cannot reach" in text for ok, text in states)
        server.start()
        got.clear()
        shop.post(f"/queue/{up['files'][0]['file_id']}/print-started")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if changes[-1].changed and changes[-1].changed[0]["status"] == "printing":
                break
            got.wait(1)
            got.clear()
        assert changes[-1].changed[0]["status"] == "printing"
        assert states[-1][0] is True
        w.stop()
    finally:
        server.stop()
